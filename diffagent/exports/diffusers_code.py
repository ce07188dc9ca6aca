"""A diffusers script that renders the answer from the catalog's files (run it beside them).

The checkpoint loads as `diffagent render` loads it (`render.pipelines.load_pipeline`): an SD file
with the pipeline's `from_single_file` and the architecture's config folder, without SD 1.5's
safety checker; a transformer-only file (Flux) as the architecture's `transformer_class`
(`FluxTransformer2DModel.from_single_file`) with the rest from that folder. The folder is render's
DIFFAGENT_*_CONFIG setting when one is set (the script then runs offline), else the hub repository
(a script on a gated one, Flux.1 D's, says so). A LoRA
loads with `load_lora_weights(".", weight_name=...)` at the answer's weight; the scheduler is the
one the renderer uses for the A1111 sampler on that architecture, and clip skip N is diffusers'
`clip_skip=N-1` (diffusers counts the layers skipped), so the script and `render` agree.
"""

from __future__ import annotations

from diffagent.exports.inputs import ExportInputs, civitai_page, number, prompt_with_trigger_words
from schemas.architectures import (
    Architecture,
    architecture_for,
    config_variable,
    scheduler_spec,
    source_of,
)

OUTPUT_FILE = "diffagent.png"

# diffusers 0.42's StableDiffusionPipeline reads `text_encoder.text_model.final_layer_norm` when
# clip_skip is set, which transformers' flattened CLIPTextModel no longer has (render.pipelines.
# flat_clip_alias works around the same): the script points the name at the encoder itself.
CLIP_ALIAS_PIPELINE = "StableDiffusionPipeline"
CLIP_ALIAS_LINES = [
    "# diffusers reads text_encoder.text_model with clip_skip; newer transformers' CLIPTextModel is flat",
    'if not hasattr(pipe.text_encoder, "text_model"):',
    '    object.__setattr__(pipe.text_encoder, "text_model", pipe.text_encoder)',
]


def hub_config(base_model: str) -> str:
    """The hub repository a single file loads with when no config folder is set: render's default
    for the base model (its source's; Pony's is SDXL 1.0's, Flux.1 S's FLUX.1-schnell's)."""
    return source_of(base_model).hub_id


def _kwargs(values: dict) -> str:
    return "".join(f", {key}={value!r}" for key, value in values.items())


def _config_comment(inputs: ExportInputs, architecture: Architecture, config: str) -> str:
    variable = config_variable(inputs.api.base_model)
    parts = "configs, text encoders and VAE" if architecture.transformer_only_files else "configs"
    if inputs.config_folder is not None:
        return f"# Runs offline: the pipeline's {parts} come from {config!r} ({variable})."
    if source_of(inputs.api.base_model).gated:
        return (
            f"# Needs the gated Hugging Face repository {config!r} for the pipeline's {parts}: accept its "
            f"licence on huggingface.co and log in (`hf auth login`), or export with {variable} "
            "set to a local copy to run offline."
        )
    return (
        f"# Fetches the pipeline's {parts} from the Hugging Face repository {config!r} once; export with "
        f"{variable} set to a local diffusers folder to run offline."
    )


def _load_lines(inputs: ExportInputs, architecture: Architecture, config: str) -> list[str]:
    file, pipeline = inputs.checkpoint_file, architecture.pipeline_class
    if architecture.transformer_class is None:
        no_checker = architecture.export.safety_checker
        extra = {"safety_checker": None, "requires_safety_checker": False} if no_checker else {}
        load = f"{pipeline}.from_single_file({file!r}, config={config!r}, dtype=dtype{_kwargs(extra)})"
        return [f"pipe = {load}"]
    return [
        f"transformer = {architecture.transformer_class}.from_single_file({file!r}, config={config!r}, "
        'subfolder="transformer", dtype=dtype)',
        f"pipe = {pipeline}.from_pretrained({config!r}, transformer=transformer, dtype=dtype)",
    ]


def snippet(inputs: ExportInputs) -> str:
    api = inputs.api
    architecture = architecture_for(api.base_model)
    pipeline = architecture.pipeline_class
    sampler = scheduler_spec(api.sampling_method, architecture.name)
    config = inputs.config_folder or hub_config(api.base_model)
    classes = [pipeline, *([architecture.transformer_class] if architecture.transformer_class else [])]
    title = " ".join(api.model.split())  # a comment line must stay one line
    lines = [
        f"# {title} ({api.type}, {api.base_model}): {civitai_page(api.model_id, api.version_id)}",
        "# Download the files named below from Civitai into this folder, then run this script.",
        _config_comment(inputs, architecture, config),
        "import torch",
        f"from diffusers import {', '.join(classes)}, {sampler.scheduler}",
        "",
        'device = "cuda" if torch.cuda.is_available() else "cpu"',
        f'dtype = torch.{architecture.gpu_dtype} if device == "cuda" else torch.float32',
        *_load_lines(inputs, architecture, config),
        f"pipe.scheduler = {sampler.scheduler}.from_config(pipe.scheduler.config{_kwargs(sampler.kwargs)})",
    ]
    if inputs.lora_file is not None:
        lines += [
            f'pipe.load_lora_weights(".", weight_name={inputs.lora_file!r}, adapter_name="lora")',
            f'pipe.set_adapters(["lora"], adapter_weights=[{number(inputs.lora_weight)}])',
        ]
    options = []
    if architecture.takes_negative_prompt:
        negative = inputs.negative_prompt or architecture.empty_negative_prompt
        options.append(f"    negative_prompt={negative!r},")
    if architecture.export.takes_clip_skip and api.clip_skip > 1:
        options.append(f"    clip_skip={api.clip_skip - 1},")
        if pipeline == CLIP_ALIAS_PIPELINE:
            lines += CLIP_ALIAS_LINES
    lines += [
        "pipe = pipe.to(device)",
        "image = pipe(",
        f"    prompt={prompt_with_trigger_words(inputs)!r},",
        *options,
        f"    width={api.width},",
        f"    height={api.height},",
        f"    num_inference_steps={api.sampling_steps},",
        # The table's CFG goes where the pipeline takes it (Qwen-Image: true_cfg_scale; Z-Image: CFG - 1).
        f"    {architecture.cfg_argument}={api.cfg_scale + architecture.cfg_offset!r},",
        f"    generator=torch.Generator(device).manual_seed({inputs.seed}),",
        ").images[0]",
        f"image.save({OUTPUT_FILE!r})",
    ]
    return "\n".join(lines) + "\n"
