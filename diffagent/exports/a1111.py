"""A1111 / Forge infotext: the text A1111 writes into a PNG and reads back in "PNG Info".

Layout (modules/processing.py `create_infotext`): the prompt, then `Negative prompt: ...`, then one
line of `Key: value` pairs in A1111's order: Steps, Sampler, CFG scale, Seed, Size, Model hash,
Model. A LoRA goes into the prompt as `<lora:file stem:weight>`, the way A1111's extra networks
name it. The sampler keeps the combined name ("DPM++ 2M Karras"): A1111 >= 1.9 splits it into
Sampler + Schedule type when it reads the text back. Flux.1 renders in Forge, whose infotext has
the distilled guidance as `Distilled CFG Scale` beside `CFG scale: 1`, and no negative prompt
(CFG 1 has no unconditional pass for it to steer).
"""

from __future__ import annotations

import json

from diffagent.exports.inputs import ExportInputs, file_stem, number
from diffagent.render.architectures import TAKES_NEGATIVE_PROMPT, takes_distilled_guidance
from schemas.t2i import architecture_of

# A1111's "short hash": the first 10 hex digits of the file's sha256, lower case.
SHORT_HASH_CHARS = 10


def quote(value: str) -> str:
    """A1111's rule: a value with a comma, colon or newline is written as a JSON string."""
    if any(c in value for c in ",:\n"):
        return json.dumps(value, ensure_ascii=False)
    return value


def prompt_with_lora(inputs: ExportInputs) -> str:
    if inputs.lora_file is None:
        return inputs.prompt
    return f"{inputs.prompt} <lora:{file_stem(inputs.lora_file)}:{number(inputs.lora_weight)}>"


def infotext(inputs: ExportInputs) -> str:
    api = inputs.api
    architecture = architecture_of(api.base_model)
    fields = {"Steps": str(api.sampling_steps), "Sampler": api.sampling_method}
    if architecture == "flux":
        fields["CFG scale"] = "1"
        if takes_distilled_guidance(api.base_model):
            fields["Distilled CFG Scale"] = number(api.cfg_scale)
    else:
        fields["CFG scale"] = number(api.cfg_scale)
    fields |= {"Seed": str(inputs.seed), "Size": f"{api.width}x{api.height}"}
    if inputs.checkpoint_sha256:
        fields["Model hash"] = inputs.checkpoint_sha256[:SHORT_HASH_CHARS].lower()
    fields["Model"] = file_stem(inputs.checkpoint_file)
    lines = [prompt_with_lora(inputs)]
    if inputs.negative_prompt and TAKES_NEGATIVE_PROMPT[architecture]:
        lines.append(f"Negative prompt: {inputs.negative_prompt}")
    lines.append(", ".join(f"{key}: {quote(value)}" for key, value in fields.items()))
    return "\n".join(lines)
