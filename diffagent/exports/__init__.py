"""Exports: a T2I API as the text people paste into the tool they render with.

One small module per format, each a pure function of `ExportInputs` (the API, the catalog's file
names, prompt, negative prompt and seed) to text. `FORMATS` is what `select --format` and
`POST /v1/select?format=` accept; "json" is the answer itself and has no exporter here.
"""

from __future__ import annotations

from collections.abc import Callable

from diffagent.exports import a1111, comfyui, diffusers_code
from diffagent.exports.inputs import DEFAULT_LORA_WEIGHT, DEFAULT_SEED, ExportInputs, export_inputs

EXPORTERS: dict[str, Callable[[ExportInputs], str]] = {
    "a1111": a1111.infotext,
    "comfyui": comfyui.workflow_json,
    "diffusers": diffusers_code.snippet,
}
FORMATS: tuple[str, ...] = ("json", *EXPORTERS)


def export(format: str, inputs: ExportInputs) -> str:
    """`inputs` as text in `format` (one of EXPORTERS)."""
    if format not in EXPORTERS:
        raise ValueError(f"unknown export format {format!r}; expected one of {tuple(EXPORTERS)}")
    return EXPORTERS[format](inputs)


__all__ = [
    "DEFAULT_LORA_WEIGHT",
    "DEFAULT_SEED",
    "EXPORTERS",
    "FORMATS",
    "ExportInputs",
    "export",
    "export_inputs",
]
