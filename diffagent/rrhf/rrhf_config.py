"""Settings of the RRHF trainer, in trl's shape: a dataclass over transformers' TrainingArguments."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments


@dataclass
class RRHFConfig(TrainingArguments):
    """RRHF training arguments. Defaults follow the public RRHF recipe (notes/method.md): lr 2e-5,
    3 epochs, cosine schedule, 3 % warm-up, one prompt (with all its responses) per device step."""

    learning_rate: float = field(default=2e-5, metadata={"help": "Peak learning rate (AdamW)."})
    num_train_epochs: float = field(default=3.0, metadata={"help": "Passes over the RRHF prompts."})
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
    max_length: int = field(
        default=512, metadata={"help": "Longest prompt + response in tokens; longer responses are cut."}
    )
    max_prompt_length: int = field(
        default=384, metadata={"help": "Longest prompt in tokens; longer prompts keep their last tokens."}
    )
    rank_weight: float = field(default=1.0, metadata={"help": "Weight of L_rank (paper Eq. 8) in Eq. 10."})
    ce_weight: float = field(default=1.0, metadata={"help": "Weight of L_ce (paper Eq. 9) in Eq. 10."})
    ce_length_normalised: bool = field(
        default=False,
        metadata={
            "help": "Average L_ce over the best response's tokens (public RRHF code) instead of summing "
            "(paper Eq. 9)."
        },
    )
    batched_forward: bool = field(
        default=True,
        metadata={
            "help": "Score all n responses of a prompt in one padded forward (False: one forward per "
            "response; same loss, kept for the benchmark)."
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.remove_unused_columns:
            raise ValueError("RRHFConfig.remove_unused_columns must be False (the collator needs rewards)")
        if self.max_prompt_length >= self.max_length:
            raise ValueError(
                f"max_prompt_length={self.max_prompt_length} must be below max_length={self.max_length}"
            )
