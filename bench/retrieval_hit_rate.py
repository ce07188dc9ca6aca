"""How often the retrieval-only selector's top-k holds the model that actually made the image,
next to the k most-downloaded models and the k most frequent training models (the baselines a
selector has to beat), on a DABench split.

    python bench/retrieval_hit_rate.py --data runs/dabench [--split eval] [--k 5]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from diffagent.agent import load_agent, load_catalog
from schemas.t2i import Instruction


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="DABench folder")
    parser.add_argument("--split", default="eval")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()

    catalog = pd.read_parquet(f"{args.data}/catalog.parquet")
    pairs = pd.read_parquet(f"{args.data}/splits/{args.split}.parquet")
    train = pd.read_parquet(f"{args.data}/splits/sft.parquet")
    agent = load_agent(None, catalog=load_catalog(args.data))
    instructions = [
        Instruction(prompt=p, negative_prompt=n)
        for p, n in zip(pairs.prompt, pairs.negative_prompt, strict=True)
    ]
    started = time.perf_counter()
    answers = agent.select(instructions, top_k=args.k, selector="retrieval")
    seconds = time.perf_counter() - started
    hits = sum(
        any(s.api is not None and s.api.model == truth for s in row)
        for row, truth in zip(answers, pairs.model, strict=True)
    )
    most_downloaded = set(catalog.sort_values("download_count", ascending=False).model.head(args.k))
    most_trained = set(train.model.value_counts().head(args.k).index)
    print(
        f"{len(pairs)} {args.split} pairs: retrieval top-{args.k} holds the true model for "
        f"{hits / len(pairs):.1%}; "
        f"the {args.k} most-downloaded models {pairs.model.isin(most_downloaded).mean():.1%}; "
        f"the {args.k} most frequent training models {pairs.model.isin(most_trained).mean():.1%} "
        f"({seconds / len(pairs) * 1000:.1f} ms per prompt)"
    )


if __name__ == "__main__":
    main()
