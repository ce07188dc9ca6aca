"""What counts as a hallucinated answer: one enum and one classifier for every report.

RRHF's candidate statistics (the SFT hallucination rate sftA-train logs), the agent's
`hallucination_rate` and the evaluation's Table 1 all call `classify_answer`, so they measure the
same thing: an answer is hallucinated when it cannot be rendered from the catalog the agent
chooses from. A LoRA whose named base is unusable is not hallucinated: `repair_base` fixes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from diffagent.answers.repair import repair_base
from diffagent.answers.validity import same_architecture

if TYPE_CHECKING:
    from diffagent.catalog import Catalog


class HallucinationReason(StrEnum):
    UNPARSEABLE = "unparseable"  # no JSON object, or no model string in it
    UNKNOWN_MODEL = "unknown_model"  # names a model that is not in the catalog (the paper's error)
    # The paper's agents were per architecture: a model of another one is outside that agent's catalog.
    WRONG_ARCHITECTURE = "wrong_architecture"
    NO_BASE_CHECKPOINT = "no_base_checkpoint"  # a LoRA whose architecture has no catalog Checkpoint


def classify_answer(
    fields: Mapping[str, Any] | None, catalog: Catalog, architecture: str | None = None
) -> HallucinationReason | None:
    """None when the answer names a catalog model that can be rendered (on `architecture`, when
    given: the evaluation's per-architecture agents); else why not."""
    model = fields.get("model") if fields else None
    if not isinstance(model, str) or not model:
        return HallucinationReason.UNPARSEABLE
    if model not in catalog:
        return HallucinationReason.UNKNOWN_MODEL
    entry = catalog[model]
    if architecture is not None and not same_architecture(entry.base_model, architecture):
        return HallucinationReason.WRONG_ARCHITECTURE
    if entry.type == "LORA" and repair_base(catalog, model, fields.get("base_checkpoint"))[0] is None:
        return HallucinationReason.NO_BASE_CHECKPOINT
    return None


def hallucination_rate(
    answers: Iterable[Mapping[str, Any] | None], catalog: Catalog, architecture: str | None = None
) -> float:
    """Share of answers (parsed fields, None when unreadable) that `classify_answer` rejects."""
    reasons = [classify_answer(fields, catalog, architecture) for fields in answers]
    if not reasons:
        raise ValueError("hallucination_rate needs at least one answer")
    return sum(reason is not None for reason in reasons) / len(reasons)
