"""The `sfta-stage` flow: one GPU stage of sftA-train (retriever, sft, candidates or rrhf), run
by a worker of a work pool (`cuda`).

`sftA-train` given a work pool submits one run of this flow per such stage, one at a time, and
waits (`diffagent.rrhf.pipeline.run_stage_on`); the deployment `sfta-stage/sfta-stage-<pool>`
must exist (prefect.yaml) and the run folder must be reachable from the worker (a shared path or
an fsspec URL). The stage runs through the stage cache here as it would in the parent, so it
writes the same outputs and record. Parameters arrive as JSON and are typed here, at the edge.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from diffagent.rrhf.pipeline import stage_from_json
from diffagent.stagecache import run_stage
from tasks.sfta import POOL_STAGE_TASKS


@flow(name="sfta-stage", log_prints=True)
def sfta_stage(stage: str, fields: dict[str, Any], refresh_cache: bool = False) -> dict[str, Any]:
    """Run the stage named `stage` (its `pipeline.stage_to_json` fields); returns its record."""
    typed = stage_from_json(stage, fields)
    return run_stage(POOL_STAGE_TASKS[stage], typed, refresh_cache)
