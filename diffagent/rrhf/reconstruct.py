"""Availability filter and response reconstruction (paper section 3.2.2).

From the raw texts the SFT agent produced for one prompt, keep the *model information* of every
candidate that names a catalog entry, rebuild the full T2I API from the catalog with the
candidate's own parameters, repaired when invalid (`diffagent.answers.reconstruct`: the same
classification, parameter repair and LoRA-base policy the agent and the evaluation use), add the
default API (the architecture's base model with "Euler a", 20 steps, CFG 7) and drop duplicates.

The default base model of each architecture is a setting (`base_models`): a catalog Checkpoint's
`model` string, or a hub id / local path. A base that is not a catalog entry gets model_id = 0 and
version_id = 0, which means "not a Civitai model: load `model` as a diffusers checkpoint". Such a
default is ranked with the others but is never the CE target (`ce_targets`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from diffagent.answers import (
    ANSWER_KEYS,
    PARAMETER_KEYS,
    HallucinationReason,
    classify_answer,
    default_api,
    parse_answer,
    reconstruct,
)
from diffagent.catalog import Catalog
from schemas.t2i import T2IApi

__all__ = ["ReconstructionStats", "api_key", "ce_targets", "default_api", "reconstruct_candidates"]


@dataclass
class ReconstructionStats:
    """Counts over the raw candidates of one or more prompts (summable with `+`).

    `per_reason` counts hallucinated candidates by `HallucinationReason`; their share is the SFT
    hallucination rate, the same metric as the evaluation's Table 1.
    """

    candidates: int = 0
    kept: int = 0  # rebuilt into an API (before de-duplication)
    duplicates: int = 0
    params_clamped: int = 0  # numeric parameters moved into their valid range
    params_defaulted: int = 0  # missing or unusable parameters replaced by the model's usual value
    base_checkpoint_defaulted: int = 0  # a LoRA's base that is not a catalog Checkpoint of its architecture
    per_reason: dict[str, int] = field(default_factory=dict)

    @property
    def unparseable(self) -> int:
        return self.per_reason.get(HallucinationReason.UNPARSEABLE.value, 0)

    @property
    def unknown_model(self) -> int:
        return self.per_reason.get(HallucinationReason.UNKNOWN_MODEL.value, 0)

    @property
    def hallucinated(self) -> int:
        """Candidates that cannot be rendered from the catalog, whatever the reason."""
        return sum(self.per_reason.values())

    @property
    def hallucination_rate(self) -> float:
        return self.hallucinated / self.candidates if self.candidates else 0.0

    def __add__(self, other: ReconstructionStats) -> ReconstructionStats:
        counts = {
            name: getattr(self, name) + getattr(other, name)
            for name in ReconstructionStats.__dataclass_fields__
            if name != "per_reason"
        }
        reasons = Counter(self.per_reason) + Counter(other.per_reason)
        return ReconstructionStats(**counts, per_reason=dict(reasons))

    def as_dict(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in ReconstructionStats.__dataclass_fields__}
        return {
            **data,
            "unparseable": self.unparseable,
            "unknown_model": self.unknown_model,
            "hallucinated": self.hallucinated,
            "hallucination_rate": self.hallucination_rate,
        }


def api_key(api: T2IApi) -> tuple:
    """What makes two responses the same render: model, base and parameters (not the description)."""
    return (api.model, api.base_checkpoint, *(getattr(api, key) for key in PARAMETER_KEYS))


def reconstruct_candidates(
    texts: Iterable[str],
    catalog: Catalog,
    architecture: str,
    base_models: Mapping[str, str] | None = None,
) -> tuple[list[T2IApi], ReconstructionStats]:
    """The n responses of one prompt: rebuilt catalog candidates (first-seen order) + the default API
    of `architecture` (the prompt's), without duplicates; and the counts.

    The SFT agent chooses from the whole catalog, so a candidate of another architecture is kept
    (it renders on its own base); only the default API follows the prompt's architecture.
    """
    stats = ReconstructionStats()
    responses: list[T2IApi] = []
    seen: set[tuple] = set()
    for text in texts:
        stats.candidates += 1
        rebuilt = reconstruct(parse_answer(text), catalog)
        if rebuilt.api is None:
            reason = rebuilt.reason.value if rebuilt.reason else ""
            stats.per_reason[reason] = stats.per_reason.get(reason, 0) + 1
            continue
        stats.kept += 1
        stats.params_clamped += rebuilt.clamped
        stats.params_defaulted += rebuilt.defaulted
        stats.base_checkpoint_defaulted += rebuilt.base_replaced
        if api_key(rebuilt.api) in seen:
            stats.duplicates += 1
            continue
        seen.add(api_key(rebuilt.api))
        responses.append(rebuilt.api)
    default = default_api(architecture, catalog, base_models)
    if api_key(default) not in seen:
        responses.append(default)
    return responses, stats


def ce_targets(apis: Sequence[T2IApi], catalog: Catalog) -> list[bool]:
    """Which responses the CE term (paper Eq. 9, on the best-rewarded response) may train on: the
    answers `classify_answer` accepts, i.e. catalog models.

    The default API of a base model outside the catalog (a hub id or a folder) stays among the
    ranked responses: the ranking term (Eq. 8) still pushes every candidate rewarded below the
    plain base model under it, which is what the paper adds the default API for. But it is never
    the CE target: our agent answers with catalog models only (the decoding trie cannot write
    anything else), so imitating it would train the agent to say what the evaluation counts as an
    unknown model (Table 1's hallucination). A default that is a catalog Checkpoint is a target.
    """
    return [classify_answer({key: getattr(api, key) for key in ANSWER_KEYS}, catalog) is None for api in apis]
