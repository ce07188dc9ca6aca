"""What a rollout batch loads: the renderer and the three scorers, described by a JSON-able spec so
that a remote worker (a Prefect run on the `cuda` pool) can build them itself.

Renderer: `diffagent.render` (issue 4) when it offers `load_renderer(profile=..., device=...)`;
until then `PipelineRenderer`, which renders every API on its architecture's diffusers pipeline
(the tiny ones for `--profile tiny`) with the API's steps, CFG and seeds. It does not load the
chosen checkpoint or LoRA, so it is only a stand-in for tiny runs; the spec records which one ran.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from schemas.t2i import T2IApi


@dataclass
class RolloutModelsSpec:
    profile: str = "default"  # "tiny": tiny pipelines and scorers from `diffagent tiny-models`
    device: str | None = None
    pipelines: dict[str, str] = field(default_factory=dict)  # architecture -> diffusers folder or hub id
    scorers: dict[str, str] = field(default_factory=dict)  # metric -> scorer folder
    size: int | None = None  # render side override (tiny: 64)
    max_steps: int | None = None  # cap on sampling steps (tiny: 2)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def tiny(cls, tiny_dir: Path | None = None) -> RolloutModelsSpec:
        from diffagent.tiny import ensure_tiny_models

        root = ensure_tiny_models(tiny_dir)
        return cls(
            profile="tiny",
            device="cpu",
            pipelines={"SD 1.5": str(root / "sd15"), "SDXL 1.0": str(root / "sdxl")},
            scorers={
                "clip_score": str(root / "clip"),
                "image_reward": str(root / "image_reward"),
                "hps_v2": str(root / "hps"),
            },
            size=64,
            max_steps=2,
        )


class PipelineRenderer:
    """One diffusers pipeline per architecture, loaded on first use; one generator per seed."""

    def __init__(
        self,
        pipelines: Mapping[str, str],
        device: str = "cpu",
        size: int | None = None,
        max_steps: int | None = None,
    ) -> None:
        self.folders, self.device, self.size, self.max_steps = dict(pipelines), device, size, max_steps
        self._loaded: dict[str, Any] = {}
        self.renders = 0

    def _pipeline(self, architecture: str) -> Any:
        if architecture not in self.folders:
            raise ValueError(f"no pipeline for architecture {architecture!r}; have {sorted(self.folders)}")
        if architecture not in self._loaded:
            from diffusers import DiffusionPipeline

            pipe = DiffusionPipeline.from_pretrained(self.folders[architecture]).to(self.device)
            pipe.set_progress_bar_config(disable=True)
            self._loaded[architecture] = pipe
        return self._loaded[architecture]

    def render(self, api: T2IApi, prompt: str, negative_prompt: str, seeds: Sequence[int]) -> list[Any]:
        import torch

        pipe = self._pipeline(api.base_model)
        steps = min(api.sampling_steps, self.max_steps) if self.max_steps else api.sampling_steps
        width, height = (self.size, self.size) if self.size else (api.width, api.height)
        generators = [torch.Generator(self.device).manual_seed(int(seed)) for seed in seeds]
        self.renders += len(seeds)
        return pipe(
            [prompt] * len(seeds),
            negative_prompt=[negative_prompt] * len(seeds),
            num_inference_steps=steps,
            guidance_scale=api.cfg_scale,
            width=width,
            height=height,
            generator=generators,
        ).images


def build_rollout_models(spec: RolloutModelsSpec | Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(renderer, {metric: scorer}) for a spec (a dataclass or its JSON)."""
    from diffagent.rrhf.rollout import load_scorers_from_folders

    if not isinstance(spec, RolloutModelsSpec):
        spec = RolloutModelsSpec(**spec)
    if not spec.pipelines or not spec.scorers:
        raise ValueError(f"rollout models spec needs pipelines and scorers, got {spec.to_json()}")
    device = spec.device or ("cuda" if _cuda() else "cpu")
    renderer = PipelineRenderer(spec.pipelines, device, spec.size, spec.max_steps)
    return renderer, load_scorers_from_folders(spec.scorers, device=device)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run_jobs_with_spec(
    jobs: list[dict[str, Any]], spec: dict[str, Any], k: int, base_seed: int = 0
) -> list[str]:
    """Top-level (picklable) entry for a process pool worker: build the models, run the jobs."""
    from diffagent.rrhf.rollout import BatchJob, run_jobs_in_process

    parsed = [BatchJob(**job) for job in jobs]
    return [
        str(p) for p in run_jobs_in_process(parsed, lambda: build_rollout_models(spec), k, base_seed, False)
    ]
