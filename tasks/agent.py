"""Prefect tasks for the agent: thin wrappers over plain functions in `diffagent.agent`."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from diffagent.agent.sft import SFTParams, train_sft


@task(name="sft-train")  # no retries: a failed training run needs a person, not a loop
def sft_train(
    data: str,
    base_model: str,
    out: str,
    full: bool = False,
    max_steps: int = -1,
    epochs: float = 3.0,
    learning_rate: float = 2e-4,
    batch_size: int = 8,
) -> str:
    """Stage 1 of the sftA-train flow: SFT on DABench `data`; returns the agent folder."""
    params = SFTParams(max_steps=max_steps, epochs=epochs, learning_rate=learning_rate, batch_size=batch_size)
    return str(train_sft(Path(data), base_model, Path(out), full=full, params=params))
