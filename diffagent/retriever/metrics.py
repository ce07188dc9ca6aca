"""Selection metrics: did the selector name the model that made the image, and with its settings?

Used by the retrieval benchmark and by evaluation. An answer is a T2I API (or None); a truth row is
a DABench instruction row (model, width, height, sampling_method, sampling_steps, cfg_scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

STEPS_TOLERANCE = 5
CFG_TOLERANCE = 1.0
AGREEMENT_KEYS = ("sampler", "steps", "cfg", "size")
# The answer fields each agreement key reads (the same names in a DABench truth row).
AGREEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "sampler": ("sampling_method",),
    "steps": ("sampling_steps",),
    "cfg": ("cfg_scale",),
    "size": ("width", "height"),
}


def parameter_agreement(api: Any, truth: dict) -> dict[str, bool]:
    """Same sampler, steps within 5, CFG within 1, same size.

    Example: api (Euler a, 25 steps, CFG 7.5, 512x768) vs truth (Euler a, 20, 8.6, 512x512):
    sampler True, steps True (5), cfg False (1.1), size False.
    """
    if api is None:
        return dict.fromkeys(AGREEMENT_KEYS, False)
    return {
        "sampler": api.sampling_method == truth["sampling_method"],
        "steps": abs(int(api.sampling_steps) - int(truth["sampling_steps"])) <= STEPS_TOLERANCE,
        "cfg": abs(float(api.cfg_scale) - float(truth["cfg_scale"])) <= CFG_TOLERANCE + 1e-9,
        "size": (int(api.width), int(api.height)) == (int(truth["width"]), int(truth["height"])),
    }


def selection_summary(answers: Sequence[Sequence[Any]], truths: Sequence[dict], k: int = 5) -> dict:
    """top-1 / top-k hit of the true model and top-1 parameter agreement, as shares of rows.

    `answers[i]` is the ranked list of APIs for row i (best first).
    """
    if len(answers) != len(truths) or not truths:
        raise ValueError(f"{len(answers)} answers for {len(truths)} rows")
    totals = dict.fromkeys(("top1", f"top{k}", *AGREEMENT_KEYS), 0)
    for ranked, truth in zip(answers, truths, strict=True):
        names = [a.model if a is not None else None for a in ranked[:k]]
        totals["top1"] += bool(names) and names[0] == truth["model"]
        totals[f"top{k}"] += truth["model"] in names
        for key, agreed in parameter_agreement(ranked[0] if ranked else None, truth).items():
            totals[key] += agreed
    return {key: value / len(truths) for key, value in totals.items()}


def ranked_hits(names: Sequence[str | None], model: str, k: int = 5) -> dict[str, bool]:
    """Whether the true `model` is the first of the ranked `names`, and among the first k.

    Example: names [a, b, c], model c, k 2: top1 False, top2 False; k 3: top3 True.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    return {"top1": bool(names) and names[0] == model, f"top{k}": model in list(names[:k])}


def _readable(field: str, value: Any) -> bool:
    if field == "sampling_method":
        return isinstance(value, str)
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def stated_agreement(fields: Mapping[str, Any] | None, truth: dict) -> dict[str, bool]:
    """`parameter_agreement` of an answer given as its fields (parsed JSON, which may lack a value or
    state one unreadably): such a parameter disagrees, the others are judged as stated.

    Example: {sampler "Euler a", steps "many", cfg 7, width 512} vs truth (Euler a, 20, 7.5,
    512x512): sampler True, steps False (unreadable), cfg True (0.5 apart), size False (no height).
    """
    if not fields:
        return parameter_agreement(None, truth)
    names = [name for group in AGREEMENT_FIELDS.values() for name in group]
    readable = {name: _readable(name, fields.get(name)) for name in names}
    # An unreadable value is replaced by the truth's only so that the rules can run; it is then
    # marked as disagreeing below.
    stated = SimpleNamespace(**{name: fields[name] if readable[name] else truth[name] for name in names})
    agreed = parameter_agreement(stated, truth)
    return {key: agreed[key] and all(readable[n] for n in AGREEMENT_FIELDS[key]) for key in AGREEMENT_KEYS}
