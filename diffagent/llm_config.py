"""Where an OpenAI-compatible LLM lives and how it is called: one config for every caller
(DABench's model descriptions, the evaluation's prompt expansion)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr


@dataclass(frozen=True)
class LLMConfig:
    """The key comes from the environment (settings), never from a file, and never shows in a repr."""

    base_url: str
    model: str
    api_key: SecretStr | str | None = field(default=None, repr=False)
    temperature: float = 0.0
    max_tokens: int = 200
    timeout: float = 60.0  # seconds per request
    concurrency: int = 4  # requests in flight (DABench descriptions)
    max_attempts: int = 3

    def key(self) -> str:
        """The key for the client; local servers take any, so "not-needed" when none is set."""
        if isinstance(self.api_key, SecretStr):
            return self.api_key.get_secret_value()
        return self.api_key or "not-needed"
