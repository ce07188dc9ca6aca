"""Model-file stores: a catalog version id -> weights on local disk, ready for the renderer.

- `CivitaiModelStore(catalog, cache_dir=None, api_key=None, civitai_url=None)`: downloads with the key
  as a Bearer header, follows the redirect to the signed URL, resumes partial files (Range), checks
  SHA256 against the catalog, keeps files under cache_dir/sha256/<aa>/<sha>.safetensors, refuses
  pickle files (`PickleRefused`) and wrong hashes (`HashMismatch`).
- `TinyModelStore(tiny_dir, cache_dir=None)`: `--profile tiny`; each version id gets its own
  deterministic tiny checkpoint or LoRA, so different models render differently offline.
- Both have `resolve(version_id, kind, base_model) -> ResolvedModel` (version_id, kind, base_model,
  path, sha256, pretrained). Version `schemas.t2i.BASE_MODEL_VERSION_ID` (0) is the architecture's
  base model, not a Civitai file: the tiny store gives the unperturbed tiny pipeline, the Civitai
  store its `base_sources[base_model]` (a diffusers folder or hub id, `pretrained` set).
- `load_catalog(path) -> list[CatalogEntry]` reads a DABench directory or catalog.parquet.
"""

from diffagent.store.base import ModelStore, PickleRefused, ResolvedModel, is_base_model, refuse_pickle
from diffagent.store.catalog import load_catalog

__all__ = ["ModelStore", "PickleRefused", "ResolvedModel", "is_base_model", "load_catalog", "refuse_pickle"]
