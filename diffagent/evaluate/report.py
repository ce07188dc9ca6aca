"""`report.md`: the paper's Table 1 and Table 2 laid out the same way, plus our rows, the CIs, Table 3
(selection against DABench's source models) and latency.

Each table is also returned on its own (`ReportTables`) so the flow can publish it as a Prefect
markdown artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from diffagent.evaluate import tables
from diffagent.evaluate.markdown import (
    ARCHITECTURE_TITLES,
    latency_markdown,
    markdown_table,
    selection_markdown,
)
from diffagent.evaluate.selection import selection_frame
from diffagent.evaluate.systems import SYSTEMS
from schemas.evaluation import DATASET_TITLES

# The paper's numbers (Tables 1 and 2), printed beside ours for reference.
PAPER_HALLUCINATION: dict[tuple[str, str], tuple[float, float]] = {
    ("SD 1.5", "dabench"): (11.5, 9.5),
    ("SD 1.5", "coco"): (26.9, 15.5),
    ("SD 1.5", "parti"): (28.9, 20.0),
    ("SDXL 1.0", "dabench"): (7.4, 7.1),
    ("SDXL 1.0", "coco"): (45.6, 36.0),
    ("SDXL 1.0", "parti"): (48.1, 28.0),
}
PAPER_UNIFIED: dict[tuple[str, str], tuple[float, float]] = {  # (Baseline, DiffAgent-RRHF)
    ("SD 1.5", "dabench"): (37.2, 68.2),
    ("SD 1.5", "coco"): (42.3, 62.2),
    ("SD 1.5", "parti"): (43.0, 61.8),
    ("SDXL 1.0", "dabench"): (49.2, 57.5),
    ("SDXL 1.0", "coco"): (48.0, 57.4),
    ("SDXL 1.0", "parti"): (49.8, 58.8),
}
TABLE1_COLUMNS: tuple[str, ...] = (
    "SFT",
    "RRHF",
    "SFT (constrained)",
    "RRHF (constrained)",
    "Retrieval (untrained)",
    "Retrieval-only",
    "Hybrid",
)


@dataclass
class RunFacts:
    """What the report states about the run (settings, counts, how prompts were prepared)."""

    seeds: list[int]
    prompts: dict[str, int]  # data set -> prompts evaluated (per architecture for DABench)
    expansion: str  # "llm" | "none"
    expansion_model: str | None = None
    expansion_failed: int = 0
    profile: str = "default"
    normalisation: str = "all images of all compared systems on the same prompt"
    notes: list[str] = field(default_factory=list)
    batch_size: int = 1  # prompts per selection call
    load_s: dict[str, float] = field(default_factory=dict)  # agent -> seconds to load its weights
    retriever: str | None = None  # the run's trained retriever (RUN/retriever); None: untrained only


@dataclass
class ReportTables:
    table1: str
    table2: str
    latency: str
    markdown: str
    selection: str = ""
    selection_frame: pd.DataFrame = field(default_factory=pd.DataFrame)


def table1_markdown(hallucination: pd.DataFrame) -> str:
    """Rows: architecture x data set; columns: the paper's SFT / RRHF, then ours; % of answers."""
    present = [c for c in TABLE1_COLUMNS if c in set(hallucination["label"])]
    header = ["Architecture", "Data set", *present, "Paper SFT / RRHF"]
    rows = []
    for architecture in tables.architectures(hallucination):
        for dataset in tables.datasets(hallucination):
            part = hallucination[
                (hallucination["architecture"] == architecture) & (hallucination["dataset"] == dataset)
            ]
            if part.empty:
                continue
            errors = dict(zip(part["label"], 100.0 * part["error"], strict=True))
            paper = PAPER_HALLUCINATION.get((architecture, dataset))
            rows.append(
                [
                    ARCHITECTURE_TITLES.get(architecture, architecture),
                    DATASET_TITLES.get(dataset, dataset),
                    *[errors.get(c, float("nan")) for c in present],
                    f"{paper[0]} / {paper[1]}" if paper else "-",
                ]
            )
    return markdown_table(header, rows)


def table2_markdown(summary: pd.DataFrame, comparison: pd.DataFrame) -> str:
    """Rows: data set x system; per architecture (SD XL first): CLIP, ImageReward, HPS v2, Unified,
    the unified difference to Baseline with its CI, and the win rate against Baseline (%)."""
    archs = tables.architectures(summary)
    header = ["Data set", "System"]
    for architecture in archs:
        title = ARCHITECTURE_TITLES.get(architecture, architecture)
        header += [f"{title} {m}" for m in ("CLIP Score", "ImageReward", "HPS v2", "Unified Metric")]
        header += [f"{title} Δ Unified [95% CI]", f"{title} win %"]
    by_key = summary.set_index(["architecture", "dataset", "system"])
    versus = comparison.set_index(["architecture", "dataset", "system"]) if len(comparison) else None
    rows = []
    for dataset in tables.datasets(summary):
        for system in tables.systems(summary[summary["dataset"] == dataset]):
            row: list[object] = [DATASET_TITLES.get(dataset, dataset), SYSTEMS[system].title]
            for architecture in archs:
                key = (architecture, dataset, system)
                if key in by_key.index:
                    row += [float(by_key.loc[key, m]) for m in tables.METRIC_COLUMNS]
                else:
                    row += ["-"] * 4
                if versus is not None and key in versus.index:
                    v = versus.loc[key]
                    row += [
                        f"{v['delta']:+.1f} [{v['low']:+.1f}, {v['high']:+.1f}]",
                        100.0 * float(v["win_rate"]),
                    ]
                else:
                    row += ["-", "-"]
            rows.append(row)
    return markdown_table(header, rows)


def _facts_markdown(facts: RunFacts) -> str:
    counts = ", ".join(f"{DATASET_TITLES.get(d, d)} {n}" for d, n in facts.prompts.items())
    if facts.expansion == "llm":
        expansion = (
            f"COCO and PartiPrompts prompts were expanded by the LLM `{facts.expansion_model}` with "
            f"DABench in-context examples ({facts.expansion_failed} empty answers kept the source prompt)."
        )
    else:
        expansion = (
            "No LLM was configured: COCO and PartiPrompts prompts were used as they are, not expanded."
        )
    seeds = ", ".join(map(str, facts.seeds))
    lines = [
        f"- Profile: `{facts.profile}`; seeds per prompt: {len(facts.seeds)} ({seeds}).",
        f"- Prompts: {counts}.",
        f"- Prompt expansion: {expansion}",
        f"- Unified metric: each score min-max normalised over {facts.normalisation}, then averaged.",
        *[f"- {note}" for note in facts.notes],
    ]
    return "\n".join(lines)


def build_report(
    answers: pd.DataFrame,
    scores: pd.DataFrame,
    facts: RunFacts,
    plots: Sequence[str] = (),
    bootstrap_seed: int = 0,
    resamples: int = 10_000,
    prompts: pd.DataFrame | None = None,
) -> ReportTables:
    """Every table in markdown, and the whole report. Table 3 needs `prompts` (prompts.parquet's
    frame: the DABench truth); without it the report has no selection table."""
    table1 = table1_markdown(tables.hallucination(answers))
    summary = tables.system_scores(scores)
    table2 = table2_markdown(
        summary, tables.against_baseline(scores, resamples=resamples, seed=bootstrap_seed)
    )
    latency = latency_markdown(tables.latency(answers))
    figures = selection_frame(prompts, answers) if prompts is not None else pd.DataFrame()
    selection = selection_markdown(figures) if prompts is not None else ""
    reasons = answers[answers["hallucinated"]].groupby("reason").size().to_dict()
    reason_text = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"
    markdown = "\n\n".join(
        [
            "# DiffAgent evaluation",
            _facts_markdown(facts),
            "## Table 1. Hallucination error (%)",
            "Share of answers naming no catalog model renderable on the architecture. SFT and RRHF are "
            "the paper's unconstrained agents; the constrained rows decode only catalog entries. "
            f"Hallucinated answers by reason: {reason_text}.",
            table1,
            "## Table 2. Scores (x100)",
            f"Each system on {len(facts.seeds)} seeds per prompt, averaged over seeds then prompts. "
            "Δ Unified: the paired "
            "per-prompt difference to Baseline with a seeded percentile-bootstrap 95% CI over prompts. "
            "Win %: share of prompts where the system's unified metric beats Baseline's, ties counted as "
            "half a win (the paper's user study excluded ties instead). A hallucinated answer renders "
            "the baseline. Paper, unified metric Baseline -> DiffAgent-RRHF: "
            + "; ".join(
                f"{ARCHITECTURE_TITLES[a]} {DATASET_TITLES[d]} {b} -> {r}"
                for (a, d), (b, r) in PAPER_UNIFIED.items()
            )
            + ".",
            table2,
            *(["## Table 3. Selection (%)", _selection_intro(facts), selection] if selection else []),
            "## Selection latency",
            _latency_intro(facts),
            latency,
            *(["## Plots", *[f"![{p}]({p})" for p in plots]] if plots else []),
        ]
    )
    return ReportTables(table1, table2, latency, markdown + "\n", selection, figures)


def _selection_intro(facts: RunFacts) -> str:
    retriever = (
        f"Retrieval-only is the run's trained retriever (`{facts.retriever}`)"
        if facts.retriever
        else "The run has no trained retriever: Retrieval-only is the untrained one too"
    )
    return (
        "DABench prompts only (each image's own model and metadata are the truth). Top-1: the answer "
        "names the image's model; top-5: among the selector's five ranked candidates (n/a for a "
        "selector that gives one answer: the agents decode one greedy answer). Seen / unseen: the "
        "model has samples in the sft split or not. Parameters of the "
        "top-1 answer as it states them, over all prompts: the same sampler, steps within 5, CFG "
        f"within 1, the same size (an unreadable value disagrees). {retriever}."
    )


def _latency_intro(facts: RunFacts) -> str:
    timing = (
        "each prompt asked on its own"
        if facts.batch_size == 1
        else f"prompts asked in batches of {facts.batch_size}, each charged an equal share of its batch"
    )
    loads = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in facts.load_s.items())
    return (
        f"Seconds per prompt, {timing}, after a first call per selector that is reported apart as its "
        "cold start (index build or retriever load, first model call) and not in the percentiles "
        "(the paper: 4.81 s per API on one A100 80G)."
        + (f" Loading the agents' weights, before any call: {loads}." if loads else "")
    )
