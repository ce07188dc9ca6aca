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
