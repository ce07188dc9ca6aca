"""Selection latency side by side, same tiny LM on CPU (issue 3's benchmark).

  retrieval    embedding shortlist, no LLM; also at 100,000 catalog entries
  llm          constrained decoding over the catalog, fast-forward (forced tokens cost no decision
               and each forced run is one forward pass)
  llm-stepwise the same answers through `generate` + `prefix_allowed_tokens_fn`, one pass per token
  hybrid       constrained fast-forward decoding over the retrieval shortlist
  paper        unconstrained JSON that also generates the model description (the paper's answer)

Per answer: tokens (answer length, EOS included), model decisions (tokens the model chose by argmax)
and forward passes, each as a ratio to the paper's way. The tiny LM has random weights, so its
unconstrained text is noise; the paper's way is therefore timed by really generating, with the same
tokenizer and model, exactly as many tokens as the paper-format answer (our answer plus its
`model_description`) has for that prompt (`min_new_tokens = max_new_tokens`): every one of them is a
forward pass and an argmax, and decoding cost depends on length, not content.
The 100,000-entry matrix is random unit vectors for the same reason; query embeddings are real
MiniLM ones, timed cold (prompts never seen) and, separately, from the query cache.

    python bench/bench_select.py [--catalog-size 200] [--prompts 20] [--big 100000] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from diffagent.agent import Selection, format_answer, load_agent
from diffagent.agent.generate import encode_prompt
from diffagent.agent.sft import SFTParams, train_sft
from diffagent.retriever.embedder import Embedder, RetrievalIndex
from diffagent.tiny.llm import write_tiny_llm
from schemas.dabench import CATALOG_SCHEMA, INSTRUCTION_SCHEMA

WORDS = [
    "anime",
    "portrait",
    "landscape",
    "photo",
    "realistic",
    "pixel",
    "watercolor",
    "cyberpunk",
    "fantasy",
    "castle",
    "dragon",
    "neon",
    "oil",
    "painting",
    "cinematic",
    "forest",
    "ocean",
    "city",
    "girl",
    "knight",
    "robot",
    "flowers",
    "sketch",
    "clay",
    "vintage",
]


def synthetic_dabench(folder: Path, size: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    entries, rows = [], []
    for i in range(size):
        kind = "Checkpoint" if i % 3 == 0 else "LORA"
        base = "SD 1.5" if i % 2 == 0 else "SDXL 1.0"
        theme = " ".join(rng.sample(WORDS, 4))
        entries.append(
            {
                "model": f"{theme.title()} {i}",
                "model_id": i,
                "version_id": 10_000 + i,
                "type": kind,
                "base_model": base,
                # Civitai descriptions after reconstruction run to a few hundred characters.
                "model_description": f"A {kind} for {theme}. " + " ".join(rng.choices(WORDS, k=60)),
                "description_source": "fallback",
                "trained_words": [],
                "tags": theme.split()[:2],
                "model_name": theme,
                "version_name": "v1",
                "download_count": size - i,
                "thumbs_up_count": 1,
                "rating": 5.0,
                "rating_count": 1,
                "file_name": "f",
                "sha256": "0" * 64,
                "download_url": "u",
                "sample_count": 2,
                "published_at": None,
            }
        )
        for j in range(2):
            rows.append(
                {
                    "image_id": len(rows),
                    "prompt": f"{theme}, masterpiece {j}",
                    "negative_prompt": "blurry",
                    "model": entries[-1]["model"],
                    "type": kind,
                    "base_model": base,
                    "base_checkpoint": None,
                    "width": 512,
                    "height": 768,
                    "sampling_method": "Euler a",
                    "sampling_steps": 25,
                    "cfg_scale": 7.0,
                    "model_id": i,
                    "version_id": 10_000 + i,
                    "base_checkpoint_version_id": None,
                    "seed": 1,
                }
            )
    checkpoints = {e["base_model"]: e["model"] for e in entries if e["type"] == "Checkpoint"}
    for row in rows:
        if row["type"] == "LORA":
            row["base_checkpoint"] = checkpoints[row["base_model"]]
    (folder / "splits").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(entries, schema=CATALOG_SCHEMA), folder / "catalog.parquet")
    table = pa.Table.from_pylist(rows, schema=INSTRUCTION_SCHEMA)
    pq.write_table(table, folder / "instructions.parquet")
    pq.write_table(table, folder / "splits" / "sft.parquet")
    return folder


def timed(fn, items: list) -> tuple[list[float], list]:
    latencies, outputs = [], []
    for item in items:
        start = time.perf_counter()
        outputs.append(fn(item))
        latencies.append(time.perf_counter() - start)
    return latencies, outputs


def p50_ms(latencies: list[float]) -> float:
    return 1000 * statistics.median(latencies)


def summary(name: str, latencies: list[float], outputs: list, batch_s: float, batch_n: int) -> dict:
    """Latency percentiles, batched throughput and mean per-answer counts of `outputs` (Selections)."""
    ordered = sorted(latencies)

    def mean(attr: str) -> float:
        return statistics.mean(getattr(o, attr) for o in outputs) if outputs else 0.0

    return {
        "method": name,
        "p50_ms": p50_ms(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "throughput_per_s": batch_n / batch_s,
        "tokens": mean("tokens_generated"),
        "decisions": mean("model_decisions"),
        "passes": mean("forward_passes"),
    }


def selector_rows(agent, prompts: list[str]) -> list[dict]:
    rows = []
    modes = [("retrieval", "retrieval", True), ("llm", "llm", True), ("llm-stepwise", "llm", False)]
    for name, selector, fast in [*modes, ("hybrid", "hybrid", True)]:
        if agent.backend is not None:
            agent.backend.fast_forward = fast
        agent.retriever.embedder.clear_cache()  # every method embeds its queries cold
        latencies, outputs = timed(lambda p, s=selector: agent.select([p], selector=s)[0][0], prompts)
        agent.retriever.embedder.clear_cache()
        start = time.perf_counter()
        agent.select(prompts, selector=selector)
        rows.append(summary(name, latencies, outputs, time.perf_counter() - start, len(prompts)))
    agent.backend.fast_forward = True
    return rows


def paper_row(agent, prompts: list[str]) -> dict:
    """The paper's way: the same answers with the description generated inside the JSON."""
    backend = agent.backend
    reference = [agent.select([p])[0][0].api for p in prompts]
    texts = [
        format_answer(api)[:-1] + ', "model_description": ' + json.dumps(api.model_description) + "}"
        for api in reference
    ]
    lengths = [len(backend.tokenizer.encode(t, add_special_tokens=False)) + 1 for t in texts]  # + EOS
    encoded = [encode_prompt(backend.tokenizer, p) for p in prompts]
    latencies, outputs = [], []
    for ids, n in zip(encoded, lengths, strict=True):
        start = time.perf_counter()
        ((_, generated),) = backend.unconstrained([ids], max_new_tokens=n, min_new_tokens=n)
        latencies.append(time.perf_counter() - start)
        if generated != n:
            raise RuntimeError(f"the paper's way generated {generated} tokens, expected {n}")
        # Plain generation: each token is one forward pass and one argmax over the vocabulary.
        outputs.append(
            Selection(api=None, selector="paper", tokens_generated=n, model_decisions=n, forward_passes=n)
        )
    start = time.perf_counter()
    backend.unconstrained(encoded, max_new_tokens=max(lengths), min_new_tokens=max(lengths))
    return summary("paper", latencies, outputs, time.perf_counter() - start, len(prompts))


def big_retrieval_row(agent, prompts: list[str], size: int) -> dict:
    """Retrieval-only at `size` entries: cold queries (never-seen prompts), split into embedding and
    search, then cached queries; baselines in the same run: a float32 embedder, a float32 scan."""
    embedder = agent.retriever.embedder
    dim = agent.retriever.dense.shape[1]
    matrix = np.random.default_rng(0).standard_normal((size, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    big = RetrievalIndex([f"m{i}" for i in range(size)], matrix, embedder)
    warm = [f"warm-up {i}, {p}" for i, p in enumerate(prompts[:3])]
    big.shortlist(warm, 5)
    cold = [f"{p}, variant {i}" for i, p in enumerate(prompts)]  # never embedded before
    latencies, outputs = timed(lambda p: big.shortlist([p], 5), cold)
    start = time.perf_counter()
    big.shortlist([f"{p}, batch" for p in prompts], 5)
    row = summary(f"retrieval@{size}", latencies, [], time.perf_counter() - start, len(prompts))
    embed_only, vectors = timed(lambda p: embedder.query([p]), [f"{p}, embed" for p in prompts])
    search_only, _ = timed(lambda q: big.scores(q, 5), vectors)
    cached, _ = timed(lambda p: big.shortlist([p], 5), cold)
    fp32 = Embedder(embedder.name, precision="fp32")
    fp32.query(warm)
    fp32_embed, _ = timed(lambda p: fp32.query([p]), [f"{p}, fp32" for p in prompts])

    def exact_fp32(q):  # the previous search: float32 scan of the whole matrix + argpartition
        sims = q @ matrix.T
        return np.argpartition(-sims[0], 4)[:5]

    fp32_search, _ = timed(exact_fp32, vectors)
    row.update(
        embed_p50_ms=p50_ms(embed_only),
        search_p50_ms=p50_ms(search_only),
        cached_p50_ms=p50_ms(cached),
        embed_fp32_p50_ms=p50_ms(fp32_embed),
        search_fp32_p50_ms=p50_ms(fp32_search),
        precision=embedder.precision,
        query_threads=embedder.query_threads,
    )
    return row


def print_table(results: list[dict], paper: dict) -> None:
    def ratio(key: str, r: dict) -> str:
        return f"{paper[key] / r[key]:.1f}x" if r[key] else "-"

    head = f"{'method':<18}{'p50 ms':>9}{'p95 ms':>9}{'ans/s':>8}{'tokens':>8}{'decis.':>8}{'passes':>8}"
    print(head + f"{'tokens/':>9}{'decis./':>9}{'passes/':>9}{'p50/':>8}  (paper / method)")
    for r in results:
        print(
            f"{r['method']:<18}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['throughput_per_s']:>8.1f}"
            f"{r['tokens']:>8.1f}{r['decisions']:>8.1f}{r['passes']:>8.1f}"
            f"{ratio('tokens', r):>9}{ratio('decisions', r):>9}{ratio('passes', r):>9}"
            f"{paper['p50_ms'] / r['p50_ms']:>7.1f}x"
        )
    big = results[-1]
    print(
        f"{big['method']}: cold p50 {big['p50_ms']:.1f} ms = embed {big['embed_p50_ms']:.1f} "
        f"({big['precision']}, {big['query_threads']} thread) + search {big['search_p50_ms']:.1f} "
        f"(float16 scan + exact rerank); cached query p50 {big['cached_p50_ms']:.1f} ms; "
        f"baselines: fp32 embed {big['embed_fp32_p50_ms']:.1f}, fp32 search {big['search_fp32_p50_ms']:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog-size", type=int, default=200)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="bench-select-"))
    data = synthetic_dabench(work / "dabench", args.catalog_size)
    llm = write_tiny_llm(work / "llm")
    agent_dir = train_sft(data, str(llm), work / "agent", params=SFTParams(max_steps=3, batch_size=4))
    agent = load_agent(agent_dir, data)
    rng = random.Random(1)
    prompts = [", ".join(rng.sample(WORDS, 6)) for _ in range(args.prompts)]
    _ = agent.retriever  # build (and cache) the embeddings outside the timings
    agent.select(prompts[:2])  # warm-up
    results = selector_rows(agent, prompts)
    paper = paper_row(agent, prompts)
    results += [paper, big_retrieval_row(agent, prompts, args.big)]
    print_table(results, paper)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
