"""The evaluate flow's work between its tasks, as plain functions: where prompt expansion runs,
the render-and-score loop over architectures, and the facts the report states."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diffagent.evaluate.report import RunFacts
from diffagent.llm_config import LLMConfig
from diffagent.settings import get_settings
from schemas.evaluation import AnswerRow, EvalPrompt, ScoreRow


def expansion_llm(base_url: str | None, model: str | None) -> LLMConfig | None:
    """The prompt-expansion LLM: the config's, else the settings' (environment); None: offline.
    The key is read here from settings, so it never becomes a run parameter."""
    settings = get_settings()
    base_url, model = base_url or settings.llm_base_url, model or settings.llm_model
    if not (base_url and model):
        return None
    return LLMConfig(base_url, model, api_key=settings.llm_api_key)


def expansion_cache(folder: str | None) -> str:
    """Where prompt expansions are cached (default: under the settings' cache directory)."""
    return folder or str(Path(get_settings().cache_dir).expanduser() / "prompt-expansions")


def render_and_score_all(
    prompts: list[EvalPrompt],
    answers: list[AnswerRow],
    data: str,
    systems: list[str],
    seeds: list[int],
    weights: str,
    out: str,
    size: int | None,
    base_models: dict[str, str] | None,
) -> tuple[list[ScoreRow], str]:
    """Every system's images of every prompt, per architecture, scored; and the renderer's note."""
    from diffagent.evaluate.models import load_render_fn, load_score_fn
    from diffagent.evaluate.pipeline import answers_from_rows, plan_systems, render_and_score
    from diffagent.evaluate.run import prompts_for
    from diffagent.evaluate.systems import catalog_index, default_size
    from diffagent.rrhf.reconstruct import default_api
    from diffagent.storage import ArtifactStore

    catalog = catalog_index(data)
    store = ArtifactStore(out)
    render, renderer_note = load_render_fn(weights, data, store.url("render-cache"), catalog, base_models)
    score = load_score_fn(weights)
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


def run_facts(
    config: Any,
    prompts: list[EvalPrompt],
    expansion: dict[str, Any],
    selection: dict[str, Any],
    renderer_note: str,
) -> RunFacts:
    """What the report says of the run: seeds, prompt counts, expansion, profile, selectors."""
    counts: dict[str, int] = {}
    for prompt in prompts:
        counts[prompt.dataset] = counts.get(prompt.dataset, 0) + 1
    llm = expansion_llm(config.llm_base_url, config.llm_model)
    return RunFacts(
        seeds=config.seeds,
        prompts=counts,
        expansion=expansion["mode"],
        expansion_model=llm.model if llm and expansion["mode"] == "llm" else None,
        expansion_failed=expansion["failed"],
        profile=config.profile,
        notes=[renderer_note, "DABench counts cover both architectures (each prompt has one)."],
        batch_size=config.batch_size,
        load_s=selection["load_s"],
        retriever=selection["retriever"],
    )
