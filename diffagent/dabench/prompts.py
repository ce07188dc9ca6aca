"""Prompt and size clean-up shared by the filter and the description builder."""

from __future__ import annotations

import html
import re

# `<lora:name:0.8>`, `<lyco:...>` and friends load networks in A1111; the API carries the LoRA,
# so the tag must not stay in the prompt (the paper strips them too).
_NETWORK_TAG = re.compile(r"<\s*(?:lora|lyco|locon|loha|hypernet)\s*:[^>]*>", re.IGNORECASE)
_EMPTY_ITEMS = re.compile(r"(?:\s*,\s*){2,}")
_SIZE = re.compile(r"^\s*(\d{2,5})\s*[xX×*]\s*(\d{2,5})\s*$")
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def strip_network_tags(prompt: str) -> str:
    """The prompt without LoRA/LyCORIS tags, and without the empty commas they leave."""
    text = _NETWORK_TAG.sub("", prompt)
    text = _EMPTY_ITEMS.sub(", ", text)
    return text.strip().strip(",").strip()


def has_network_tag(prompt: str) -> bool:
    return _NETWORK_TAG.search(prompt) is not None


def parse_size(size: str | None) -> tuple[int, int] | None:
    """(width, height) from `meta.Size` such as "512x768"; None for "512x", "", None."""
    if not size:
        return None
    match = _SIZE.match(size)
    return (int(match.group(1)), int(match.group(2))) if match else None


def strip_html(text: str | None) -> str:
    """Plain text from a Civitai HTML description."""
    if not text:
        return ""
    text = re.sub(r"<(br|/p|/li|/h\d)\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = html.unescape(_TAGS.sub(" ", text))
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)
