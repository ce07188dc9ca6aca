"""A LoRA answer's strength and trigger words: one rule for every selector, and its validity.

Given values (the retriever's nearest samples of that LoRA, or an answer's own fields) are kept
when valid; then the LoRA's usual use in the catalog (its samples' median weight, the trained
words its samples used); then 1.0, and every trained word when the LoRA has few of them (else
its first), since many Civitai LoRAs do nothing without their trigger word.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from diffagent.dabench.lora_usage import trigger_word_parts
from schemas.t2i import LORA_WEIGHT_RANGE

DEFAULT_LORA_WEIGHT = 1.0
FEW_TRIGGER_WORDS = 3  # a LoRA with at most this many trained words gets them all when unsure


def valid_weight(value: Any) -> float | None:
    """`value` as a strength in LORA_WEIGHT_RANGE, else None."""
    try:
        weight = float(value)
    except (TypeError, ValueError):
        return None
    low, high = LORA_WEIGHT_RANGE
    return round(weight, 2) if low <= weight <= high else None


def known_words(words: Any, trained_words: Sequence[str]) -> list[str]:
    """The given words that are the LoRA's own trained words (as the table spells them)."""
    if not isinstance(words, list | tuple):
        return []
    spelled = {w.casefold(): w for w in trigger_word_parts(trained_words)}
    found = [spelled[str(w).casefold()] for w in words if str(w).casefold() in spelled]
    return list(dict.fromkeys(found))


def lora_usage(
    entry: Any, usual: Any, given: Mapping[str, Any] | None = None
) -> dict[str, float | list[str] | None]:
    """{"lora_weight", "trigger_words"} for the catalog entry (None / [] for a Checkpoint).
    `usual`: the catalog's SampleSettings of the model (or None); `given`: values to prefer."""
    if entry.type != "LORA":
        return {"lora_weight": None, "trigger_words": []}
    given = given or {}
    weight = valid_weight(given.get("lora_weight"))
    if weight is None:
        weight = valid_weight(getattr(usual, "lora_weight", None))
    words = known_words(given.get("trigger_words"), entry.trained_words)
    if not words:
        words = known_words(list(getattr(usual, "trigger_words", ()) or ()), entry.trained_words)
    if not words:
        parts = trigger_word_parts(entry.trained_words)
        words = parts if len(parts) <= FEW_TRIGGER_WORDS else parts[:1]
    return {"lora_weight": DEFAULT_LORA_WEIGHT if weight is None else weight, "trigger_words": words}


def usual_lora_use(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A LoRA's usual use over its sample rows: the median weight (None when no sample says) and
    the trained words they used, most used first (the catalog's SampleSettings keep both)."""
    weights = [float(r["lora_weight"]) for r in rows if r.get("lora_weight") is not None]
    words = Counter(w for r in rows for w in (r.get("trigger_words") or ()))
    return {
        "lora_weight": statistics.median(weights) if weights else None,
        "trigger_words": tuple(w for w, _ in words.most_common()),
    }


def with_trigger_words(prompt: str, words: Sequence[str]) -> str:
    """The prompt, then each trigger word it does not already contain (case-insensitive),
    comma-separated: what `render` renders and every export writes."""
    missing = [w for w in words if w.strip() and w.casefold() not in prompt.casefold()]
    return ", ".join([prompt, *missing]) if missing else prompt
