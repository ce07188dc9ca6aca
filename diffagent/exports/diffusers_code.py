"""A diffusers script that renders the answer from the catalog's files (run it beside them).

The checkpoint loads as `diffagent render` loads it (`render.architectures`): an SD file with the
pipeline's `from_single_file`, a Flux file as the transformer (`FluxTransformer2DModel.
from_single_file`) with the rest from the base model's hub folder; a LoRA with
`load_lora_weights(".", weight_name=...)`; the scheduler is the one the renderer uses for the
A1111 sampler on that architecture, so the script and `diffagent render` agree.
"""

from __future__ import annotations

from diffagent.answers import DEFAULT_BASE_MODELS
from diffagent.exports.inputs import ExportInputs, civitai_page, number
from diffagent.render.architectures import (
    GPU_DTYPES,
    TAKES_NEGATIVE_PROMPT,
    TRANSFORMER_ONLY_FILES,
    pipeline_class_name,
    scheduler_spec,
)
from schemas.t2i import architecture_of

OUTPUT_FILE = "diffagent.png"


def _kwargs(values: dict) -> str:
    return "".join(f", {key}={value!r}" for key, value in values.items())


def _load_lines(inputs: ExportInputs, pipeline: str, architecture: str) -> list[str]:
    file = inputs.checkpoint_file
    if not TRANSFORMER_ONLY_FILES[architecture]:
        return [f"pipe = {pipeline}.from_single_file({file!r}, torch_dtype=dtype)"]
    base = DEFAULT_BASE_MODELS[inputs.api.base_model]
    return [
        f"transformer = FluxTransformer2DModel.from_single_file({file!r}, config={base!r}, "
        'subfolder="transformer", torch_dtype=dtype)',
        f"pipe = {pipeline}.from_pretrained({base!r}, transformer=transformer, torch_dtype=dtype)",
    ]


def snippet(inputs: ExportInputs) -> str:
    api = inputs.api
    architecture = architecture_of(api.base_model)
    pipeline = pipeline_class_name(api.base_model)
    sampler = scheduler_spec(api.sampling_method, architecture)
    classes = [pipeline, *(["FluxTransformer2DModel"] if TRANSFORMER_ONLY_FILES[architecture] else [])]
    title = " ".join(api.model.split())  # a comment line must stay one line
    lines = [
        f"# {title} ({api.type}, {api.base_model}): {civitai_page(api.model_id, api.version_id)}",
        "# Download the files named below from Civitai into this folder, then run this script.",
        "import torch",
        f"from diffusers import {', '.join(classes)}, {sampler.scheduler}",
        "",
        'device = "cuda" if torch.cuda.is_available() else "cpu"',
        f'dtype = torch.{GPU_DTYPES[architecture]} if device == "cuda" else torch.float32',
        *_load_lines(inputs, pipeline, architecture),
        f"pipe.scheduler = {sampler.scheduler}.from_config(pipe.scheduler.config{_kwargs(sampler.kwargs)})",
    ]
    if inputs.lora_file is not None:
        lines += [
            f'pipe.load_lora_weights(".", weight_name={inputs.lora_file!r}, adapter_name="lora")',
            f'pipe.set_adapters(["lora"], adapter_weights=[{number(inputs.lora_weight)}])',
        ]
    negative = (
        [f"    negative_prompt={inputs.negative_prompt!r},"] if TAKES_NEGATIVE_PROMPT[architecture] else []
    )
    lines += [
        "pipe = pipe.to(device)",
        "image = pipe(",
        f"    prompt={inputs.prompt!r},",
        *negative,
        f"    width={api.width},",
        f"    height={api.height},",
        f"    num_inference_steps={api.sampling_steps},",
        f"    guidance_scale={api.cfg_scale!r},",
        f"    generator=torch.Generator(device).manual_seed({inputs.seed}),",
        ").images[0]",
        f"image.save({OUTPUT_FILE!r})",
    ]
    return "\n".join(lines) + "\n"
