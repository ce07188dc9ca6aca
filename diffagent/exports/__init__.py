"""Exports: a T2I API as what people paste into, or send to, the tool they render with.

One small module per format, each a pure function of `ExportInputs` (the API, the catalog's file
names and hashes, prompt, negative prompt, seed, LoRA weight and trigger words) to the export:
a string (A1111 infotext, diffusers script) or a JSON object (ComfyUI API workflow, A1111 API
body). `FORMATS` is what `select --format` and `POST /v1/select?format=` accept; "json" is the
answer itself and has no exporter here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from diffagent.exports import a1111, a1111_api, comfyui, diffusers_code
from diffagent.exports.inputs import DEFAULT_LORA_WEIGHT, DEFAULT_SEED, ExportInputs, export_inputs

EXPORTERS: dict[str, Callable[[ExportInputs], str | dict[str, Any]]] = {
    "a1111": a1111.infotext,
    "a1111-api": a1111_api.payload,
    "comfyui": comfyui.workflow,
    "diffusers": diffusers_code.snippet,
}
FORMATS: tuple[str, ...] = ("json", *EXPORTERS)


def export_object(format: str, inputs: ExportInputs) -> str | dict[str, Any]:
    """`inputs` in `format` (one of EXPORTERS): the text, or the JSON object itself."""
    if format not in EXPORTERS:
        raise ValueError(f"unknown export format {format!r}; expected one of {tuple(EXPORTERS)}")
    return EXPORTERS[format](inputs)


def export(format: str, inputs: ExportInputs) -> str:
    """`inputs` as text in `format`: a JSON object as indented JSON."""
    made = export_object(format, inputs)
    return made if isinstance(made, str) else json.dumps(made, indent=2, ensure_ascii=False)


__all__ = [
    "DEFAULT_LORA_WEIGHT",
    "DEFAULT_SEED",
    "EXPORTERS",
    "FORMATS",
    "ExportInputs",
    "export",
    "export_inputs",
    "export_object",
]
