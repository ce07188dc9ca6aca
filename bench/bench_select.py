"""Selection latency side by side, same tiny LM on CPU (issue 3's benchmark).

  retrieval  embedding shortlist, no LLM; also at 100,000 catalog entries
  llm        constrained decoding over the catalog (identifiers and parameters only)
  hybrid     constrained decoding over the retrieval shortlist
  paper      unconstrained JSON that also generates the model description (the paper's answer)

The tiny LM has random weights, so its unconstrained text is noise; the paper's way is therefore
timed by generating exactly as many tokens as the paper-format answer for that prompt has
(`min_new_tokens = max_new_tokens = len(tokens)`): decoding cost depends on length, not content.
The 100,000-entry matrix is random unit vectors for the same reason (the query path is one real
MiniLM embedding, a float32 matmul and argpartition, whatever the vectors hold).

    python bench/bench_select.py [--catalog-size 200] [--prompts 20] [--big 100000]
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

from diffagent.agent import format_answer, load_agent
from diffagent.agent.generate import encode_prompt
from diffagent.agent.retrieval import RetrievalIndex
from diffagent.agent.sft import SFTParams, train_sft
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


def summary(name: str, latencies: list[float], tokens: float, batch_s: float, batch_n: int) -> dict:
    ordered = sorted(latencies)
    return {
        "method": name,
        "p50_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "throughput_per_s": batch_n / batch_s,
        "tokens_per_answer": tokens,
    }


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
    _ = agent.index  # build (and cache) the embeddings outside the timings
    agent.select(prompts[:2])  # warm-up

    results = []
    for name, selector in (("retrieval", "retrieval"), ("llm", "llm"), ("hybrid", "hybrid")):
        latencies, outputs = timed(lambda p, s=selector: agent.select([p], selector=s)[0][0], prompts)
        start = time.perf_counter()
        agent.select(prompts, selector=selector)
        batch_s = time.perf_counter() - start
        tokens = statistics.mean(o.tokens_generated for o in outputs)
        results.append(summary(name, latencies, tokens, batch_s, len(prompts)))

    # The paper's way: the same answers, with the description generated as part of the JSON.
    backend = agent.backend
    reference = [agent.select([p])[0][0].api for p in prompts]
    lengths = [
        len(
            backend.tokenizer.encode(
                format_answer(api)[:-1] + ', "model_description": ' + json.dumps(api.model_description) + "}"
            )
        )
        + 1
        for api in reference
    ]
    encoded = [encode_prompt(backend.tokenizer, p) for p in prompts]
    latencies = []
    for ids, n in zip(encoded, lengths, strict=True):
        start = time.perf_counter()
        backend.unconstrained([ids], max_new_tokens=n, min_new_tokens=n)
        latencies.append(time.perf_counter() - start)
    start = time.perf_counter()
    backend.unconstrained(encoded, max_new_tokens=max(lengths), min_new_tokens=max(lengths))
    results.append(
        summary("paper", latencies, statistics.mean(lengths), time.perf_counter() - start, len(prompts))
    )

    # Retrieval-only at a large catalog: real query embedding, (N, 384) float32 matrix.
    dim = agent.index.matrix.shape[1]
    matrix = np.random.default_rng(0).standard_normal((args.big, dim), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    big = RetrievalIndex([f"m{i}" for i in range(args.big)], matrix, agent.index.embedder)
    big.shortlist(prompts[:2], 5)
    latencies, _ = timed(lambda p: big.shortlist([p], 5), prompts)
    search_only, _ = timed(lambda q: big.scores(q, 5), [big.embedder.embed([p]) for p in prompts])
    start = time.perf_counter()
    big.shortlist(prompts, 5)
    results.append(summary(f"retrieval@{args.big}", latencies, 0, time.perf_counter() - start, len(prompts)))
    results[-1]["search_only_p50_ms"] = 1000 * statistics.median(search_only)

    paper = results[3]
    print(
        f"{'method':<18}{'p50 ms':>9}{'p95 ms':>9}{'answers/s':>11}{'tokens':>8}{'tokens vs paper':>17}"
        f"{'p50 vs paper':>14}"
    )
    for r in results:
        token_ratio = (
            paper["tokens_per_answer"] / r["tokens_per_answer"] if r["tokens_per_answer"] else float("inf")
        )
        print(
            f"{r['method']:<18}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['throughput_per_s']:>11.1f}"
            f"{r['tokens_per_answer']:>8.1f}{token_ratio:>16.1f}x{paper['p50_ms'] / r['p50_ms']:>13.1f}x"
        )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
