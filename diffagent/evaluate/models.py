"""The renderer and scorers the evaluation loads, per profile.

Rendering goes through `diffagent.render.load_renderer` (issue 4) when it exists. Until then the
tiny profile uses RRHF's `PipelineRenderer` stand-in (each architecture's tiny diffusers pipeline,
with the API's sampler-independent steps/CFG and seeds; it does not load the chosen checkpoint or
LoRA), and the report says so. The default profile refuses to run on the stand-in: its numbers
would not be the paper's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from diffagent.evaluate.pipeline import RenderFn, ScoreFn


def load_render_fn(profile: str, device: str | None = None) -> tuple[RenderFn, str]:
    """(render function, a line naming the renderer for the report)."""
    try:
        from diffagent.render import load_renderer  # type: ignore[attr-defined]
    except ImportError:
        load_renderer = None
    if load_renderer is not None:
        renderer = load_renderer(profile=profile, device=device)
        return renderer.render, f"diffagent.render ({profile} profile)"
    if profile != "tiny":
        raise ValueError(
            "diffagent.render.load_renderer is not available; only --profile tiny can run on the "
            "stand-in renderer"
        )
    from diffagent.rrhf.rollout_models import PipelineRenderer, RolloutModelsSpec

    spec = RolloutModelsSpec.tiny()
    renderer = PipelineRenderer(spec.pipelines, device or "cpu", spec.size, spec.max_steps)
    note = (
        f"Renderer: the tiny stand-in (one tiny pipeline per architecture at {spec.size}px, at most "
        f"{spec.max_steps} steps; the chosen checkpoint/LoRA is not loaded)."
    )
    return renderer.render, note


def load_score_fn(profile: str) -> ScoreFn:
    """CLIP score, ImageReward and HPS v2 (`diffagent.score.load_scorers`), loaded once."""
    from diffagent.score import load_scorers

    scorers = load_scorers(profile)
    score_all: Callable[..., Any] = scorers.score_all
    return score_all
