"""The `evaluate` flow: Table 1 (hallucination) and Table 2 (five systems and ours) on DABench-eval,
COCO Captions and PartiPrompts, Table 3 (each selector's hits of DABench's source models and
parameter agreement) and per-prompt latency with cold starts apart, with scores.parquet,
selection.parquet/json, report.md, plots and a user-study sheet.

Wiring only: every setting is a field of `EvaluateConfig` (diffagent/config/evaluate.py); the
work is in `tasks/evaluate.py` over `diffagent.evaluate`. Selection and rendering are cached
stages (`diffagent.evaluate.stages`): a rerun after a failed render selects nothing again."""

from __future__ import annotations

from prefect import flow

from diffagent.config.evaluate import EvaluateConfig
from diffagent.evaluate import stages
from diffagent.stagecache import run_stage
from tasks.evaluate import (
    facts_task,
    prompts_task,
    read_scores_task,
    read_selection_task,
    render_score_task,
    report_task,
    select_task,
)


@flow(name="evaluate")
def evaluate(config: EvaluateConfig) -> dict[str, str]:
    """Evaluate the DiffAgent-SFT and -RRHF agents of a `train sfta` run (AGENTS/sft, AGENTS/rrhf)."""
    prompts, expansion = prompts_task(config)
    selection = stages.selection_stage(config, prompts)
    selected = run_stage(select_task, selection, config.refresh_cache, prompts=prompts)
    answers, selected_meta = read_selection_task(selection)
    render = stages.render_stage(config, prompts, selected["fingerprint"])
    run_stage(render_score_task, render, config.refresh_cache, prompts=prompts, answers=answers)
    scores, renderer_note = read_scores_task(render)
    facts = facts_task(config, prompts, expansion, selected_meta, renderer_note)
    return report_task(prompts, answers, scores, facts, config.out, config.seed, config.study_pairs)
