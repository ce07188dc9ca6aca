"""The evaluation's stages as plain functions the Prefect tasks wrap: prompts, answers, outputs.

Layout of the output folder EVAL:
  prompts.parquet   every evaluated prompt (source and expanded text)
  answers.parquet   one row per architecture x prompt x selector x decoding (Table 1's unit)
  selection.parquet, selection.json   Table 3's figures: each selector's hits and parameter
                    agreement on DABench, per architecture and group (SelectionRow)
  scores.parquet    one row per architecture x prompt x system x seed, with every score
  images/           the rendered PNGs, named by what decides their pixels
  render-cache/     the renderer's own cache (keyed by model hashes), reused by a rerun
  report.md, unified.png, hallucination.png, study/sheet.html (+ study/images/)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from diffagent.evaluate import tables
from diffagent.evaluate.expand import ExpansionResult, LLMConfig, expand_prompts
from diffagent.evaluate.pipeline import Answer, AnswerKey, SelectFn, answer_rows, prompt_key, select_timed
from diffagent.evaluate.plots import plot_hallucination, plot_unified
from diffagent.evaluate.prompts import coco_prompts, dabench_prompts, example_prompts, parti_prompts
from diffagent.evaluate.report import ReportTables, RunFacts, build_report
from diffagent.evaluate.sheet import study_pairs, write_sheet
from diffagent.storage import ArtifactStore
from schemas.dabench import CatalogEntry
from schemas.evaluation import (
    ANSWER_SCHEMA,
    EVAL_PROMPT_SCHEMA,
    SCORE_SCHEMA,
    SELECTION_SCHEMA,
    AnswerRow,
    EvalPrompt,
)

# The answers each system needs: (selector, constrained).
SELECTIONS: tuple[tuple[str, bool], ...] = (
    ("sft", False),
    ("rrhf", False),
    ("sft", True),
    ("rrhf", True),
    ("retrieval", True),
    ("retrieval_base", True),
    ("hybrid", True),
)


def prepare_prompts(
    data: str | Path,
    coco: str | Path | None,
    parti: str | Path | None,
    n: int | None,
    seed: int,
    llm: LLMConfig | None,
    cache_dir: Path,
    examples: int = 4,
) -> tuple[list[EvalPrompt], ExpansionResult]:
    """DABench eval prompts as they are; COCO and PartiPrompts sampled and expanded (when an LLM is set)."""
    short: list[EvalPrompt] = []
    if coco:
        short += coco_prompts(coco, n, seed)
    if parti:
        short += parti_prompts(parti, n, seed)
    shown = example_prompts(data, examples, seed) if llm is not None else []
    expansion = expand_prompts(short, shown, llm, cache_dir)
    return dabench_prompts(data, n, seed) + expansion.prompts, expansion


def prompts_for(prompts: Sequence[EvalPrompt], architecture: str) -> list[EvalPrompt]:
    """DABench prompts of that architecture, and every COCO / PartiPrompts prompt."""
    return [p for p in prompts if p.base_model in (None, architecture)]


def collect_answers(
    prompts: Sequence[EvalPrompt],
    architectures: Sequence[str],
    selectors: Mapping[tuple[str, str, bool], SelectFn],
    catalog: Mapping[str, CatalogEntry],
    batch_size: int = 1,
) -> tuple[list[AnswerRow], dict[AnswerKey, Answer]]:
    """Ask every selector every prompt of each architecture.

    `selectors[(architecture, selector, constrained)]`; an unconstrained selector may be the same
    callable for both architectures, and is then asked once per prompt (the answers do not depend
    on the architecture) and has one cold start.
    """
    rows: list[AnswerRow] = []
    found: dict[AnswerKey, Answer] = {}
    asked: dict[tuple[int, str], tuple[Answer, str]] = {}
    cold: dict[int, float] = {}  # id(select) -> its cold start, measured on its first prompts
    for (architecture, selector, constrained), select in selectors.items():
        if architecture not in architectures:
            continue
        part = prompts_for(prompts, architecture)
        todo = [p for p in part if (id(select), prompt_key(p)) not in asked]
        timed = select_timed(select, todo, batch_size, cold.get(id(select)))
        for prompt, answer in zip(todo, timed, strict=True):
            asked[(id(select), prompt_key(prompt))] = answer
            cold.setdefault(id(select), answer[0].cold_start_s)
        answers = [asked[(id(select), prompt_key(p))] for p in part]
        rows += answer_rows(architecture, part, answers, selector, constrained, catalog)
        for prompt, (answer, _) in zip(part, answers, strict=True):
            found[(architecture, prompt_key(prompt), selector, constrained)] = answer
    return rows, found


def frame(rows: Sequence[Any], schema) -> pd.DataFrame:
    return pd.DataFrame([r.model_dump() for r in rows], columns=list(schema.names))


def write_parquet(frame_: pd.DataFrame, store: ArtifactStore, name: str, schema) -> str:
    import pyarrow as pa

    store.write_table(name, pa.Table.from_pandas(frame_, schema=schema, preserve_index=False))
    return store.url(name)


@dataclass
class Outputs:
    """Where each output went (local paths or fsspec URLs, as `out` was given)."""

    report: str
    scores: str
    answers: str
    selection: str
    plots: list[str]
    sheet: str | None
    tables: ReportTables


def write_outputs(
    prompts: Sequence[EvalPrompt],
    answers: pd.DataFrame,
    scores: pd.DataFrame,
    facts: RunFacts,
    out: str | Path,
    study_system: str = "diffagent_rrhf",
    study_pairs_per_architecture: int = 90,
    seed: int = 0,
) -> Outputs:
    """Parquet files, plots, report.md and the user-study sheet under `out` (a folder or URL)."""
    store = ArtifactStore(str(out))
    prompt_frame = frame(prompts, EVAL_PROMPT_SCHEMA)
    write_parquet(prompt_frame, store, "prompts.parquet", EVAL_PROMPT_SCHEMA)
    answers_path = write_parquet(answers, store, "answers.parquet", ANSWER_SCHEMA)
    scores_path = write_parquet(scores, store, "scores.parquet", SCORE_SCHEMA)
    plots = [plot_unified(tables.system_scores(scores), store.url("unified.png"))]
    if len(answers):
        plots.append(plot_hallucination(tables.hallucination(answers), store.url("hallucination.png")))
    sheet = None
    if study_system in set(scores["system"]) and "baseline" in set(scores["system"]):
        pairs = study_pairs(scores, study_system, study_pairs_per_architecture, seed)
        sheet = write_sheet(pairs, study_system, store.url("study"), seed)
    names = [p.rsplit("/", 1)[-1] for p in plots]
    report = build_report(answers, scores, facts, plots=names, bootstrap_seed=seed, prompts=prompt_frame)
    selection = report.selection_frame
    selection_path = write_parquet(selection, store, "selection.parquet", SELECTION_SCHEMA)
    # The same figures as JSON records (top5 null where the selector ranks no candidates).
    records = json.loads(selection.to_json(orient="records"))
    store.write_bytes("selection.json", json.dumps(records, indent=1).encode())
    text = report.markdown
    if sheet is not None:
        link = "study/sheet.html"
        text += f"\n## User study\n\nSide-by-side sheet of {study_system} vs baseline: [{link}]({link}).\n"
    store.write_bytes("report.md", text.encode())
    return Outputs(store.url("report.md"), scores_path, answers_path, selection_path, plots, sheet, report)
