"""The request and response bodies of POST /v1/select, and the one-line messages for refusals.

Strict: unknown fields are refused by name, and a JSON string is not a number (`"top_k": "3"`).
The page builds the same request from its form (strings, so it validates in lax mode).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from diffagent.agent.selector import SELECTORS, Selection
from diffagent.exports import DEFAULT_SEED

MAX_PROMPT_CHARS = 4000
MAX_TOP_K = 20
# C0 controls and DEL, except tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SelectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str = Field(description=f"The text-to-image prompt (1 to {MAX_PROMPT_CHARS:,} characters).")
    negative_prompt: str = Field("", description="What the image should not show.")
    top_k: int = Field(1, ge=1, le=MAX_TOP_K, description="How many ranked answers to return.")
    selector: str | None = Field(
        None, description=f"One of {SELECTORS}; default: llm when the server has an agent, else retrieval."
    )
    seed: int = Field(DEFAULT_SEED, ge=0, lt=2**32, description="The seed written into exports.")

    @field_validator("prompt", "negative_prompt")
    @classmethod
    def _text(cls, value: str, info: Any) -> str:
        if info.field_name == "prompt" and not value.strip():
            raise ValueError("prompt is empty or only whitespace")
        if len(value) > MAX_PROMPT_CHARS:
            raise ValueError(
                f"{info.field_name} has {len(value)} characters; the limit is {MAX_PROMPT_CHARS}"
            )
        bad = _CONTROL.search(value)
        if bad:
            raise ValueError(f"{info.field_name} contains control character {bad.group()!r} at {bad.start()}")
        return value

    @field_validator("selector")
    @classmethod
    def _selector(cls, value: str | None) -> str | None:
        if value is not None and value not in SELECTORS:
            raise ValueError(f"unknown selector {value!r}; expected one of {SELECTORS}")
        return value


class SelectResponse(BaseModel):
    answers: list[Selection]
    selector: str
    latency_ms: float = Field(description="Time from the request's arrival to its answers.")
    exports: list[str] | None = Field(
        None, description="With ?format=a1111|comfyui|diffusers: one per answer."
    )


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """pydantic/FastAPI validation errors as one line that names each bad field and value."""
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query")]
        field = ".".join(location) or "body"
        if error.get("type") == "extra_forbidden":
            allowed = ", ".join(SelectRequest.model_fields)
            parts.append(f"unknown field {field!r} (fields: {allowed})")
        elif error.get("type") == "json_invalid":
            parts.append(f"body is not valid JSON: {error.get('ctx', {}).get('error', error.get('msg'))}")
        else:
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            parts.append(f"{field}: {message}")
    return "; ".join(parts) or "invalid request"
