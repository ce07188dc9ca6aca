"""A1111 / Forge infotext: the text A1111 writes into a PNG and reads back in "PNG Info".

Layout (modules/processing.py `create_infotext`): the prompt, then `Negative prompt: ...`, then one
line of `Key: value` pairs in A1111's order: Steps, Sampler, CFG scale, Seed, Size, Model hash,
Model, Clip skip, then the extra networks' `Lora hashes`, then Forge's `Module N`. A LoRA goes
into the prompt as `<lora:file stem:weight>`, the way A1111's extra networks name it, after the
prompt and its trigger words. The sampler is the sampler table's A1111 (sampler, Schedule type) pair
(`a1111_sampler`), written so that A1111 >= 1.9 reads the same pair back
(modules/sd_samplers.py `get_sampler_and_scheduler`): a bare name reads as schedule Automatic, which
is the sampler's own default (Karras for DPM++ 2M, DPM++ SDE, DPM++ 2S a, DPM2, DPM2 a; Exponential
for DPM++ 2M SDE; the model's sigmas for the rest), and a name ending " Karras" reads as Karras. So
Automatic is the bare name, Karras the combined name ("DPM++ 2M Karras", which A1111 before 1.9
reads too), and any other schedule the bare name plus `Schedule type: Y` (A1111's own field, right
after Sampler). A1111 reads a missing `Clip skip` as 1, so it is written only above 1, as A1111 does.
Flux.1 renders in Forge (its Flux preset schedules Simple), whose infotext has the distilled
guidance as `Distilled CFG Scale` beside `CFG scale: 1`, no negative
prompt (CFG 1 has no unconditional pass for it to steer), and the VAE and text encoders as
`Module 1..N` (file stems Forge matches against its models/VAE and models/text_encoder files).
"""

from __future__ import annotations

import json

from diffagent.exports.inputs import ExportInputs, file_stem, number, prompt_with_trigger_words
from diffagent.store.autov3 import A1111_SHORT_HASH_CHARS
from schemas.architectures import architecture_for, takes_distilled_guidance
from schemas.samplers import KARRAS, sampler

# A1111's "short hash" of a checkpoint: the first 10 hex digits of the file's sha256, lower case.
SHORT_HASH_CHARS = 10
AUTOMATIC = "Automatic"  # A1111's schedule label for "the sampler's own default"


def a1111_sampler(sampling_method: str, base_model: str) -> tuple[str, str]:
    """(A1111 sampler, Schedule type label) of a SAMPLERS name on a base model: the sampler table's
    pair, with the architecture's own labels in Forge (Flux: Simple for the model's sigmas)."""
    name, schedule = sampler(sampling_method).a1111
    return name, architecture_for(base_model).export.a1111_schedules.get(schedule, schedule)


def sampler_fields(sampling_method: str, base_model: str) -> dict[str, str]:
    """`Sampler` (and `Schedule type` where the name alone would read back otherwise)."""
    name, schedule = a1111_sampler(sampling_method, base_model)
    if schedule == AUTOMATIC:
        return {"Sampler": name}
    if schedule == KARRAS.strip():
        return {"Sampler": f"{name}{KARRAS}"}
    return {"Sampler": name, "Schedule type": schedule}


def require_a1111(base_model: str) -> None:
    """Refuse an export A1111 and Forge cannot render: a family neither loads (Z-Image, ...)."""
    family = architecture_for(base_model)
    if not family.export.a1111:
        raise ValueError(
            f"A1111 and Forge cannot load {base_model!r} ({family.name}) models; export it for ComfyUI "
            "or diffusers instead"
        )


def quote(value: str) -> str:
    """A1111's rule: a value with a comma, colon or newline is written as a JSON string."""
    if any(c in value for c in ",:\n"):
        return json.dumps(value, ensure_ascii=False)
    return value


def lora_name(inputs: ExportInputs) -> str:
    """The name A1111 and Forge call the LoRA by: its file stem (`<lora:NAME:w>`)."""
    if inputs.lora_file is None:
        raise ValueError(f"{inputs.api.model!r} is a {inputs.api.type}, not a LoRA")
    return file_stem(inputs.lora_file)


def prompt_with_lora(inputs: ExportInputs) -> str:
    """The prompt with its trigger words, then `<lora:name:weight>` for a LoRA answer."""
    prompt = prompt_with_trigger_words(inputs)
    if inputs.lora_file is None:
        return prompt
    return f"{prompt} <lora:{lora_name(inputs)}:{number(inputs.lora_weight)}>"


def lora_hashes(inputs: ExportInputs) -> str | None:
    """`name: hash` as A1111's Lora extension writes it (the name without ":" or ","), or None.

    A1111 hashes a .safetensors LoRA's tensor data (Civitai's AutoV3) and writes 12 digits, which
    is what Civitai lists as the file's AutoV3: that, when the catalog has it (A1111 reading it
    back then finds the local file by it). Otherwise the SHA256's first 10 digits (Civitai's
    AutoV2), which Civitai's by-hash look-up resolves too; A1111 keeps the `<lora:name:...>` name
    then, which is the file's own."""
    if inputs.lora_file is None:
        return None
    if inputs.lora_autov3:
        short = inputs.lora_autov3[:A1111_SHORT_HASH_CHARS]
    elif inputs.lora_sha256:
        short = inputs.lora_sha256[:SHORT_HASH_CHARS]
    else:
        return None
    alias = lora_name(inputs).replace(":", "").replace(",", "")
    return f"{alias}: {short.lower()}"


def parameters(inputs: ExportInputs) -> dict[str, str]:
    """The last line's fields, in A1111's order, as A1111 prints them (unquoted)."""
    api = inputs.api
    architecture = architecture_for(api.base_model)
    fields = {"Steps": str(api.sampling_steps), **sampler_fields(api.sampling_method, api.base_model)}
    if not architecture.takes_negative_prompt:  # guidance-distilled: no classifier-free guidance
        fields["CFG scale"] = "1"
        if takes_distilled_guidance(api.base_model):
            fields["Distilled CFG Scale"] = number(api.cfg_scale)
    else:
        fields["CFG scale"] = number(api.cfg_scale)
    fields |= {"Seed": str(inputs.seed), "Size": f"{api.width}x{api.height}"}
    if inputs.checkpoint_sha256:
        fields["Model hash"] = inputs.checkpoint_sha256[:SHORT_HASH_CHARS].lower()
    fields["Model"] = file_stem(inputs.checkpoint_file)
    if architecture.export.takes_clip_skip and api.clip_skip > 1:
        fields["Clip skip"] = str(api.clip_skip)
    hashes = lora_hashes(inputs)
    if hashes:
        fields["Lora hashes"] = hashes
    # Forge lists its VAE / text encoder choices sorted by name; any order reads back the same.
    for index, name in enumerate(sorted(architecture.forge_modules), start=1):
        fields[f"Module {index}"] = file_stem(name)
    return fields


def infotext(inputs: ExportInputs) -> str:
    require_a1111(inputs.api.base_model)
    lines = [prompt_with_lora(inputs)]
    if inputs.negative_prompt and architecture_for(inputs.api.base_model).takes_negative_prompt:
        lines.append(f"Negative prompt: {inputs.negative_prompt}")
    lines.append(", ".join(f"{key}: {quote(value)}" for key, value in parameters(inputs).items()))
    return "\n".join(lines)
