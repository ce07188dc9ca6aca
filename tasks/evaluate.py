"""Prefect tasks of the `evaluate` flow: thin wrappers over `diffagent.evaluate` functions."""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact

from diffagent.evaluate.expand import LLMConfig
from diffagent.evaluate.pipeline import answers_from_rows, plan_systems, render_and_score
from diffagent.evaluate.report import RunFacts
from diffagent.evaluate.run import collect_answers, frame, prepare_prompts, prompts_for, write_outputs
from diffagent.evaluate.systems import catalog_index, default_size
from diffagent.settings import get_settings
from diffagent.storage import ArtifactStore
from schemas.evaluation import ANSWER_SCHEMA, SCORE_SCHEMA, AnswerRow, EvalPrompt, ScoreRow


def _catalog(data: str):
    return catalog_index(data)


@task(name="evaluate-prompts", retries=2, retry_delay_seconds=10)  # reads URLs and calls the LLM
def prompts_task(
    data: str,
    coco: str | None,
    parti: str | None,
    n: int | None,
    seed: int,
    llm_base_url: str | None,
    llm_model: str | None,
    cache_dir: str,
) -> tuple[list[EvalPrompt], dict[str, Any]]:
    """The key is read from the environment here, so it never becomes a run parameter."""
    config = None
    if llm_base_url and llm_model:
        key = get_settings().llm_api_key
        config = LLMConfig(llm_base_url, llm_model, api_key=key.get_secret_value() if key else "not-needed")
    prompts, expansion = prepare_prompts(data, coco, parti, n, seed, config, cache_dir)
    return prompts, {
        "mode": expansion.mode,
        "calls": expansion.calls,
        "cached": expansion.cached,
        "failed": expansion.failed,
    }


@task(name="evaluate-select")
def select_task(
    prompts: list[EvalPrompt], data: str, agents: str, architectures: list[str], batch_size: int
) -> tuple[list[AnswerRow], dict[str, Any]]:
    """The answers, and what the report says of the selectors: seconds to load each agent's
    weights (before any call, so in no selector's cold start) and the trained retriever's folder."""
    from diffagent.evaluate.agents import build_selectors, load_run_agents

    began = time.perf_counter()
    loaded = load_run_agents(agents, data)
    load_s = {"SFT + RRHF": time.perf_counter() - began}
    selectors = build_selectors(loaded, architectures)
    rows, _ = collect_answers(prompts, architectures, selectors, _catalog(data), batch_size)
    retriever = loaded["rrhf"].retriever_source
    return rows, {"load_s": load_s, "retriever": str(retriever) if retriever else None}


@task(name="evaluate-render-score")
def render_score_task(
    prompts: list[EvalPrompt],
    answers: list[AnswerRow],
    data: str,
    systems: list[str],
    seeds: list[int],
    profile: str,
    out: str,
    size: int | None,
    base_models: dict[str, str] | None,
) -> tuple[list[ScoreRow], str]:
    from diffagent.evaluate.models import load_render_fn, load_score_fn
    from diffagent.rrhf.reconstruct import default_api

    catalog = _catalog(data)
    store = ArtifactStore(out)
    render, renderer_note = load_render_fn(profile, data, store.url("render-cache"), catalog, base_models)
    score = load_score_fn(profile)
    found = answers_from_rows(answers)
    rows: list[ScoreRow] = []
    for architecture in sorted({a.architecture for a in answers}):
        side = (size, size) if size else default_size(architecture)
        baseline = default_api(architecture, catalog, base_models)
        planned = plan_systems(
            architecture, prompts_for(prompts, architecture), found, systems, catalog, baseline, side
        )
        rows += render_and_score(planned, seeds, render, score, store.url("images"))
    return rows, renderer_note


@task(name="evaluate-report")
def report_task(
    prompts: list[EvalPrompt],
    answers: list[AnswerRow],
    scores: list[ScoreRow],
    facts: RunFacts,
    out: str,
    seed: int,
    study_pairs: int,
) -> dict[str, str]:
    outputs = write_outputs(
        prompts,
        frame(answers, ANSWER_SCHEMA),
        frame(scores, SCORE_SCHEMA),
        facts,
        out,
        study_pairs_per_architecture=study_pairs,
        seed=seed,
    )
    create_markdown_artifact(
        markdown=outputs.tables.table1,
        key="evaluation-table-1",
        description="Hallucination error (%), paper Table 1 layout",
    )
    create_markdown_artifact(
        markdown=outputs.tables.table2,
        key="evaluation-table-2",
        description="Scores x100 with paired bootstrap CIs, paper Table 2 layout",
    )
    if outputs.tables.selection:
        create_markdown_artifact(
            markdown=outputs.tables.selection,
            key="evaluation-table-3",
            description="Selection on DABench (%): top-1 / top-5 of the image's model, parameter agreement",
        )
    create_markdown_artifact(
        markdown=outputs.tables.latency,
        key="evaluation-latency",
        description="Selection latency per selector",
    )
    return {
        "report": outputs.report,
        "scores": outputs.scores,
        "answers": outputs.answers,
        "selection": outputs.selection,
        "plots": ",".join(outputs.plots),
        "sheet": outputs.sheet or "",
    }
