"""The answer grammar: every value the agent may write, in one definition both decoders derive from.

An answer names a catalog model and its parameters (`ANSWER_KEYS`, in that order):
  model           -> the catalog's selectable models, or the selectable part of a row's shortlist
  type/base_model -> the chosen model's catalog facts
  base_checkpoint -> null for a Checkpoint; for a LoRA, the Checkpoints it can load on
                     (`schemas.compatibility.lora_bases`: a LoRA of another family is never allowed)
  width/height    -> SIZES, sampling_method -> SAMPLERS, sampling_steps -> STEPS, cfg_scale -> CFGS
The value lists come from the schema's bounds (`answers.validity.NUMERIC_BOUNDS`); CFG is on a grid
of tenths, what the answer format writes and the SFT data holds.

The transformers backend walks these values as token tries (`constrained.AnswerConstraint`); the
vLLM backend gets them as a JSON schema (`AnswerGrammar.json_schema`), one branch per (type, base
model) so that a LoRA's base is tied to its architecture there too. Both accept the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from diffagent.answers.validity import ANSWER_KEYS, NUMERIC_BOUNDS, SAMPLERS

CFG_STEP = 0.1
SIZES: tuple[int, ...] = tuple(NUMERIC_BOUNDS["width"].values())
STEPS: tuple[int, ...] = tuple(NUMERIC_BOUNDS["sampling_steps"].values())
CFGS: tuple[float, ...] = tuple(NUMERIC_BOUNDS["cfg_scale"].values(step=CFG_STEP))
# The allowed values of each parameter of the answer, by key.
PARAMETER_VALUES: dict[str, tuple[Any, ...]] = {
    "width": SIZES,
    "height": SIZES,
    "sampling_method": tuple(SAMPLERS),
    "sampling_steps": STEPS,
    "cfg_scale": CFGS,
}
MODEL_KEYS = ANSWER_KEYS[: ANSWER_KEYS.index("width")]  # model, type, base_model, base_checkpoint
if MODEL_KEYS + tuple(PARAMETER_VALUES) != ANSWER_KEYS:  # a new answer key needs its values here
    raise ImportError(f"the answer grammar covers {MODEL_KEYS + tuple(PARAMETER_VALUES)}, not {ANSWER_KEYS}")


class AnswerGrammar:
    """The allowed answers for a catalog (`diffagent.catalog.Catalog`), optionally narrowed to a
    shortlist of models (the hybrid selector's rows); models outside the catalog's selectable ones
    (a LoRA with no Checkpoint it can load on: `Catalog.unselectable`) are never allowed."""

    def __init__(self, catalog: Any, shortlist: Sequence[str] | None = None) -> None:
        self.catalog = catalog
        selectable = list(catalog.selectable)
        if shortlist is not None:
            allowed = set(selectable)
            selectable = [model for model in shortlist if model in allowed]
        self.models: tuple[str, ...] = tuple(selectable)

    def narrowed(self, shortlist: Sequence[str]) -> AnswerGrammar:
        return AnswerGrammar(self.catalog, shortlist)

    def facts(self, model: str) -> tuple[str, str]:
        """(type, base_model) the answer must carry for `model`: the catalog's."""
        entry = self.catalog.by_model[model]
        return entry["type"], entry["base_model"]

    def base_checkpoints(self, model: str) -> tuple[str | None, ...]:
        """The allowed `base_checkpoint` values: (None,) for a Checkpoint; for a LoRA the catalog's
        Checkpoints it can load on, best first (`Catalog.base_checkpoints_for`, which reads
        `schemas.compatibility.lora_bases`)."""
        if self.facts(model)[0] != "LORA":
            return (None,)
        return tuple(self.catalog.base_checkpoints_for(model))

    def json_schema(self) -> dict[str, Any]:
        """The grammar as a JSON schema (vLLM structured outputs): one object branch per group of
        models sharing type, base model and allowed bases, properties in `ANSWER_KEYS` order."""
        if not self.models:
            raise ValueError("the answer grammar has no selectable model (empty catalog or shortlist)")
        groups: dict[tuple, list[str]] = {}
        for model in self.models:
            groups.setdefault((*self.facts(model), self.base_checkpoints(model)), []).append(model)
        parameters = {key: {"enum": list(values)} for key, values in PARAMETER_VALUES.items()}
        branches = [
            {
                "type": "object",
                "properties": {
                    "model": {"enum": models},
                    "type": {"const": kind},
                    "base_model": {"const": base_model},
                    "base_checkpoint": {"enum": list(bases)},
                    **parameters,
                },
                "required": list(ANSWER_KEYS),
                "additionalProperties": False,
            }
            for (kind, base_model, bases), models in groups.items()
        ]
        return branches[0] if len(branches) == 1 else {"anyOf": branches}
