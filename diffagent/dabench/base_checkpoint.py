"""A LoRA image's base checkpoint, from its `Model hash` and the by-hash answers.

Split from `derive` (which imports it): the look-up, its checks and its per-hash memo.
"""

from __future__ import annotations

from typing import Any

from schemas.civitai import Model, ModelVersion
from schemas.t2i import BASE_MODELS, architecture_of


class _Reject(Exception):
    def __init__(self, stage: str, reason: str, detail: Any = "") -> None:
        self.stage, self.reason, self.detail = stage, reason, str(detail)[:200]


def resolve_base_checkpoint(
    lora_version: ModelVersion,
    model_hash: str | None,
    hash_answers: dict[str, dict[str, Any] | None],
) -> tuple[Model, ModelVersion]:
    """The checkpoint a LoRA image was made with, from its `Model hash`; raises _Reject."""
    if not model_hash or not model_hash.strip():
        raise _Reject("base_checkpoint", "missing_model_hash")
    key = model_hash.strip().upper()
    answer = hash_answers.get(key)
    if answer is None:
        raise _Reject("base_checkpoint", "unresolved_model_hash", key)
    version = ModelVersion.model_validate(answer)
    info = version.model or {}
    if info.get("type") != "Checkpoint":
        raise _Reject("base_checkpoint", "base_not_checkpoint", info.get("type"))
    # A Pony LoRA on an SDXL or Illustrious checkpoint is how Civitai images are made: only the
    # architecture has to match. A base model we do not know cannot be checked, so it is dropped.
    if _architecture(version.base_model) != _architecture(lora_version.base_model):
        raise _Reject(
            "base_checkpoint", "base_model_mismatch", f"{version.base_model} != {lora_version.base_model}"
        )
    if info.get("nsfw"):
        raise _Reject("base_checkpoint", "nsfw_base_checkpoint", version.id)
    if version.primary_safetensors() is None:
        raise _Reject("base_checkpoint", "base_no_safetensors", version.id)
    model = Model.model_validate(
        {
            "id": version.model_id or 0,
            "name": info.get("name") or "",
            "type": "Checkpoint",
            "nsfw": False,
            "modelVersions": [],
        }
    )
    return model, version


def _architecture(base_model: str | None) -> str | None:
    return architecture_of(base_model) if base_model in BASE_MODELS else None


class BaseCheckpointResolver:
    """`resolve_base_checkpoint` memoised per (base model, hash): a LoRA's images name a handful
    of checkpoints many times over, and parsing the same answer again is most of the cost."""

    def __init__(self, hash_answers: dict[str, dict[str, Any] | None]) -> None:
        self.hash_answers = hash_answers
        self._memo: dict[tuple[str | None, str], tuple[Model, ModelVersion] | _Reject] = {}

    def __call__(self, lora_version: ModelVersion, model_hash: str | None) -> tuple[Model, ModelVersion]:
        key = (lora_version.base_model, (model_hash or "").strip().upper())
        if key not in self._memo:
            try:
                self._memo[key] = resolve_base_checkpoint(lora_version, model_hash, self.hash_answers)
            except _Reject as error:
                self._memo[key] = error
        result = self._memo[key]
        if isinstance(result, _Reject):
            raise result
        return result
