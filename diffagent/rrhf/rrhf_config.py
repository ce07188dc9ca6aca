"""Settings of the RRHF trainer, in trl's shape: a dataclass over transformers' TrainingArguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from diffagent.config.parts import field_help
from diffagent.rrhf.train import RRHFParams


def _from_params(name: str):
    """A field whose default and help are `RRHFParams`'s (the settings the flow and CLI set)."""
    return field(default=getattr(RRHFParams, name), metadata={"help": field_help(RRHFParams, name)})


@dataclass
class RRHFConfig(TrainingArguments):
    """RRHF training arguments. Defaults follow the public RRHF recipe (notes/method.md): lr 2e-5,
    3 epochs, cosine schedule, 3 % warm-up, one prompt (with all its responses) per device step."""

    learning_rate: float = _from_params("learning_rate")
    num_train_epochs: float = field(
        default=RRHFParams.epochs, metadata={"help": "Passes over the RRHF prompts."}
    )
    lr_scheduler_type: str = field(default="cosine", metadata={"help": "Learning-rate schedule."})
    warmup_steps: float = field(
        default=0.03, metadata={"help": "Warm-up: steps, or a fraction in [0, 1) of all steps."}
    )
    per_device_train_batch_size: int = field(
        default=1, metadata={"help": "Prompts per device step; each brings all of its n responses."}
    )
    logging_steps: float = field(default=1, metadata={"help": "Log the loss every this many steps."})
    report_to: str | list[str] | None = field(
        default="none", metadata={"help": "Experiment trackers to report to ('none' for none)."}
    )
    remove_unused_columns: bool = field(
        default=False,
        metadata={"help": "Must stay False: the RRHF collator needs the rewards and group sizes."},
    )
    max_length: int = _from_params("max_length")
    max_prompt_length: int = _from_params("max_prompt_length")
    rank_weight: float = _from_params("rank_weight")
    ce_weight: float = _from_params("ce_weight")
    ce_length_normalised: bool = _from_params("ce_length_normalised")
    batched_forward: bool = _from_params("batched_forward")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.remove_unused_columns:
            raise ValueError("RRHFConfig.remove_unused_columns must be False (the collator needs rewards)")
        if self.max_prompt_length >= self.max_length:
            raise ValueError(
                f"max_prompt_length={self.max_prompt_length} must be below max_length={self.max_length}"
            )
