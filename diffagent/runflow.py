"""Run a project flow by name, the way a deployment does: from its entrypoint.

The CLI runs flows through here, so `diffagent` never imports `flows/` (which imports `tasks/`,
which import `diffagent`): the entrypoints below are the same strings `prefect.yaml` deploys.
Each flow takes one parameter, `config`, whose model is named here too (`CONFIGS`).
"""

from __future__ import annotations

from typing import Any

ENTRYPOINTS = {
    "dabench-build": "flows.dabench_build:dabench_build",
    "sftA-train": "flows.sfta_train:sfta_train",
    "evaluate": "flows.evaluate:evaluate",
}
CONFIGS = {
    "dabench-build": "diffagent.config.dabench:DabenchBuildConfig",
    "sftA-train": "diffagent.config.sfta:SftaTrainConfig",
    "evaluate": "diffagent.config.evaluate:EvaluateConfig",
}


def config_model(name: str) -> Any:
    """The config class of the flow `name`."""
    import importlib

    if name not in CONFIGS:
        raise ValueError(f"unknown flow {name!r}; expected one of {sorted(CONFIGS)}")
    module, attribute = CONFIGS[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def run_flow(name: str, config: Any = None, **values: Any) -> Any:
    """Run the flow `name` in this process (a temporary Prefect server when none is configured),
    with `config` (its config model), or one validated from `values` (its fields)."""
    from prefect.flows import load_flow_from_entrypoint

    model = config_model(name)
    if config is None:
        config = model.model_validate(values)
    elif values:
        raise ValueError("give run_flow a config or its fields, not both")
    return load_flow_from_entrypoint(ENTRYPOINTS[name])(config=config)
