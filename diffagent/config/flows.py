"""The base of every flow's config: a profile's values under the ones given, unknown keys refused."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from diffagent.config.profiles import deep_merge, profile_section, profile_weights


class FlowConfig(BaseModel):
    """Settings of one flow run. A value given wins over the profile's, which wins over the default."""

    model_config = ConfigDict(extra="forbid")
    flow: ClassVar[str]

    profile: str = Field(
        "default",
        description="Named settings (default, tiny) or a profile .yaml file; tiny also means tiny "
        "random-weight models for the LLM, renderer and scorers.",
    )

    @model_validator(mode="before")
    @classmethod
    def _profile_values(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        profile = data.get("profile") or "default"
        return deep_merge(profile_section(profile, cls.flow), {**data, "profile": profile})

    @property
    def weights(self) -> str:
        """`default` (real weights) or `tiny` (tiny random-weight models), from the profile."""
        return profile_weights(self.profile)

    def to_parameters(self) -> dict[str, Any]:
        """The flow's parameters for this config (what a deployment run is given)."""
        return {"config": self.model_dump(mode="json")}
