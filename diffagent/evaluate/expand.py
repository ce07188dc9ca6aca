"""Expand short prompts (COCO captions, PartiPrompts) into well-structured T2I prompts with an LLM.

The paper used gpt-3.5-turbo with in-context learning; we call any OpenAI-compatible endpoint
(vLLM, llama.cpp, a hosted API) through the `openai` client, show it DABench prompts from a
training split as examples of the target style, and cache every answer on disk under a hash of
everything that decides it (model, instructions, examples, prompt, temperature), so a rerun makes
no calls. Without an LLM the prompts are used as they are; `ExpansionResult.mode` says which.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from diffagent.llm_config import LLMConfig
from schemas.evaluation import EvalPrompt

INSTRUCTIONS = (
    "You rewrite short image descriptions into well-structured prompts for a Stable Diffusion "
    "text-to-image model. Keep every subject, attribute and relation of the description; add "
    "style, medium, lighting, composition and quality keywords in the manner of the examples. "
    "Answer with the prompt only, on one line, without quotes or explanations."
)


@dataclass
class ExpansionResult:
    prompts: list[EvalPrompt]
    mode: str  # "llm" | "none"
    calls: int  # requests actually sent (0 on a fully cached rerun)
    cached: int
    failed: int  # answers that were empty after cleaning: the source prompt was kept


def build_messages(prompt: str, examples: list[str]) -> list[dict[str, str]]:
    """The chat request: instructions with numbered DABench examples, then the short prompt."""
    shown = "\n".join(f"{i + 1}. {example}" for i, example in enumerate(examples))
    system = f"{INSTRUCTIONS}\n\nExamples of well-structured prompts:\n{shown}" if examples else INSTRUCTIONS
    return [{"role": "system", "content": system}, {"role": "user", "content": prompt}]


def cache_key(config: LLMConfig, messages: list[dict[str, str]]) -> str:
    """SHA-256 over what decides the answer (not the URL or key: the same model elsewhere is the same)."""
    payload = {
        "model": config.model,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "messages": messages,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def clean_expansion(text: str | None) -> str:
    """One line, without a "Prompt:" label or wrapping quotes; "" when nothing is left."""
    text, previous = " ".join((text or "").split()), None
    while text != previous:  # a label inside quotes, or quotes after a label: peel both
        previous = text
        text = re.sub(r"^(?:expanded\s+)?prompt\s*:\s*", "", text, flags=re.IGNORECASE)
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
            text = text[1:-1].strip()
    return text


def expand_prompts(
    prompts: list[EvalPrompt],
    examples: list[str],
    config: LLMConfig | None,
    cache_dir: Path,
) -> ExpansionResult:
    """Expanded copies of `prompts` (or the same prompts, mode "none", when `config` is None)."""
    if config is None:
        return ExpansionResult([p.model_copy() for p in prompts], mode="none", calls=0, cached=0, failed=0)
    from openai import OpenAI

    client = OpenAI(base_url=config.base_url, api_key=config.key(), timeout=config.timeout)
    cache_dir.mkdir(parents=True, exist_ok=True)
    expanded, calls, cached, failed = [], 0, 0, 0
    for prompt in tqdm(prompts, desc="expand prompts", unit="prompt", leave=False):
        messages = build_messages(prompt.source_prompt, examples)
        path = cache_dir / f"{cache_key(config, messages)}.json"
        if path.exists():
            text = json.loads(path.read_text())["expansion"]
            cached += 1
        else:
            response = client.chat.completions.create(
                model=config.model,
                messages=messages,
                temperature=config.temperature,
                max_tokens=config.max_tokens,
            )
            calls += 1
            text = clean_expansion(response.choices[0].message.content)
            # Write then rename, so an interrupted run never leaves a half-written cache entry.
            partial = path.with_suffix(".tmp")
            partial.write_text(json.dumps({"source": prompt.source_prompt, "expansion": text}))
            partial.replace(path)
        if text:
            expanded.append(prompt.model_copy(update={"prompt": text, "expanded": True}))
        else:
            failed += 1
            expanded.append(prompt.model_copy())
    return ExpansionResult(expanded, mode="llm", calls=calls, cached=cached, failed=failed)
