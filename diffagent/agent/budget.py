"""`WallClockBudget`: a transformers callback that ends training within a wall-time budget, cleanly.

Training stops after the last step that fits: when one more step, at the mean step time so far,
would end past the budget (a step of SmolLM2-135M, batch 8 x 270 tokens, takes about a minute on
two busy cores, so waiting for the budget to be crossed would overrun it by that much). The first
step always runs. The trainer then saves a checkpoint (so `--resume` goes on from there) and
returns, and the caller writes its outputs as after a full run. The clock starts when training
starts (model loading and tokenising are not counted).
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


def budget_seconds(minutes: float) -> float:
    """A budget in minutes as seconds; ValueError naming it unless it is more than 0."""
    if minutes <= 0:
        raise ValueError(f"a training budget must be more than 0 minutes, got {minutes}")
    return minutes * 60


def past_budget(elapsed: float, steps: int, seconds: float) -> bool:
    """Whether one more step, at the mean step time so far, would end past `seconds`.

    Example: 50 s for 5 steps (10 s each) in a 55 s budget: the next ends at 60 s, past it."""
    return elapsed + elapsed / steps > seconds


class WallClockBudget(TrainerCallback):
    def __init__(self, minutes: float) -> None:
        self.seconds = budget_seconds(minutes)
        self.started = time.monotonic()
        self.steps = 0  # steps run in this call of train() (a resumed run starts at 0)
        self.stopped = False  # whether the budget ended training

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.started, self.steps = time.monotonic(), 0
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.steps += 1
        elapsed = time.monotonic() - self.started
        if not control.should_training_stop and past_budget(elapsed, self.steps, self.seconds):
            control.should_training_stop = True
            control.should_save = True
            self.stopped = True
        return control
