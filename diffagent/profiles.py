"""Profiles at the edge: which weights `--profile default|tiny` renders and scores with.

Renderers and scorers take folders and stores; only this module knows that `tiny` means the tiny
random-weight models (`diffagent.tiny`, written on first use), so `render/` and `score/` never
import `tiny/` (tiny writes models, it does not pick them).

- `load_renderer(profile="default", device=None, catalog=None, artifact_root=None, settings=None,
  store_dir=None) -> Renderer`: `tiny` renders with the tiny pipelines as every architecture's
  config and base model, through `TinyModelStore` (downloads what a local Civitai server serves,
  synthesizes the rest), at 64px and at most 2 steps unless `settings` say otherwise; `default`
  uses `CivitaiModelStore` over `catalog` (a DABench dir, catalog.parquet, or CatalogEntry list).
- `load_scorers(profile="default", settings=None) -> ScorerSet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from diffagent.render import Renderer, RenderSettings, tiny_render_settings
from diffagent.score.scorers import ScorerSet, load_default_scorers, load_tiny_scorers
from diffagent.score.settings import ScorerSettings
from schemas.architectures import BASE_MODELS, architecture_of, config_setting

PROFILES = ("default", "tiny")


def _check(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")


def tiny_settings(tiny_dir: Path, settings: RenderSettings | None = None) -> RenderSettings:
    """`settings` (default: the tiny caps) with the tiny pipeline folders as every architecture's
    config, which single-file checkpoints load with and base models fall back to."""
    from diffagent.tiny.files import PIPELINE_FOLDERS

    folders = {
        config_setting(name): str(tiny_dir / PIPELINE_FOLDERS[architecture_of(name)]) for name in BASE_MODELS
    }
    return (settings or tiny_render_settings()).model_copy(update=folders)


def _entries(catalog) -> Sequence:
    from diffagent.store.catalog import load_catalog

    if catalog is None:
        return []
    return catalog if isinstance(catalog, (list, tuple)) else load_catalog(str(catalog))


def load_renderer(
    profile: str = "default",
    device: str | None = None,
    catalog=None,
    artifact_root: str | None = None,
    settings: RenderSettings | None = None,
    store_dir: Path | None = None,
) -> Renderer:
    """A Renderer for a profile; `catalog`: DABench dir, catalog.parquet path, or CatalogEntry list."""
    _check(profile)
    entries = _entries(catalog)
    if profile == "tiny":
        from diffagent.store.tiny_store import TinyModelStore
        from diffagent.tiny import ensure_tiny_models

        tiny_dir = ensure_tiny_models()
        settings = tiny_settings(tiny_dir, settings)
        store = TinyModelStore(tiny_dir, store_dir, catalog=entries)
    else:
        from diffagent.store.civitai_store import CivitaiModelStore

        settings = settings or RenderSettings()
        store = CivitaiModelStore(entries, cache_dir=store_dir, base_sources=settings.base_sources())
    if device:
        settings = settings.model_copy(update={"render_device": device})
    return Renderer(store, settings, artifact_root)


def load_scorers(profile: str = "default", settings: ScorerSettings | None = None) -> ScorerSet:
    """`tiny`: the tiny models (made on first use); `default`: real weights from `ScorerSettings`."""
    _check(profile)
    settings = settings or ScorerSettings()
    if profile == "tiny":
        from diffagent.tiny import ensure_tiny_models

        return load_tiny_scorers(ensure_tiny_models(), settings.scorer_device)
    return load_default_scorers(settings)
