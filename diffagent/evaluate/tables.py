"""The numbers behind the report, computed from `answers.parquet` and `scores.parquet` frames.

Scores are shown x100 like the paper's Table 2. A system's score on a data set is the mean over
prompts of the prompt's mean over seeds (with equal seeds per prompt, the mean over all images).
"""

from __future__ import annotations

import pandas as pd

from diffagent.evaluate.stats import bootstrap_mean_ci, latency_summary, share, win_rate
from diffagent.evaluate.systems import SYSTEMS
from schemas.evaluation import DATASETS

METRIC_COLUMNS: tuple[str, ...] = ("clip_score", "image_reward", "hps_v2", "unified")
# The paper's Table 2 puts SD XL before SD 1.5; we keep its order.
ARCHITECTURE_ORDER: tuple[str, ...] = ("SDXL 1.0", "SD 1.5")
SELECTOR_TITLES: dict[str, str] = {
    "sft": "SFT",
    "rrhf": "RRHF",
    "retrieval": "Retrieval-only",
    "retrieval_base": "Retrieval (untrained)",
    "hybrid": "Hybrid",
}


def _ordered(values: list[str], order: tuple[str, ...]) -> list[str]:
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def architectures(frame: pd.DataFrame) -> list[str]:
    return _ordered(list(frame["architecture"].unique()), ARCHITECTURE_ORDER)


def datasets(frame: pd.DataFrame) -> list[str]:
    return _ordered(list(frame["dataset"].unique()), DATASETS)


def systems(frame: pd.DataFrame) -> list[str]:
    return _ordered(list(frame["system"].unique()), tuple(SYSTEMS))


def answer_label(selector: str, constrained: bool) -> str:
    """Table 1 column: the paper's (unconstrained) agents by name, ours marked constrained."""
    title = SELECTOR_TITLES.get(selector, selector)
    if selector in ("sft", "rrhf"):
        return f"{title} (constrained)" if constrained else title
    return title


def hallucination(answers: pd.DataFrame) -> pd.DataFrame:
    """Long table: architecture, dataset, selector, constrained, label, error (share), answers."""
    rows = []
    keys = ["architecture", "dataset", "selector", "constrained"]
    for (architecture, dataset, selector, constrained), group in answers.groupby(keys, sort=False):
        rows.append(
            {
                "architecture": architecture,
                "dataset": dataset,
                "selector": selector,
                "constrained": bool(constrained),
                "label": answer_label(selector, bool(constrained)),
                "error": share(group["hallucinated"].tolist()),
                "answers": len(group),
            }
        )
    return pd.DataFrame(rows)


def prompt_means(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (architecture, dataset, system, prompt): each metric averaged over the seeds."""
    keys = ["architecture", "dataset", "system", "prompt_id"]
    means = scores.groupby(keys, sort=False)[list(METRIC_COLUMNS)].mean().reset_index()
    fallback = scores.groupby(keys, sort=False)["fallback"].max().reset_index(drop=True)
    return means.assign(fallback=fallback.to_numpy())


def system_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Per (architecture, dataset, system): each metric x100, the fallback share and the prompt count."""
    per_prompt = prompt_means(scores)
    keys = ["architecture", "dataset", "system"]
    table = per_prompt.groupby(keys, sort=False)[list(METRIC_COLUMNS)].mean().mul(100.0)
    table["fallback"] = per_prompt.groupby(keys, sort=False)["fallback"].mean()
    table["prompts"] = per_prompt.groupby(keys, sort=False)["prompt_id"].nunique()
    return table.reset_index()


def against_baseline(
    scores: pd.DataFrame, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> pd.DataFrame:
    """Per (architecture, dataset, system): unified-metric difference to Baseline (x100) with a
    bootstrap CI over prompts, and the win rate (ties half). Prompts missing either side are left out."""
    per_prompt = prompt_means(scores)
    rows = []
    for (architecture, dataset), group in per_prompt.groupby(["architecture", "dataset"], sort=False):
        wide = group.pivot(index="prompt_id", columns="system", values="unified")
        if "baseline" not in wide:
            raise ValueError(f"no Baseline rows for {architecture} / {dataset}; cannot compare")
        for system in systems(group):
            if system == "baseline":
                continue
            pair = wide[["baseline", system]].dropna()
            interval = bootstrap_mean_ci(
                (pair[system] - pair["baseline"]).to_numpy(), confidence, resamples, seed
            )
            rows.append(
                {
                    "architecture": architecture,
                    "dataset": dataset,
                    "system": system,
                    "delta": 100.0 * interval.mean,
                    "low": 100.0 * interval.low,
                    "high": 100.0 * interval.high,
                    "win_rate": win_rate(pair[system].to_numpy(), pair["baseline"].to_numpy()),
                    "prompts": len(pair),
                }
            )
    return pd.DataFrame(rows)


def latency(answers: pd.DataFrame) -> pd.DataFrame:
    """Per (architecture, selector, constrained): the cold start (the selector's first call) and the
    warm prompts' latency mean / p50 / p95, in seconds."""
    rows = []
    for (architecture, selector, constrained), group in answers.groupby(
        ["architecture", "selector", "constrained"], sort=False
    ):
        rows.append(
            {
                "architecture": architecture,
                "label": answer_label(selector, bool(constrained)),
                "cold_start": float(group["cold_start_s"].max()),
                **latency_summary(group["latency_s"].tolist()),
                "answers": len(group),
            }
        )
    return pd.DataFrame(rows)
