"""The conversation the agent is trained on and asked with, and the answer's JSON text.

Prompt side: a system message plus a user message carrying the prompt and negative prompt.
Answer side: one JSON object with fixed keys in a fixed order (`answers.ANSWER_KEYS`); no
description: `answers.assemble_api` copies `model_description` (and the Civitai ids) from the catalog.

The answer is tokenized segment by segment (`answer_segments`): each fixed key run and each value
is encoded on its own and the ids concatenated. Training and constrained decoding use the same
segmentation, so the token trie the decoder walks is exactly what the model was trained to emit,
whatever merges the tokenizer would have made across a quote.
"""

from __future__ import annotations

import json
import re
from typing import Any

from diffagent.answers.validity import ANSWER_KEYS
from schemas.t2i import Instruction, T2IApi

SYSTEM_PROMPT = (
    "You are DiffAgent. Given a text-to-image prompt, choose the community Stable Diffusion model "
    "from the catalog and the generation parameters that render it best. Answer with one JSON object."
)
# Long inputs are cut so that latency and memory stay bounded; the head of a prompt carries its style.
MAX_PROMPT_CHARS = 1000
MAX_NEGATIVE_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(text: str, limit: int) -> str:
    """Drop control characters (keeping tab and newline), trim, and cut to `limit` characters."""
    return _CONTROL.sub("", text).strip()[:limit]


def as_instruction(instruction: Instruction | dict | str) -> Instruction:
    if isinstance(instruction, Instruction):
        return instruction
    if isinstance(instruction, str):
        return Instruction(prompt=instruction)
    return Instruction(prompt=instruction["prompt"], negative_prompt=instruction.get("negative_prompt") or "")


def build_messages(instruction: Instruction | dict | str) -> list[dict[str, str]]:
    """System + user messages for one instruction (prompt, optional negative prompt)."""
    instruction = as_instruction(instruction)
    prompt = clean_text(instruction.prompt, MAX_PROMPT_CHARS)
    if not prompt:
        raise ValueError(f"empty prompt: {instruction.prompt!r}")
    negative = clean_text(instruction.negative_prompt or "", MAX_NEGATIVE_CHARS)
    user = f"Prompt: {prompt}\nNegative prompt: {negative}"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def answer_fields(api: T2IApi | dict[str, Any]) -> dict[str, Any]:
    """The generated fields of an answer, in `ANSWER_KEYS` order (cfg rounded to one decimal)."""
    data = api.model_dump() if isinstance(api, T2IApi) else dict(api)
    fields = {key: data.get(key) for key in ANSWER_KEYS}
    fields["width"], fields["height"] = int(fields["width"]), int(fields["height"])
    fields["sampling_steps"] = int(fields["sampling_steps"])
    fields["cfg_scale"] = round(float(fields["cfg_scale"]), 1)
    if fields["type"] != "LORA":
        fields["base_checkpoint"] = None
    return fields


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def key_segment(index: int) -> str:
    """The fixed text before value `index`: `{"model": ` for the first, `, "type": ` and so on after."""
    return ("{" if index == 0 else ", ") + json_value(ANSWER_KEYS[index]) + ": "


CLOSING = "}"


def answer_segments(api: T2IApi | dict[str, Any]) -> list[str]:
    """Alternating key and value texts whose concatenation is `format_answer(api)`."""
    fields = answer_fields(api)
    segments = []
    for index, key in enumerate(ANSWER_KEYS):
        segments += [key_segment(index), json_value(fields[key])]
    return [*segments, CLOSING]


def format_answer(api: T2IApi | dict[str, Any]) -> str:
    """The assistant's answer text: compact JSON with the keys of `ANSWER_KEYS`, no description."""
    return "".join(answer_segments(api))
