"""Selection metrics: did the selector name the model that made the image, and with its settings?

Used by the retrieval benchmark and by evaluation. An answer is a T2I API (or None); a truth row is
a DABench instruction row (model, width, height, sampling_method, sampling_steps, cfg_scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STEPS_TOLERANCE = 5
CFG_TOLERANCE = 1.0
AGREEMENT_KEYS = ("sampler", "steps", "cfg", "size")


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
