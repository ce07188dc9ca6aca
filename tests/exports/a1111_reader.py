"""How A1111 reads an infotext back ("PNG Info", `parse_generation_parameters` in
modules/infotext_utils.py), written from its documented behaviour for the tests: the last line is
the parameters when it holds at least three `Key: value` pairs; a value starting and ending with
a double quote is a JSON string; `Size: WxH` becomes Size-1 and Size-2; lines after one starting
`Negative prompt:` are the negative prompt; a missing `Clip skip` reads as "1"."""

from __future__ import annotations

import json
import re

# A key starts with a word character and runs to the colon; a value is a JSON string or runs to
# the next comma.
PAIR = re.compile(r'\s*([A-Za-z0-9_][A-Za-z0-9_ /-]+):\s*("(?:[^"\\]|\\.)+"|[^,]*)(?:,|$)')


def read_infotext(text: str) -> dict[str, str]:
    *lines, last = text.strip().split("\n")
    if len(PAIR.findall(last)) < 3:
        lines, last = [*lines, last], ""
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line.strip())
    fields = {"Prompt": "\n".join(prompt), "Negative prompt": "\n".join(negative)}
    for key, value in PAIR.findall(last):
        if len(value) > 1 and value[0] == value[-1] == '"':
            value = json.loads(value)
        size = re.fullmatch(r"(\d+)x(\d+)", value)
        if size:
            fields[f"{key}-1"], fields[f"{key}-2"] = size.groups()
        else:
            fields[key] = value
    fields.setdefault("Clip skip", "1")
    return fields


# How A1111 1.10 turns the `Sampler` and `Schedule type` fields into its two dropdowns
# (modules/sd_samplers.py `get_sampler_and_scheduler`, called by the paste fields with
# convert_automatic): a missing Schedule type is Automatic; a sampler name ending in " <schedule
# label, name or alias>" is split; an unknown sampler is the first one (DPM++ 2M); a schedule that is
# the sampler's own default reads as Automatic. The tables are A1111's (modules/sd_schedulers.py
# `schedulers`; modules/sd_samplers_kdiffusion.py `samplers_k_diffusion` options, the timestep
# samplers in sd_samplers_timesteps.py), written out by hand.
SCHEDULES = (  # (name, label, aliases), in A1111's order
    ("automatic", "Automatic", ()),
    ("uniform", "Uniform", ()),
    ("karras", "Karras", ()),
    ("exponential", "Exponential", ()),
    ("polyexponential", "Polyexponential", ()),
    ("sgm_uniform", "SGM Uniform", ("SGMUniform",)),
    ("kl_optimal", "KL Optimal", ()),
    ("align_your_steps", "Align Your Steps", ()),
    ("simple", "Simple", ()),
    ("normal", "Normal", ()),
    ("ddim", "DDIM", ()),
    ("beta", "Beta", ()),
)
DEFAULT_SCHEDULES = {  # sampler -> its options' `scheduler`
    "DPM++ 2M": "karras",
    "DPM++ SDE": "karras",
    "DPM++ 2M SDE": "exponential",
    "DPM++ 2M SDE Heun": "exponential",
    "DPM++ 2S a": "karras",
    "DPM++ 3M SDE": "exponential",
    "DPM2": "karras",
    "DPM2 a": "karras",
    "Restart": "karras",
}
A1111_SAMPLER_NAMES = {*DEFAULT_SCHEDULES, "Euler a", "Euler", "LMS", "Heun", "DPM fast", "DPM adaptive"}
A1111_SAMPLER_NAMES |= {"DDIM", "DDIM CFG++", "PLMS", "UniPC", "LCM"}
FIRST_SAMPLER = "DPM++ 2M"


def read_sampler(fields: dict[str, str]) -> tuple[str, str]:
    """(sampler, Schedule type label) the way A1111 1.10 pastes an infotext's fields."""
    labels = {name: label for name, label, _ in SCHEDULES} | {label: label for _, label, _ in SCHEDULES}
    found = labels.get(fields.get("Schedule type", ""), "Automatic")
    name = fields.get("Sampler") or FIRST_SAMPLER
    for schedule_name, label, aliases in SCHEDULES:
        for option in (label, schedule_name, *aliases):
            if name.endswith(" " + option):
                found, name = label, name[: -(len(option) + 1)]
                break
    sampler = name if name in A1111_SAMPLER_NAMES else FIRST_SAMPLER
    if DEFAULT_SCHEDULES.get(sampler) == {label: n for n, label, _ in SCHEDULES}[found]:
        found = "Automatic"
    return sampler, found


def effective_schedule(sampler: str, label: str) -> str:
    """The sigmas A1111 steps over: Automatic is the sampler's default, else the model's own
    (`Uniform`: KDiffusionSampler.get_sigmas falls back to model_wrap.get_sigmas)."""
    if label != "Automatic":
        return label
    default = DEFAULT_SCHEDULES.get(sampler)
    return next(lab for name, lab, _ in SCHEDULES if name == default) if default else "Uniform"
