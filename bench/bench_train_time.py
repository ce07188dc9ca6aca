"""Training time of `diffagent train retriever` at a given number of sft pairs (issue 14's budget:
about 10,000 pairs in at most 20 minutes on this 2-core CPU).

The dev capture has fewer sft pairs than that, so the sft split is grown to `--pairs` rows: the
real rows first, then copies of randomly drawn real rows whose comma-separated prompt tags are
shuffled. Each copy is a new text of a real prompt's length and vocabulary, so the encoder, which
dominates the time, does the work real prompts would cost. Negative prompts are mostly pasted
from one image to the next (499 distinct in the dev capture's 1,800 sft rows), so a copy gets a
shuffled (new) negative prompt with the real rows' share of distinct ones, and keeps its row's
otherwise. The catalog and the rrhf split are the real ones. This measures time only: the copies
say nothing about hit rates (bench/retrieval_hit_rate.py measures those on real data).

    python bench/bench_train_time.py --data /work/dev-dabench --pairs 10000 [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

BUDGET_S = 20 * 60


def shuffled_tags(text: str, rng: random.Random) -> str:
    """The text's comma-separated parts in another order (a text of one part is returned as is).

    Example: "a, b, c" -> e.g. "c, a, b".
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    rng.shuffle(parts)
    return ", ".join(parts)


def grown_sft(rows: list[dict], pairs: int, seed: int = 0) -> list[dict]:
    """`rows`, then tag-shuffled copies of random rows up to `pairs` rows (new image ids)."""
    rng = random.Random(seed)
    out = list(rows)
    next_id = max(r["image_id"] for r in rows) + 1
    distinct_negatives = len({r.get("negative_prompt") or "" for r in rows}) / len(rows)
    while len(out) < pairs:
        row = dict(rng.choice(rows))
        row["prompt"] = shuffled_tags(row["prompt"], rng) + f", v{len(out)}"  # distinct even if 1 tag
        if rng.random() < distinct_negatives:
            row["negative_prompt"] = shuffled_tags(row.get("negative_prompt") or "", rng)
        row["image_id"], next_id = next_id, next_id + 1
        out.append(row)
    return out


def scaled_copy(data: Path, target: Path, pairs: int) -> int:
    """A DABench folder at `target` with `data`'s catalog and splits, the sft split grown."""
    (target / "splits").mkdir(parents=True)
    shutil.copy(data / "catalog.parquet", target / "catalog.parquet")
    for split in ("rrhf", "eval"):
        shutil.copy(data / "splits" / f"{split}.parquet", target / "splits" / f"{split}.parquet")
    sft = pq.read_table(data / "splits" / "sft.parquet")
    rows = grown_sft(sft.to_pylist(), pairs)
    pq.write_table(pa.Table.from_pylist(rows, schema=sft.schema), target / "splits" / "sft.parquet")
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("/work/dev-dabench"))
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the trained retriever here")
    args = parser.parse_args()
    from diffagent.retriever.train import train_retriever

    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "dabench"
        rows = scaled_copy(args.data, data, args.pairs)
        out = args.out or Path(scratch) / "retriever"
        started = time.perf_counter()
        manifest = train_retriever(data, out)
        wall = time.perf_counter() - started
    keys = ("pairs", "encode_seconds", "head_seconds", "train_seconds")
    print(json.dumps({"sft_rows": rows, **{k: manifest.get(k) for k in keys}, "wall_s": round(wall, 1)}))
    print("| sft pairs | encode s | head s | total s | budget s | within |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {manifest['pairs']['sft']:,} | {manifest['encode_seconds']} | {manifest['head_seconds']} "
        f"| {wall:.1f} | {BUDGET_S} | {wall <= BUDGET_S} |"
    )


if __name__ == "__main__":
    main()
