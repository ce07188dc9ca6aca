"""DABench: crawl Civitai, filter, reconstruct descriptions, split 8:1:1.

Stages, each a plain function (Prefect tasks in tasks/dabench.py wrap them):
`crawl.crawl` -> raw layer; `derive.derive` -> pairs, catalog candidates, rejects;
`describe.describe_catalog` -> descriptions; `split.split_pairs` -> sft / rrhf / eval.
"""
