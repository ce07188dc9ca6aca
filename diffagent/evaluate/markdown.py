"""Markdown for report.md: the table layout, the latency table and Table 3 (selection)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from diffagent.evaluate.selection import GROUP_TITLES, LABEL_ORDER
from diffagent.retriever.metrics import AGREEMENT_KEYS

ARCHITECTURE_TITLES: dict[str, str] = {"SD 1.5": "SD 1.5", "SDXL 1.0": "SD XL"}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table (no tabulate dependency)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if math.isnan(value) else f"{value:.1f}"
        return str(value).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_markdown(latency: pd.DataFrame) -> str:
    """Per selector: the cold start (its first call), then p50 / p95 / mean of the warm prompts."""
    header = ["Architecture", "Selector", "Cold start (s)", "p50 (s)", "p95 (s)", "Mean (s)", "Answers"]
    rows = [
        [
            ARCHITECTURE_TITLES.get(r.architecture, r.architecture),
            r.label,
            f"{r.cold_start:.3f}",
            f"{r.p50:.3f}",
            f"{r.p95:.3f}",
            f"{r.mean:.3f}",
            r.answers,
        ]
        for r in latency.itertuples()
    ]
    return markdown_table(header, rows)


def _percent(value: float | None) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{100.0 * value:.1f}"


def selection_markdown(selection: pd.DataFrame) -> str:
    """Rows: architecture x selector; top-1 / top-5 (%) overall and per group, then the top-1
    answer's parameter agreement (%) over all prompts; the group sizes under the table."""
    if selection.empty:
        return "No DABench prompt with a known source model was evaluated."
    groups = [g for g in GROUP_TITLES if g in set(selection["group"])]
    header = ["Architecture", "Selector", *[f"{GROUP_TITLES[g]} top-1 / top-5" for g in groups]]
    header += ["Sampler", "Steps ±5", "CFG ±1", "Size"]
    order = {label: i for i, label in enumerate(LABEL_ORDER)}
    rows, sizes = [], []
    for architecture, part in selection.groupby("architecture", sort=False):
        title = ARCHITECTURE_TITLES.get(architecture, architecture)
        by_group = part.set_index(["label", "group"])
        labels = sorted(set(part["label"]), key=lambda label: (order.get(label, len(order)), label))
        for label in labels:
            row: list[object] = [title, label]
            for group in groups:
                if (label, group) in by_group.index:
                    figures = by_group.loc[(label, group)]
                    row.append(f"{_percent(figures['top1'])} / {_percent(figures['top5'])}")
                else:
                    row.append("-")
            overall = by_group.loc[(label, "all")]
            row += [_percent(overall[key]) for key in AGREEMENT_KEYS]
            rows.append(row)
        counts = part.drop_duplicates("group").set_index("group")["prompts"]
        sizes.append(f"{title}: " + ", ".join(f"{GROUP_TITLES[g]} {int(counts[g])}" for g in counts.index))
    return markdown_table(header, rows) + "\n\nPrompts per group: " + "; ".join(sizes) + "."
