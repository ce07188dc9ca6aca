"""Where the real scorer weights come from (environment `DIFFAGENT_*`, or parameters).

A weights value is a local path or `hf:OWNER/REPO/FILE` (fetched once with huggingface_hub into
its cache). Nothing is fetched for the tiny profile.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ScorerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIFFAGENT_", env_file=".env", extra="ignore")

    clip_model: str = "ViT-B-32"
    clip_pretrained: str | None = "openai"  # open_clip tag or a weights file
    hps_model: str = "ViT-H-14"
    hps_checkpoint: str = "hf:xswu/HPSv2/HPS_v2.1_compressed.pt"
    image_reward_checkpoint: str = "hf:THUDM/ImageReward/ImageReward.pt"
    image_reward_tokenizer: str = "bert-base-uncased"
    scorer_device: str | None = None
    scorer_batch_size: int = 16


def resolve_weights(value: str) -> Path:
    """A local file for `value`: the path itself, or a hub file named `hf:OWNER/REPO/FILE`."""
    if value.startswith("hf:"):
        parts = value.removeprefix("hf:").split("/")
        if len(parts) < 3:
            raise ValueError(f"hub weights must look like hf:OWNER/REPO/FILE, got {value!r}")
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download("/".join(parts[:2]), "/".join(parts[2:])))
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValueError(f"scorer weights {value!r} is neither an existing file nor hf:OWNER/REPO/FILE")
    return path
