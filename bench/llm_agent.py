"""The LLM agent side by side with the trained retriever on one DABench split (one table).

Rows: the trained retriever; the LLM constrained over the whole catalog (top-1 greedy; top-5 by
constrained beam search); the LLM unconstrained (the paper's path, with its hallucination rate,
Table 1); the hybrid (`agent/hybrid.py`) with shortlists of 5 / 10 / 30 (the cards reader: up to
26) at the reader, llm weight and parameter source `diffagent calibrate` tuned on rrhf (its grid,
in the agent's manifest, has the LLM alone choosing among the shortlist: weight 1). Each: top-1,
top-5, top-1 on prompts whose true model has sft samples (seen) or none (unseen), on Checkpoints
and LoRAs, top-1 parameter agreement, answer tokens generated per prompt, p50 / p95 seconds per
prompt (one prompt per call, on the first `--latency-prompts`; this machine's CPU) and training
time.

    python bench/llm_agent.py --data /work/dev-dabench --retriever /work/exp/seed0 \
        --agent /work/exp/smollm2-sft [--prompts 100] [--slow-prompts 50]

`--slow-prompts`: the first N of the prompts for the two slow LLM paths (beam search over the whole
catalog, free generation); the table names how many prompts each row read.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from diffagent.agent import load_agent
from diffagent.agent.chooser import CHOOSER_KEY, LABELS
from diffagent.agent.hallucination import hallucination_rate
from diffagent.agent.hybrid import READERS
from diffagent.answers import parse_answer
from diffagent.retriever.metrics import AGREEMENT_KEYS, parameter_agreement, stated_agreement

K = 5
BATCH = 16  # prompts per call past the latency prompts


def timed_answers(
    agent: Any, rows: list[dict], latency_prompts: int, **select: Any
) -> tuple[list[list[Any]], list[float]]:
    """Answers, and the seconds of each of the first `latency_prompts` prompts answered one per
    call (the latency a user sees); the rest are answered in batches (the same answers, faster)."""
    items = [{"prompt": r["prompt"], "negative_prompt": r["negative_prompt"]} for r in rows]
    answers, seconds = [], []
    for item in items[:latency_prompts]:
        started = time.perf_counter()
        answers += agent.select([item], **select)
        seconds.append(time.perf_counter() - started)
    for start in range(latency_prompts, len(items), BATCH):
        answers += agent.select(items[start : start + BATCH], **select)
    return answers, seconds


def figures(
    answers: list[list[Any]], seconds: list[float], rows: list[dict], seen: set[str], catalog
) -> dict:
    """The table's cells for one selector (see the module docstring)."""
    names = [[s.api.model if s.api is not None else None for s in a] for a in answers]
    top1 = [bool(n) and n[0] == r["model"] for n, r in zip(names, rows, strict=True)]
    top5 = [r["model"] in n[:K] for n, r in zip(names, rows, strict=True)]

    def share(mask: list[bool]) -> float:
        picked = [hit for hit, keep in zip(top1, mask, strict=True) if keep]
        return float(np.mean(picked)) if picked else float("nan")

    agreement = []
    for a, r in zip(answers, rows, strict=True):
        best = a[0] if a else None
        if best is not None and best.api is None:  # a free answer naming no catalog model
            agreement.append(stated_agreement(parse_answer(best.text or ""), r))
        else:
            agreement.append(parameter_agreement(best.api if best else None, r))
    out = {
        "prompts": len(rows),
        "top1": float(np.mean(top1)),
        "top5": float(np.mean(top5)) if any(len(n) > 1 for n in names) else float("nan"),
        "seen": share([r["model"] in seen for r in rows]),
        "unseen": share([r["model"] not in seen for r in rows]),
        "checkpoint": share([r["type"] != "LORA" for r in rows]),
        "lora": share([r["type"] == "LORA" for r in rows]),
        **{key: float(np.mean([g[key] for g in agreement])) for key in AGREEMENT_KEYS},
        "tokens": float(np.mean([a[0].tokens_generated if a else 0 for a in answers])),
        "p50_s": float(np.percentile(seconds, 50)),
        "p95_s": float(np.percentile(seconds, 95)),
        # Every row's: the constrained ones must read 0 % (each answer names a catalog model); a
        # prompt with no answer counts as a miss.
        "hallucination": hallucination_rate([a[0] if a else None for a in answers], catalog),
    }
    return out


COLUMNS = [
    ("prompts", "n", "{:.0f}"),
    ("top1", "top-1", "{:.1%}"),
    ("top5", "top-5", "{:.1%}"),
    ("seen", "seen", "{:.1%}"),
    ("unseen", "unseen", "{:.1%}"),
    ("checkpoint", "Ckpt", "{:.1%}"),
    ("lora", "LoRA", "{:.1%}"),
    ("sampler", "sampler", "{:.1%}"),
    ("steps", "steps", "{:.1%}"),
    ("cfg", "cfg", "{:.1%}"),
    ("size", "size", "{:.1%}"),
    ("hallucination", "halluc.", "{:.1%}"),
    ("tokens", "tokens", "{:.1f}"),
    ("p50_s", "p50 s", "{:.3f}"),
    ("p95_s", "p95 s", "{:.3f}"),
    ("train_s", "train s", "{:.0f}"),
]


def table(results: dict[str, dict]) -> str:
    def cell(value: Any, form: str) -> str:
        return "-" if value is None or (isinstance(value, float) and np.isnan(value)) else form.format(value)

    head = "| selector | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for name, cells in results.items():
        lines.append(f"| {name} | " + " | ".join(cell(cells.get(k), f) for k, _, f in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/dev-dabench"))
    parser.add_argument("--retriever", type=Path, default=Path("/work/exp/seed0"))
    parser.add_argument("--agent", type=Path, required=True, help="Agent folder from `train sft`.")
    parser.add_argument("--split", default="eval")
    parser.add_argument("--prompts", type=int, default=100, help="First N prompts of the split.")
    parser.add_argument("--slow-prompts", type=int, default=50, help="First N for beam search and free text.")
    parser.add_argument("--latency-prompts", type=int, default=10, help="First N answered one per call.")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's).")
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here too.")
    parser.add_argument(
        "--hybrid-weights",
        type=float,
        nargs="*",
        default=None,
        help="LLM weights of the hybrid rows (default: the one calibrate chose).",
    )
    parser.add_argument(
        "--readers",
        nargs="+",
        choices=READERS,
        default=None,
        help="Hybrid readers of the hybrid rows (default: the one calibrate chose).",
    )
    parser.add_argument("--hybrid-sizes", nargs="+", type=int, default=[5, 10, 30])
    parser.add_argument("--no-llm", action="store_true", help="Skip the three LLM-alone rows.")
    args = parser.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    rows = pd.read_parquet(args.data / "splits" / f"{args.split}.parquet").to_dict("records")[: args.prompts]
    for row in rows:
        row["negative_prompt"] = row.get("negative_prompt") or ""
    slow = rows[: args.slow_prompts]
    seen = set(pd.read_parquet(args.data / "splits" / "sft.parquet")["model"])
    agent = load_agent(args.agent, args.data, retriever=args.retriever)
    retriever_s = json.loads((args.retriever / "manifest.json").read_text()).get("train_seconds")
    sft_s = agent.manifest.get("train_seconds")
    tuned = agent.hybrid
    print(
        f"agent {args.agent} (base {agent.manifest.get('base_model')}, SFT {sft_s} s, "
        f"{agent.manifest.get('steps', '?')} steps); hybrid tuned on rrhf: {tuned}; "
        f"default selector {agent.manifest.get('default_selector', '-')}",
        flush=True,
    )

    runs: list[tuple[str, list[dict], dict, Any]] = [
        ("retriever (trained)", rows, {"selector": "retrieval", "top_k": K}, retriever_s),
        ("LLM constrained, greedy top-1", rows, {"selector": "llm", "top_k": 1}, sft_s),
        ("LLM constrained, beam top-5", slow, {"selector": "llm", "top_k": K}, sft_s),
        ("LLM unconstrained (paper)", slow, {"selector": "llm", "constrained": False}, sft_s),
    ]
    if args.no_llm:
        runs = runs[:1]
    weights = args.hybrid_weights if args.hybrid_weights is not None else [tuned.llm_weight]
    chosen = args.readers or [tuned.reader]
    # The chooser reads lettered cards: at most 26 candidates.
    sizes = {r: [n for n in args.hybrid_sizes if r == "names" or n <= len(LABELS)] for r in chosen}
    hybrids = [(reader, size, weight) for reader in chosen for weight in weights for size in sizes[reader]]
    chooser_s = (agent.manifest.get(CHOOSER_KEY) or {}).get("train_seconds") or 0
    results: dict[str, dict] = {}
    for name, part, select, train_s in runs:
        answers, seconds = timed_answers(agent, part, args.latency_prompts, **select)
        results[name] = {**figures(answers, seconds, part, seen, agent.catalog), "train_s": train_s}
        print(name, json.dumps(results[name]), flush=True)
    for reader, size, weight in hybrids:
        agent.hybrid = replace(tuned, shortlist=size, llm_weight=weight, reader=reader)
        answers, seconds = timed_answers(agent, rows, args.latency_prompts, selector="hybrid", top_k=K)
        name = f"hybrid {reader} @{size}, w={weight:g}, params {tuned.parameters}"
        total = (retriever_s or 0) + (sft_s or 0) + (chooser_s if reader == "cards" else 0)
        results[name] = {**figures(answers, seconds, rows, seen, agent.catalog), "train_s": total}
        print(name, json.dumps(results[name]), flush=True)
    print()
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
