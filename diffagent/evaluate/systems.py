"""The compared systems, and the T2I API each one renders for a prompt (paper section 4.1).

Per architecture (SD 1.5, SDXL 1.0, Flux.1 D):
- Baseline: the base model with the default parameters (SD: "Euler a", 20 steps, CFG 7; Flux:
  flow-matching Euler, 20 steps, guidance 3.5: `schemas.t2i.defaults_for`).
- Baseline*: the base model with DiffAgent-RRHF's parameters.
- DiffAgent#: DiffAgent-RRHF's model with the default parameters.
- DiffAgent-SFT / DiffAgent-RRHF: the agents' answers as they are (unconstrained, the paper's way).
- Ours: the agents with catalog-constrained decoding, the retrieval-only selector, the hybrid.
Every system renders at the architecture's default size, because size changes the scores (the
paper fixes it too). An answer that cannot be rendered on the architecture (hallucinated) renders
the baseline instead, and the row says so (`fallback`). An answer's invalid sampler, steps or CFG
is replaced by the architecture's default, a LoRA's unusable base checkpoint by the one policy of
`diffagent.answers.repair_base`, and the row counts it (`params_fixed`): the model choice is what
is judged. Hallucination is `diffagent.answers.classify_answer`, the metric RRHF's statistics use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from diffagent.answers import (
    SETTING_KEYS,
    api_from_entry,
    classify_answer,
    default_api,
    default_parameters,
    default_settings,
    invalid_parameters,
    parse_answer,
    repair_base,
)
from diffagent.catalog import Catalog, load_catalog
from schemas.t2i import T2IApi

__all__ = [
    "PAPER_SYSTEMS",
    "SYSTEMS",
    "RenderPlan",
    "System",
    "answer_parameters",
    "catalog_index",
    "check_answer",
    "default_api",
    "default_size",
    "parse_answer",
    "plan_render",
]
# The evaluate tasks and pipeline import these names from here: the one loader, parser, default API.
catalog_index = load_catalog


@dataclass(frozen=True)
class System:
    name: str
    title: str
    selector: str | None  # whose answer it uses: sft | rrhf | retrieval | hybrid; None for Baseline
    constrained: bool  # which decoding of that selector
    use_model: bool  # render the answer's model (else the base model)
    use_params: bool  # render the answer's sampler/steps/CFG (else the defaults)
    paper: bool  # one of the paper's five systems


SYSTEMS: dict[str, System] = {
    s.name: s
    for s in (
        System("baseline", "Baseline", None, False, False, False, True),
        System("baseline_star", "Baseline*", "rrhf", False, False, True, True),
        System("diffagent_sharp", "DiffAgent#", "rrhf", False, True, False, True),
        System("diffagent_sft", "DiffAgent-SFT", "sft", False, True, True, True),
        System("diffagent_rrhf", "DiffAgent-RRHF", "rrhf", False, True, True, True),
        System("diffagent_sft_constrained", "DiffAgent-SFT (constrained)", "sft", True, True, True, False),
        System("diffagent_rrhf_constrained", "DiffAgent-RRHF (constrained)", "rrhf", True, True, True, False),
        System("retrieval", "Retrieval-only", "retrieval", True, True, True, False),
        System("hybrid", "Hybrid", "hybrid", True, True, True, False),
    )
}
PAPER_SYSTEMS: tuple[str, ...] = tuple(name for name, s in SYSTEMS.items() if s.paper)


@dataclass(frozen=True)
class RenderPlan:
    """What one system renders for one prompt."""

    api: T2IApi
    fallback: bool  # the baseline stands in for a hallucinated answer
    reason: str  # why the answer was rejected ("" when it was used)
    params_fixed: bool  # an invalid sampler/steps/CFG or LoRA base was replaced by the default


def check_answer(fields: Mapping[str, Any] | None, catalog: Catalog, architecture: str) -> str:
    """ "" when the answer names a catalog model renderable on `architecture`; else why not (the
    `HallucinationReason` value, as Table 1's `reason` column stores it). All reasons count as
    hallucination; a LoRA whose named base is unusable is not one: `repair_base` fixes it."""
    reason = classify_answer(fields, catalog, architecture)
    return reason.value if reason else ""


def answer_parameters(fields: Mapping[str, Any] | None, base_model: str) -> tuple[str, int, float, bool]:
    """(sampler, steps, cfg) of the answer, any invalid one replaced by `base_model`'s default
    (`answers.default_settings`); whether one was. Unlike RRHF's repair nothing is clamped: an
    invalid value is the agent's error, the default stands in for it and the row counts it
    (`params_fixed`)."""
    fields = fields or {}
    defaults = default_settings(base_model)
    bad = invalid_parameters(fields) & set(SETTING_KEYS)
    sampler, steps, cfg = (defaults[k] if k in bad else fields[k] for k in SETTING_KEYS)
    return str(sampler), int(steps), float(cfg), bool(bad)


def default_size(architecture: str) -> tuple[int, int]:
    params = default_parameters(architecture)
    return params["width"], params["height"]


def plan_render(
    system: System,
    fields: dict[str, Any] | None,
    catalog: Catalog,
    baseline: T2IApi,
    size: tuple[int, int],
) -> RenderPlan:
    """The API `system` renders, given the answer its selector gave (ignored by Baseline)."""
    architecture = baseline.base_model
    width, height = size
    defaults = default_settings(architecture)
    base = baseline.model_copy(update={**defaults, "width": width, "height": height})
    if system.selector is None:
        return RenderPlan(base, fallback=False, reason="", params_fixed=False)
    sampler, steps, cfg, fixed = answer_parameters(fields, architecture)
    chosen = {"sampling_method": sampler, "sampling_steps": steps, "cfg_scale": cfg}
    params = chosen if system.use_params else defaults
    fixed = fixed and system.use_params
    if not system.use_model:
        return RenderPlan(base.model_copy(update=params), fallback=False, reason="", params_fixed=fixed)
    reason = check_answer(fields, catalog, architecture)
    if reason:
        return RenderPlan(base, fallback=True, reason=reason, params_fixed=False)
    model = str((fields or {})["model"])  # check_answer rejects an answer without one
    base_name, base_replaced = repair_base(catalog, model, (fields or {}).get("base_checkpoint"))
    lora_base = catalog[base_name] if base_name else None
    api = api_from_entry(catalog[model], lora_base, width=width, height=height, **params)
    return RenderPlan(api, fallback=False, reason="", params_fixed=fixed or base_replaced)
