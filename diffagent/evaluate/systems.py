"""The compared systems, and the T2I API each one renders for a prompt (paper section 4.1).

Per architecture (SD 1.5, SDXL 1.0):
- Baseline: the base model with the default parameters ("Euler a", 20 steps, CFG 7).
- Baseline*: the base model with DiffAgent-RRHF's parameters.
- DiffAgent#: DiffAgent-RRHF's model with the default parameters.
- DiffAgent-SFT / DiffAgent-RRHF: the agents' answers as they are (unconstrained, the paper's way).
- Ours: the agents with catalog-constrained decoding, the retrieval-only selector, the hybrid.
Every system renders at the architecture's default size, because size changes the scores (the
paper fixes it too). An answer that cannot be rendered on the architecture (hallucinated) renders
the baseline instead, and the row says so (`fallback`). An answer's invalid sampler, steps or CFG
(or a LoRA's unusable base checkpoint) is replaced by the default and counted (`params_fixed`), as
RRHF's response reconstruction does: the model choice is what is judged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from diffagent.rrhf.reconstruct import api_from_entry, lora_base
from schemas.dabench import CatalogEntry
from schemas.t2i import (
    DEFAULT_CFG,
    DEFAULT_SAMPLER,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    MAX_CFG,
    MAX_STEPS,
    MIN_CFG,
    MIN_STEPS,
    SAMPLERS,
    T2IApi,
    architecture_of,
)


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


def catalog_index(catalog: str | Path | list[CatalogEntry]) -> dict[str, CatalogEntry]:
    """Catalog entries by their unique `model` string, from entries or a catalog.parquet / DABench folder."""
    if isinstance(catalog, str | Path):
        path = Path(catalog) / "catalog.parquet" if Path(catalog).is_dir() else Path(catalog)
        # Through Arrow, not pandas: pandas would turn a null string into NaN.
        entries = [CatalogEntry.model_validate(row) for row in pq.read_table(path).to_pylist()]
    else:
        entries = list(catalog)
    index: dict[str, CatalogEntry] = {}
    for entry in entries:
        if entry.model in index:
            raise ValueError(f"catalog names model {entry.model!r} twice")
        index[entry.model] = entry
    return index


def parse_answer(raw: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """The answer's fields from its JSON text (the first {...} in it), or None when unreadable."""
    if isinstance(raw, dict):
        return raw
    if not raw:
        return None
    for candidate in (raw, *re.findall(r"\{.*\}", raw, flags=re.DOTALL)):
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(value, dict):
            return value
    return None


def check_answer(fields: dict[str, Any] | None, catalog: dict[str, CatalogEntry], architecture: str) -> str:
    """ "" when the answer names a catalog model renderable on `architecture`; else why not.

    Reasons: unparseable, unknown_model (the paper's hallucination: no such catalog model),
    wrong_architecture (the paper's agents were per architecture, so a model of the other one is
    outside that agent's catalog), no_base_checkpoint (a LoRA, and the catalog has no Checkpoint of
    its architecture to run it on). All count as hallucination: none can be rendered. A LoRA whose
    named base is not usable is not a hallucination: `lora_base` repairs it, as RRHF does.
    """
    model = fields.get("model") if fields else None
    if not isinstance(model, str) or not model:
        return "unparseable"
    entry = catalog.get(model)
    if entry is None:
        return "unknown_model"
    if architecture_of(entry.base_model) != architecture_of(architecture):
        return "wrong_architecture"
    if entry.type == "LORA" and lora_base(fields, catalog, architecture)[0] is None:
        return "no_base_checkpoint"
    return ""


def answer_parameters(fields: dict[str, Any] | None) -> tuple[str, int, float, bool]:
    """(sampler, steps, cfg) of the answer, any invalid one replaced by its default; whether one was."""
    fields = fields or {}
    sampler, steps, cfg = fields.get("sampling_method"), fields.get("sampling_steps"), fields.get("cfg_scale")
    fixed = False
    if sampler not in SAMPLERS:
        sampler, fixed = DEFAULT_SAMPLER, True
    numeric_steps = isinstance(steps, int | float) and not isinstance(steps, bool)
    if not numeric_steps or steps != int(steps) or not MIN_STEPS <= steps <= MAX_STEPS:
        steps, fixed = DEFAULT_STEPS, True
    if isinstance(cfg, bool) or not isinstance(cfg, int | float) or not MIN_CFG <= cfg <= MAX_CFG:
        cfg, fixed = DEFAULT_CFG, True
    return str(sampler), int(steps), float(cfg), fixed


def default_size(architecture: str) -> tuple[int, int]:
    if architecture not in DEFAULT_SIZE:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {tuple(DEFAULT_SIZE)}")
    return DEFAULT_SIZE[architecture]


def plan_render(
    system: System,
    fields: dict[str, Any] | None,
    catalog: dict[str, CatalogEntry],
    baseline: T2IApi,
    size: tuple[int, int],
) -> RenderPlan:
    """The API `system` renders, given the answer its selector gave (ignored by Baseline)."""
    architecture = baseline.base_model
    width, height = size
    defaults = {"sampling_method": DEFAULT_SAMPLER, "sampling_steps": DEFAULT_STEPS, "cfg_scale": DEFAULT_CFG}
    base = baseline.model_copy(update={**defaults, "width": width, "height": height})
    if system.selector is None:
        return RenderPlan(base, fallback=False, reason="", params_fixed=False)
    sampler, steps, cfg, fixed = answer_parameters(fields)
    chosen = {"sampling_method": sampler, "sampling_steps": steps, "cfg_scale": cfg}
    params = chosen if system.use_params else defaults
    fixed = fixed and system.use_params
    if not system.use_model:
        return RenderPlan(base.model_copy(update=params), fallback=False, reason="", params_fixed=fixed)
    reason = check_answer(fields, catalog, architecture)
    if reason:
        return RenderPlan(base, fallback=True, reason=reason, params_fixed=False)
    entry = catalog[fields["model"]]
    base_checkpoint, base_replaced = (
        lora_base(fields, catalog, architecture) if entry.type == "LORA" else (None, False)
    )
    api = api_from_entry(entry, base_checkpoint, width=width, height=height, **params)
    return RenderPlan(api, fallback=False, reason="", params_fixed=fixed or base_replaced)
