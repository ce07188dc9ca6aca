"""Settings read from the environment (prefix `DIFFAGENT_`) or a `.env` file.

Secrets are `SecretStr`: their value never appears in a repr, a log line or an artifact.
The Civitai key is also read from the conventional `CIVITAI_API_KEY`, and the LLM key from
`OPENAI_API_KEY`, because that is where users already keep them.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIFFAGENT_", env_file=".env", extra="ignore")

    civitai_url: str = "https://civitai.com/api/v1"
    civitai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DIFFAGENT_CIVITAI_API_KEY", "CIVITAI_API_KEY")
    )
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DIFFAGENT_LLM_API_KEY", "OPENAI_API_KEY")
    )
    cache_dir: str = "~/.cache/diffagent"


def get_settings() -> Settings:
    return Settings()
