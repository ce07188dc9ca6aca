"""Prefect tasks of the `evaluate` flow: thin wrappers over `diffagent.evaluate` functions."""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from diffagent.config.evaluate import EvaluateConfig
from diffagent.evaluate import stages, steps
from diffagent.evaluate.report import RunFacts
from diffagent.evaluate.run import frame, prepare_prompts, write_outputs
from diffagent.stagecache import STAGE_TASK, record_stage
from schemas.evaluation import ANSWER_SCHEMA, SCORE_SCHEMA, AnswerRow, EvalPrompt, ScoreRow


@task(name="evaluate-prompts", retries=2, retry_delay_seconds=10)  # reads URLs and calls the LLM
def prompts_task(config: EvaluateConfig) -> tuple[list[EvalPrompt], dict[str, Any]]:
    """The evaluation prompts (DABench eval, COCO, Parti), expanded when an LLM is configured."""
    llm = steps.expansion_llm(config.llm_base_url, config.llm_model)
    cache = steps.expansion_cache(config.expansion_cache)
    prompts, expansion = prepare_prompts(
        config.data, config.coco, config.parti, config.n, config.seed, llm, cache
    )
    return prompts, {
        "mode": expansion.mode,
        "calls": expansion.calls,
        "cached": expansion.cached,
        "failed": expansion.failed,
    }


@task(name="evaluate-select", **STAGE_TASK)
def select_task(stage: stages.SelectionStage, prompts: list[EvalPrompt]) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stages.run_selection(stage, prompts), started)


@task(name="evaluate-render-score", **STAGE_TASK)
def render_score_task(
    stage: stages.RenderStage, prompts: list[EvalPrompt], answers: list[AnswerRow]
) -> dict[str, Any]:
    started = time.perf_counter()
    return record_stage(stage, stages.run_render(stage, prompts, answers), started)


@task(name="evaluate-read-selection", cache_policy=NO_CACHE)
def read_selection_task(stage: stages.SelectionStage) -> tuple[list[AnswerRow], dict[str, Any]]:
    return stages.read_selection(stage)


@task(name="evaluate-read-scores", cache_policy=NO_CACHE)
def read_scores_task(stage: stages.RenderStage) -> tuple[list[ScoreRow], str]:
    return stages.read_render(stage)


@task(name="evaluate-facts", cache_policy=NO_CACHE)
def facts_task(
    config: EvaluateConfig,
    prompts: list[EvalPrompt],
    expansion: dict[str, Any],
    selection: dict[str, Any],
    renderer_note: str,
) -> RunFacts:
    return steps.run_facts(config, prompts, expansion, selection, renderer_note)


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
