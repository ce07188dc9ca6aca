"""What a DABench build reports: its stage counts and its rejects, as markdown tables."""

from __future__ import annotations

from collections import Counter
from typing import Any

from diffagent.storage import ArtifactStore
from schemas.dabench import REJECT_SCHEMA


def stage_table(results: dict[str, dict[str, Any]]) -> str:
    lines = ["| stage | cached | counts |", "|---|---|---|"]
    for stage, result in results.items():
        counts = ", ".join(
            f"{k}={v}" for k, v in sorted(result["counts"].items()) if not k.startswith("reject:")
        )
        lines.append(f"| {stage} | {result.get('cached', False)} | {counts} |")
    return "\n".join(lines)


def rejects_table(out: str) -> str:
    rejects = ArtifactStore(out).read_table("rejects.parquet", REJECT_SCHEMA)
    counts = Counter(
        zip(rejects.column("stage").to_pylist(), rejects.column("reason").to_pylist(), strict=True)
    )
    lines = ["| stage | reason | rows |", "|---|---|---|"]
    lines += [f"| {stage} | {reason} | {n} |" for (stage, reason), n in sorted(counts.items())]
    return "\n".join(lines)


def load_secret_block(block_name: str | None) -> None:
    """Put a Prefect Secret block's value where settings read the Civitai key, for this process
    only (never a parameter, so it stays out of Prefect's record of the run)."""
    import os

    if not block_name or os.environ.get("CIVITAI_API_KEY"):
        return
    from prefect.blocks.system import Secret

    os.environ["CIVITAI_API_KEY"] = Secret.load(block_name).get()
