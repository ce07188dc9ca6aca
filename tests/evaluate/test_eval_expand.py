"""Prompt expansion against a real OpenAI-compatible HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from diffagent.evaluate.expand import LLMConfig, build_messages, clean_expansion, expand_prompts
from schemas.evaluation import EvalPrompt


def _prompts(*texts: str) -> list[EvalPrompt]:
    return [
        EvalPrompt(dataset="coco", prompt_id=f"c{i}", source_prompt=t, prompt=t) for i, t in enumerate(texts)
    ]


def test_clean_expansion_strips_label_quotes_and_newlines() -> None:
    assert clean_expansion('"Prompt: a cat,\n  oil painting"') == "a cat, oil painting"
    assert clean_expansion("Expanded prompt: 'x'") == "x"
    assert clean_expansion("  ") == "" and clean_expansion(None) == ""


def test_examples_go_into_the_system_message() -> None:
    messages = build_messages("a cat", ["masterpiece, castle", "photo, dog"])
    assert messages[-1] == {"role": "user", "content": "a cat"}
    assert "1. masterpiece, castle\n2. photo, dog" in messages[0]["content"]


def test_expansion_calls_the_server_once_then_serves_the_cache(chat_server, tmp_path: Path) -> None:
    config = LLMConfig(base_url=f"http://127.0.0.1:{chat_server.server_address[1]}/v1", model="tiny-chat")
    prompts = _prompts("a cat on a mat", "two dogs", "EMPTY answer please")
    first = expand_prompts(prompts, ["masterpiece, castle"], config, tmp_path / "cache")
    assert (first.mode, first.calls, first.cached, first.failed) == ("llm", 3, 0, 1)
    assert first.prompts[0].prompt == "a cat on a mat, highly detailed, soft light"
    assert first.prompts[0].expanded and first.prompts[0].source_prompt == "a cat on a mat"
    assert not first.prompts[2].expanded and first.prompts[2].prompt == "EMPTY answer please"
    body = chat_server.requests[0]
    assert body["model"] == "tiny-chat" and "masterpiece, castle" in body["messages"][0]["content"]

    again = expand_prompts(prompts, ["masterpiece, castle"], config, tmp_path / "cache")
    assert (again.calls, again.cached) == (0, 3)
    assert len(chat_server.requests) == 3
    assert [p.prompt for p in again.prompts] == [p.prompt for p in first.prompts]

    other_examples = expand_prompts(prompts[:1], ["photo, dog"], config, tmp_path / "cache")
    assert other_examples.calls == 1


def test_without_an_llm_prompts_stay_as_they_are(tmp_path: Path) -> None:
    result = expand_prompts(_prompts("a cat"), ["x"], None, tmp_path)
    assert result.mode == "none" and result.calls == 0
    assert result.prompts[0].prompt == "a cat" and not result.prompts[0].expanded
