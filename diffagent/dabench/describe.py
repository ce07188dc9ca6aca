"""Reconstruct each catalog model's description: one LLM call per model, cached, with a fallback.

The inputs are the model's own description (HTML stripped), its tags, trained words and a few
sample prompts. The answer is cached under a hash of those inputs and the LLM model name, so a
rerun makes no repeat call. Without an LLM, or when a call keeps failing, a deterministic
description is built from the same inputs; `description_source` says which one a row got.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass

from tqdm.auto import tqdm

from diffagent.llm_config import LLMConfig
from diffagent.storage import ArtifactStore

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You describe community Stable Diffusion models for an agent that picks a model for a user's "
    "prompt. From the model's own text, tags, trigger words and sample prompts, write 2-4 plain "
    "sentences: what the model is for (subjects, style, look), what it does best, and any trigger "
    "words. Be factual; no marketing, no HTML, no links, no instructions to the reader."
)
MAX_SOURCE_CHARS = 2000
MAX_DESCRIPTION_CHARS = 1000


@dataclass(frozen=True)
class DescriptionInputs:
    model_name: str
    version_name: str
    type: str
    base_model: str
    source_text: str
    tags: tuple[str, ...]
    trained_words: tuple[str, ...]
    sample_prompts: tuple[str, ...]

    def key(self, llm_model: str | None) -> str:
        payload = json.dumps({"inputs": asdict(self), "llm_model": llm_model}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def user_message(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)


def _first_sentences(text: str, limit: int = 300) -> str:
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    out = ""
    for sentence in sentences:
        if len(out) + len(sentence) > limit:
            break
        out = f"{out} {sentence}".strip()
    return out or text[:limit].strip()


# Creators' promotion, not a description of the model: a sentence naming one of these is dropped.
_PROMOTION = re.compile(
    r"patreon|ko-?fi|buy ?me ?a ?coffee|discord|support me|my links|follow me|subscribe|donat|"
    r"tip jar|twitter|instagram|tiktok|youtube|x\.com|linktr|gumroad|buzz",
    re.IGNORECASE,
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def without_promotion(text: str) -> str:
    """The text without its creator's promotion: sentences (or lines) that ask for support, point
    to their channels or carry a link go.

    Example: "Anime style LoRA. Support me on Patreon! My links: discord.gg/x https://a.b" ->
    "Anime style LoRA."
    """
    pieces = re.split(r"(?<=[.!?])\s+|\n+", text)
    kept = [piece.strip() for piece in pieces if not (_PROMOTION.search(piece) or _URL.search(piece))]
    return " ".join(piece for piece in kept if piece.strip(" .,:;-"))


def fallback_description(inputs: DescriptionInputs) -> str:
    """A description built from the inputs alone: deterministic, never empty."""
    kind = "LoRA" if inputs.type == "LORA" else "checkpoint"
    name = f"{inputs.model_name} ({inputs.version_name})" if inputs.version_name else inputs.model_name
    parts = [f"{name} is a {inputs.base_model} {kind}."]
    summary = _first_sentences(without_promotion(inputs.source_text))
    if summary:
        parts.append(summary if summary.endswith((".", "!", "?")) else f"{summary}.")
    if inputs.tags:
        parts.append(f"Tags: {', '.join(inputs.tags[:8])}.")
    if inputs.trained_words:
        parts.append(f"Trigger words: {', '.join(inputs.trained_words[:6])}.")
    if inputs.sample_prompts:
        examples = "; ".join(p[:120] for p in inputs.sample_prompts[:2])
        parts.append(f"Example prompts: {examples}.")
    return " ".join(parts)[:MAX_DESCRIPTION_CHARS]


def clean_llm_text(text: str | None) -> str:
    text = re.sub(r"<[^>]+>", " ", text or "")
    return " ".join(text.split())[:MAX_DESCRIPTION_CHARS]


@dataclass
class DescribeReport:
    llm_calls: int = 0
    cache_hits: int = 0
    fallbacks: int = 0
    llm_failures: int = 0


class Describer:
    def __init__(self, cache: ArtifactStore, llm: LLMConfig | None) -> None:
        self.cache, self.llm = cache, llm
        self.report = DescribeReport()

    async def describe_all(
        self, inputs: list[DescriptionInputs], show_progress: bool = True
    ) -> list[tuple[str, str]]:
        """(description, source) per input, in order; source is `llm` or `fallback`."""
        if self.llm is None:
            self.report.fallbacks += len(inputs)
            return [(fallback_description(i), "fallback") for i in inputs]
        from openai import AsyncOpenAI

        client = AsyncOpenAI(
            base_url=self.llm.base_url, api_key=self.llm.key(), timeout=self.llm.timeout, max_retries=0
        )
        semaphore = asyncio.Semaphore(self.llm.concurrency)
        progress = tqdm(total=len(inputs), desc="describe models", unit="model", disable=not show_progress)

        async def one(item: DescriptionInputs) -> tuple[str, str]:
            async with semaphore:
                result = await self._describe_one(client, item)
            progress.update(1)
            return result

        try:
            return list(await asyncio.gather(*(one(i) for i in inputs)))
        finally:
            progress.close()
            await client.close()

    async def _describe_one(self, client, item: DescriptionInputs) -> tuple[str, str]:
        assert self.llm is not None
        name = f"{item.key(self.llm.model)}.json"
        cached = self.cache.read_json(name)
        if cached is not None:
            self.report.cache_hits += 1
            return cached["description"], "llm"
        for attempt in range(1, self.llm.max_attempts + 1):
            try:
                self.report.llm_calls += 1
                answer = await client.chat.completions.create(
                    model=self.llm.model,
                    messages=[
                        {"role": "system", "content": SYSTEM_PROMPT},
                        {"role": "user", "content": item.user_message()},
                    ],
                    temperature=0.2,
                    max_tokens=256,
                )
                text = clean_llm_text(answer.choices[0].message.content)
                if text:
                    self.cache.write_json(name, {"description": text, "llm_model": self.llm.model})
                    return text, "llm"
                log.warning("empty LLM description for %s (attempt %d)", item.model_name, attempt)
            except Exception as error:  # any API failure: retry, then fall back (counted)
                log.warning(
                    "LLM call failed for %s (attempt %d): %s", item.model_name, attempt, type(error).__name__
                )
            await asyncio.sleep(min(2 ** (attempt - 1) * 0.5, 8))
        self.report.llm_failures += 1
        self.report.fallbacks += 1
        return fallback_description(item), "fallback"
