"""The `evaluate` flow: Table 1 (hallucination) and Table 2 (five systems and ours) on DABench-eval,
COCO Captions and PartiPrompts, Table 3 (each selector's hits of DABench's source models and
parameter agreement) and per-prompt latency with cold starts apart, with scores.parquet,
selection.parquet/json, report.md, plots and a user-study sheet."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from diffagent.evaluate.report import RunFacts
from diffagent.evaluate.systems import SYSTEMS
from diffagent.settings import get_settings
from tasks.evaluate import prompts_task, render_score_task, report_task, select_task

ARCHITECTURES = ["SD 1.5", "SDXL 1.0"]


@flow(name="evaluate")
def evaluate(
    data: str,
    agents: str,
    out: str,
    coco: str | None = None,
    parti: str | None = None,
    n: int | None = 1000,
    profile: str = "default",
    seeds: list[int] | None = None,
    seed: int = 0,
    architectures: list[str] | None = None,
    systems: list[str] | None = None,
    llm_base_url: str | None = None,
    llm_model: str | None = None,
    expansion_cache: str | None = None,
    batch_size: int = 1,
    size: int | None = None,
    base_models: dict[str, str] | None = None,
    study_pairs: int = 90,
) -> dict[str, str]:
    """Evaluate the DiffAgent-SFT and -RRHF agents of a `train sfta` run (AGENTS/sft, AGENTS/rrhf)."""
    seeds = seeds or [0, 1, 2]
    architectures = architectures or ARCHITECTURES
    systems = systems or list(SYSTEMS)
    if unknown := [s for s in systems if s not in SYSTEMS]:
        raise ValueError(f"unknown systems {unknown}; expected some of {list(SYSTEMS)}")
    if "baseline" not in systems:
        raise ValueError("systems must include 'baseline': every comparison is against it")
    settings = get_settings()
    base_url, model = llm_base_url or settings.llm_base_url, llm_model or settings.llm_model
    cache = expansion_cache or str(Path(settings.cache_dir).expanduser() / "prompt-expansions")

    prompts, expansion = prompts_task(data, coco, parti, n, seed, base_url, model, cache)
    answers, selection = select_task(prompts, data, agents, architectures, batch_size)
    scores, renderer_note = render_score_task(
        prompts, answers, data, systems, seeds, profile, out, size, base_models
    )
    counts: dict[str, int] = {}
    for prompt in prompts:
        counts[prompt.dataset] = counts.get(prompt.dataset, 0) + 1
    facts = RunFacts(
        seeds=seeds,
        prompts=counts,
        expansion=expansion["mode"],
        expansion_model=model if expansion["mode"] == "llm" else None,
        expansion_failed=expansion["failed"],
        profile=profile,
        notes=[renderer_note, "DABench counts cover both architectures (each prompt has one)."],
        batch_size=batch_size,
        load_s=selection["load_s"],
        retriever=selection["retriever"],
    )
    return report_task(prompts, answers, scores, facts, out, seed, study_pairs)
