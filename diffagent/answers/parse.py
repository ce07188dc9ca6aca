"""Reading an answer's fields out of generated text: the one JSON-object parser."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_DECODER = json.JSONDecoder()


def parse_answer(text: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The first JSON object in `text`, or None when there is none.

    Free generation wraps the object in chatter or stops mid-object, so every `{` is tried in
    turn until one starts a complete object. Already-parsed fields (a dict) pass through.
    """
    if isinstance(text, Mapping):
        return dict(text)
    if not text:
        return None
    start = text.find("{")
    while start != -1:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        return value  # a decode that starts at `{` is always an object
    return None
