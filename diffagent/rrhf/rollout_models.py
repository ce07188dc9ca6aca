"""What a rollout batch loads: the renderer and the three scorers, described by a JSON-able spec so
that a remote worker (a Prefect run on the `cuda` pool) can build them itself.

The renderer is `diffagent.render.load_renderer` over the DABench catalog: each response renders
its own checkpoint (and LoRA on its base), and the default API's base model through the
BASE_MODEL_VERSION_ID path. Its render cache lives under the run folder, so a killed rollout
re-renders nothing it already rendered. Scorers come from `diffagent.score.load_scorers(profile)`,
or from scorer folders when the spec names them (real weights laid out like the tiny ones).
A remote worker must see the catalog path and the render cache (a shared path or an fsspec URL).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diffagent.rrhf.rollout import BatchJob

# What the tiny profile caps (written into the spec, so a remote worker renders the same way).
TINY_RENDER_FIELDS = ("render_size", "render_max_steps", "max_pipelines")


@dataclass
class RolloutModelsSpec:
    profile: str = "default"  # "tiny": tiny pipelines, store and scorers from `diffagent tiny-models`
    device: str | None = None  # None: cuda when available, else cpu
    catalog: str | None = None  # DABench folder or catalog.parquet the responses' versions come from
    artifact_root: str | None = None  # render cache: local path or fsspec URL
    store_dir: str | None = None  # model-file cache (None: the store's default)
    render: dict[str, Any] = field(default_factory=dict)  # RenderSettings fields (sizes, base models, ...)
    scorers: dict[str, str] = field(default_factory=dict)  # metric -> scorer folder; empty: load_scorers

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def render_settings(self):  # -> RenderSettings
        from diffagent.render import RenderSettings

        return RenderSettings(**self.render)

    @classmethod
    def for_profile(
        cls, profile: str, catalog: str, artifact_root: str, device: str | None = None
    ) -> RolloutModelsSpec:
        """The spec a profile uses by default; `tiny` caps size and steps and renders on the CPU."""
        if profile == "tiny":
            from diffagent.render.settings import tiny_render_settings

            defaults = tiny_render_settings()
            render = {name: getattr(defaults, name) for name in TINY_RENDER_FIELDS}
            return cls("tiny", device or "cpu", catalog, artifact_root, render=render)
        if profile != "default":
            raise ValueError(f"unknown profile {profile!r}; expected 'default' or 'tiny'")
        return cls("default", device, catalog, artifact_root)


def build_rollout_models(spec: RolloutModelsSpec | Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(renderer, {metric: scorer}) for a spec (a dataclass or its JSON)."""
    from diffagent.profiles import load_renderer

    if not isinstance(spec, RolloutModelsSpec):
        spec = RolloutModelsSpec(**spec)
    if spec.profile != "tiny" and not spec.catalog:
        raise ValueError(
            f"rollout models spec needs a catalog outside the tiny profile, got {spec.to_json()}"
        )
    renderer = load_renderer(
        spec.profile,
        device=spec.device,
        catalog=spec.catalog,
        artifact_root=spec.artifact_root,
        settings=spec.render_settings(),
        store_dir=spec.store_dir,
    )
    return renderer, load_rollout_scorers(spec)


def load_rollout_scorers(spec: RolloutModelsSpec) -> dict[str, Any]:
    """{metric: scorer}: the spec's scorer folders when given, else the profile's scorers."""
    if spec.scorers:
        from diffagent.rrhf.rollout import load_scorers_from_folders

        return load_scorers_from_folders(spec.scorers, device=spec.device)
    from diffagent.profiles import load_scorers
    from diffagent.score.settings import ScorerSettings

    settings = ScorerSettings(scorer_device=spec.device) if spec.device else None
    return {scorer.name: scorer for scorer in load_scorers(spec.profile, settings).scorers}


@dataclass
class LoadedModels:
    """A built (renderer, scorers) set, shared by the runs one process takes; `lock`: one run
    uses it at a time (a renderer's pipeline cache is not thread-safe)."""

    renderer: Any
    scorers: dict[str, Any]
    lock: threading.Lock = field(default_factory=threading.Lock)


# One model set per process, keyed by its spec: a worker process (a Dask worker, a pool process)
# that takes several rollout runs builds it once. Only the latest spec is kept: two model sets
# of several GB each would not fit one GPU.
_LOADED: dict[str, LoadedModels] = {}
_LOADING = threading.Lock()
MODEL_SET_BUILDS = [0]  # model sets this process built (what the benchmark counts)


def loaded_models(spec: RolloutModelsSpec) -> LoadedModels:
    key = json.dumps(spec.to_json(), sort_keys=True)
    with _LOADING:
        if key not in _LOADED:
            _LOADED.clear()
            renderer, scorers = build_rollout_models(spec)
            _LOADED[key] = LoadedModels(renderer, scorers)
            MODEL_SET_BUILDS[0] += 1
        return _LOADED[key]


def run_jobs_with_spec(
    jobs: list[BatchJob], spec: RolloutModelsSpec, k: int, base_seed: int = 0, progress: bool = False
) -> dict[str, Any]:
    """Top-level (picklable) entry for any worker: run the jobs on this process's model set.
    Returns the parts written and what it loaded: model sets built (0 when the process had it)
    and pipelines loaded."""
    from diffagent.rrhf.rollout import run_jobs_in_process

    builds = MODEL_SET_BUILDS[0]
    models = loaded_models(spec)
    with models.lock:
        pipeline_loads = models.renderer.pipelines.loads
        parts = run_jobs_in_process(jobs, lambda: (models.renderer, models.scorers), k, base_seed, progress)
        pipeline_loads = models.renderer.pipelines.loads - pipeline_loads
    built = MODEL_SET_BUILDS[0] - builds
    return {
        "jobs": len(jobs),
        "parts": parts,
        "model_set_builds": built,
        "scorer_loads": built * len(models.scorers),
        "pipeline_loads": pipeline_loads,
    }


def rollout_spec(
    profile: str, catalog: str, artifact_root: str, overrides: dict[str, Any] | None = None
) -> RolloutModelsSpec:
    """The profile's spec over `catalog` with its render cache at `artifact_root`, updated by
    `overrides` (whose `render` settings are merged into the profile's, keeping its caps)."""
    spec = RolloutModelsSpec.for_profile(profile, catalog, artifact_root).to_json()
    unknown = sorted(set(overrides or {}) - set(spec))
    if unknown:
        raise ValueError(f"unknown rollout_models keys {unknown}; expected some of {sorted(spec)}")
    merged = {**spec, **(overrides or {})}
    merged["render"] = {**spec["render"], **(overrides or {}).get("render", {})}
    return RolloutModelsSpec(**merged)
