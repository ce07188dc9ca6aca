"""Run a project flow by name, the way a deployment does: from its entrypoint.

The CLI runs flows through here, so `diffagent` never imports `flows/` (which imports `tasks/`,
which import `diffagent`): the entrypoints below are the same strings `prefect.yaml` deploys.
"""

from __future__ import annotations

from typing import Any

ENTRYPOINTS = {
    "dabench-build": "flows.dabench_build:dabench_build",
    "sftA-train": "flows.sfta_train:sfta_train",
    "evaluate": "flows.evaluate:evaluate",
}


def run_flow(name: str, **parameters: Any) -> Any:
    """Run the flow `name` in this process (a temporary Prefect server when none is configured)."""
    from prefect.flows import load_flow_from_entrypoint

    if name not in ENTRYPOINTS:
        raise ValueError(f"unknown flow {name!r}; expected one of {sorted(ENTRYPOINTS)}")
    return load_flow_from_entrypoint(ENTRYPOINTS[name])(**parameters)
