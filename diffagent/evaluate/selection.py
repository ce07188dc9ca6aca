"""Table 3, selection: did each selector name the model that made the DABench image, with its settings?

Only DABench prompts have a truth (the source image's model and metadata, on `EvalPrompt`). Per
answer: top-1 hit (the answer's model is the image's), top-5 hit (among the selector's ranked
candidates; None for a selector that gives one answer, never counted as its top-1) and the top-1
answer's parameter agreement as it states them (`diffagent.retriever.metrics`, the rules the
retrieval benchmark uses). Shares are taken per architecture x selector over all prompts and over
the groups below.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from diffagent.answers import parse_answer
from diffagent.evaluate.tables import answer_label
from diffagent.retriever.metrics import AGREEMENT_KEYS, ranked_hits, stated_agreement
from schemas.evaluation import SelectionRow

TOP_K = 5
GROUP_TITLES: dict[str, str] = {
    "all": "All",
    "seen": "Seen in SFT",
    "unseen": "Unseen in SFT",
    "Checkpoint": "Checkpoint",
    "LORA": "LoRA",
}
# Table 3's row order: the retrievers, the hybrid, then the agents.
LABEL_ORDER: tuple[str, ...] = (
    "Retrieval (untrained)",
    "Retrieval-only",
    "Hybrid",
    "SFT",
    "RRHF",
    "SFT (constrained)",
    "RRHF (constrained)",
)


def _truth(prompt: pd.Series) -> dict:
    return {
        "model": prompt["reference_model"],
        "width": prompt["reference_width"],
        "height": prompt["reference_height"],
        "sampling_method": prompt["reference_sampler"],
        "sampling_steps": prompt["reference_steps"],
        "cfg_scale": prompt["reference_cfg"],
    }


def _ranked(value: object) -> list[str] | None:
    """The ranked models of an answers.parquet row (a list, an Arrow-read array, or None)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return [str(v) for v in value]  # type: ignore[union-attr]


def selection_figures(prompts: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """One row per answer to a DABench prompt with a truth: its hits, agreement and groups."""
    truths = prompts[(prompts["dataset"] == "dabench") & prompts["reference_model"].notna()]
    by_id = truths.set_index("prompt_id")
    rows = []
    for answer in answers[answers["dataset"] == "dabench"].itertuples():
        if answer.prompt_id not in by_id.index:
            continue
        prompt = by_id.loc[answer.prompt_id]
        truth = _truth(prompt)
        ranked = _ranked(answer.ranked)
        hits = ranked_hits(ranked if ranked is not None else [answer.model], truth["model"], TOP_K)
        seen = prompt["reference_in_sft"]
        rows.append(
            {
                "architecture": answer.architecture,
                "selector": answer.selector,
                "constrained": bool(answer.constrained),
                "prompt_id": answer.prompt_id,
                "type": prompt["reference_type"],
                "seen": None if pd.isna(seen) else bool(seen),
                "top1": hits["top1"],
                "top5": hits[f"top{TOP_K}"] if ranked is not None else None,
                **stated_agreement(parse_answer(answer.raw), truth),
            }
        )
    return pd.DataFrame(rows)


def _groups(figures: pd.DataFrame) -> Iterator[tuple[str, pd.DataFrame]]:
    yield "all", figures
    known = figures[figures["seen"].notna()]
    yield "seen", known[known["seen"].astype(bool)]
    yield "unseen", known[~known["seen"].astype(bool)]
    for kind in ("Checkpoint", "LORA"):
        yield kind, figures[figures["type"] == kind]


def selection_rows(figures: pd.DataFrame) -> list[SelectionRow]:
    """Shares per architecture x selector x group (groups without prompts are left out). top5 is
    None unless every answer of the group came with a ranking."""
    if figures.empty:
        return []
    rows = []
    keys = ["architecture", "selector", "constrained"]
    for (architecture, selector, constrained), answers in figures.groupby(keys, sort=False):
        for group, part in _groups(answers):
            if part.empty:
                continue
            ranked = part["top5"].notna().all()
            rows.append(
                SelectionRow(
                    architecture=architecture,
                    selector=selector,
                    constrained=bool(constrained),
                    label=answer_label(selector, bool(constrained)),
                    group=group,
                    prompts=len(part),
                    top1=float(part["top1"].mean()),
                    top5=float(part["top5"].astype(bool).mean()) if ranked else None,
                    **{key: float(part[key].mean()) for key in AGREEMENT_KEYS},
                )
            )
    return rows


def selection_frame(prompts: pd.DataFrame, answers: pd.DataFrame) -> pd.DataFrame:
    """`selection.parquet`: every selector's figures (SelectionRow columns, shares in [0, 1])."""
    rows = selection_rows(selection_figures(prompts, answers))
    return pd.DataFrame([r.model_dump() for r in rows], columns=list(SelectionRow.model_fields))
