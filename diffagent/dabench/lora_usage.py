"""What a LoRA image says of how its LoRA was used: its weight and the trigger words its prompt used.

The prompt the agent learns from stays stripped of `<lora:...>` tags (`prompts.strip_network_tags`);
these two facts are read from the raw prompt and the metadata before the stripping, so an answer
can hand them back to the user's tool (issue: trigger words and strength are part of the answer).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# `<lora:name:0.8>` (also lyco/locon/loha): the name and its first weight (A1111's unet weight).
_LORA_TAG = re.compile(
    r"<\s*(?:lora|lyco|locon|loha)\s*:\s*([^:>]+?)\s*(?::\s*(-?[\d.]+)\s*)?(?::[^>]*)?>", re.I
)


def lora_tags(prompt: str) -> list[tuple[str, float | None]]:
    """[(name, weight)] of the prompt's LoRA tags, in order (weight None when the tag has none or an
    unreadable one: A1111 reads that as 1)."""
    tags = []
    for name, weight in _LORA_TAG.findall(prompt or ""):
        try:
            tags.append((name, float(weight) if weight else None))
        except ValueError:
            tags.append((name, None))
    return tags


def _weight(value: Any) -> float | None:
    try:
        return float(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def _plain(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _names_file(name: str, plain_stems: list[str]) -> bool:
    """A tag's name stands for the file when it is its stem, or (users rename files and drop version
    suffixes) the start of it, punctuation and case aside: `Pixel_Art` names `PixelArt_v1501`."""
    plain = _plain(name)
    return len(plain) >= 4 and any(stem == plain or stem.startswith(plain) for stem in plain_stems)


def image_lora_weight(
    prompt: str,
    version_id: int,
    file_stems: Iterable[str],
    resources: Sequence[dict[str, Any]] = (),
    civitai_resources: Sequence[dict[str, Any]] = (),
) -> float | None:
    """The weight the image used this LoRA at: Civitai's generator names the version
    (`civitaiResources`); A1111 names the file in its tag (`<lora:stem:w>`) and its `resources`;
    a prompt with a single LoRA tag is that LoRA's. None when the image does not say."""
    for item in civitai_resources:
        if str(item.get("modelVersionId")) == str(version_id) and _weight(item.get("weight")) is not None:
            return _weight(item.get("weight"))
    stems = [_plain(stem) for stem in file_stems]
    tags = lora_tags(prompt)
    for name, weight in tags:
        if _names_file(name, stems):
            return 1.0 if weight is None else weight
    for item in resources:
        kind = str(item.get("type", "")).lower()
        if kind in ("lora", "locon", "lycoris") and _names_file(str(item.get("name", "")), stems):
            found = _weight(item.get("weight"))
            if found is not None:
                return found
    if len(tags) == 1:
        return 1.0 if tags[0][1] is None else tags[0][1]
    return None


def trigger_word_parts(trained_words: Iterable[str]) -> list[str]:
    """The LoRA's trained words, each entry split at commas (creators often list several in one)."""
    parts: list[str] = []
    for entry in trained_words:
        for part in str(entry).split(","):
            word = part.strip()
            if word and word not in parts:
                parts.append(word)
    return parts


def used_trigger_words(prompt: str, trained_words: Iterable[str]) -> list[str]:
    """The trained words the prompt contains (case-insensitive, as whole words), in table order."""
    text = (prompt or "").casefold()
    used = []
    for word in trigger_word_parts(trained_words):
        if re.search(rf"(?<!\w){re.escape(word.casefold())}(?!\w)", text):
            used.append(word)
    return used
