"""`WallClockBudget`: a transformers callback that ends training at a wall-time budget, cleanly.

The step that crosses the budget is the last; the trainer then saves a checkpoint (so `--resume`
goes on from there) and returns, and the caller writes its outputs as after a full run.
The clock starts when training starts (model loading and tokenising are not counted).
"""

from __future__ import annotations

import time
from typing import Any

from transformers import TrainerCallback


class WallClockBudget(TrainerCallback):
    def __init__(self, minutes: float) -> None:
        if minutes <= 0:
            raise ValueError(f"a training budget must be more than 0 minutes, got {minutes}")
        self.seconds = minutes * 60
        self.started = time.monotonic()
        self.stopped = False  # whether the budget ended training

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.started = time.monotonic()
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if not control.should_training_stop and time.monotonic() - self.started >= self.seconds:
            control.should_training_stop = True
            control.should_save = True
            self.stopped = True
        return control
