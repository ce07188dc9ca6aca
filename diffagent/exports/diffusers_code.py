"""A diffusers script that renders the answer from the catalog's files (run it beside them).

The checkpoint loads with `from_single_file` (Civitai ships single .safetensors files), a LoRA with
`load_lora_weights(".", weight_name=...)`, and the scheduler is the one the renderer uses for the
A1111 sampler (diffagent.render.samplers.SAMPLER_MAP), so the script and `diffagent render` agree.
"""

from __future__ import annotations

from diffagent.exports.inputs import ExportInputs, civitai_page, number
from diffagent.render.samplers import SAMPLER_MAP

# Architecture -> diffusers pipeline class: one line per architecture.
PIPELINES: dict[str, str] = {
    "SD 1.5": "StableDiffusionPipeline",
    "SDXL 1.0": "StableDiffusionXLPipeline",
}
OUTPUT_FILE = "diffagent.png"


def pipeline_class_name(base_model: str) -> str:
    if base_model not in PIPELINES:
        raise ValueError(
            f"no diffusers pipeline for base_model {base_model!r}; expected one of {tuple(PIPELINES)}"
        )
    return PIPELINES[base_model]


def _kwargs(values: dict) -> str:
    return "".join(f", {key}={value!r}" for key, value in values.items())


def snippet(inputs: ExportInputs) -> str:
    api = inputs.api
    pipeline = pipeline_class_name(api.base_model)
    sampler = SAMPLER_MAP[api.sampling_method]
    title = " ".join(api.model.split())  # a comment line must stay one line
    lines = [
        f"# {title} ({api.type}, {api.base_model}): {civitai_page(api.model_id, api.version_id)}",
        "# Download the files named below from Civitai into this folder, then run this script.",
        "import torch",
        f"from diffusers import {pipeline}, {sampler.scheduler}",
        "",
        'device = "cuda" if torch.cuda.is_available() else "cpu"',
        'dtype = torch.float16 if device == "cuda" else torch.float32',
        f"pipe = {pipeline}.from_single_file({inputs.checkpoint_file!r}, torch_dtype=dtype)",
        f"pipe.scheduler = {sampler.scheduler}.from_config(pipe.scheduler.config{_kwargs(sampler.kwargs)})",
    ]
    if inputs.lora_file is not None:
        lines += [
            f'pipe.load_lora_weights(".", weight_name={inputs.lora_file!r}, adapter_name="lora")',
            f'pipe.set_adapters(["lora"], adapter_weights=[{number(inputs.lora_weight)}])',
        ]
    lines += [
        "pipe = pipe.to(device)",
        "image = pipe(",
        f"    prompt={inputs.prompt!r},",
        f"    negative_prompt={inputs.negative_prompt!r},",
        f"    width={api.width},",
        f"    height={api.height},",
        f"    num_inference_steps={api.sampling_steps},",
        f"    guidance_scale={api.cfg_scale!r},",
        f"    generator=torch.Generator(device).manual_seed({inputs.seed}),",
        ").images[0]",
        f"image.save({OUTPUT_FILE!r})",
    ]
    return "\n".join(lines) + "\n"
