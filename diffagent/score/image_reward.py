"""ImageReward (Xu et al. 2023) on transformers' BLIP building blocks, without the `image-reward` package.

Model: a ViT-L/16 vision tower encodes the image; a BERT-base text encoder reads the prompt and
cross-attends to the image tokens; an MLP on the [CLS] state gives the reward, standardised with the
official mean and std. Weights: the official `ImageReward.pt` through `image_reward_keys`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from diffagent.score.base import batches, check_pairs, clip_transform, default_device
from diffagent.score.image_reward_keys import convert_official_state_dict, official_key_shapes

# The official reward is (mlp(x) - mean) / std with these constants (THUDM/ImageReward).
OFFICIAL_MEAN = 0.16717362830052426
OFFICIAL_STD = 1.0333394966054072
OFFICIAL_MAX_LENGTH = 35
MLP_WIDTHS = (1024, 128, 64, 16, 1)


@dataclass
class ImageRewardConfig:
    """Shapes of the model; the defaults are the official ImageReward-v1.0 ones."""

    vision_hidden: int = 1024
    vision_layers: int = 24
    vision_heads: int = 16
    vision_intermediate: int = 4096
    image_size: int = 224
    patch_size: int = 16
    text_hidden: int = 768
    text_layers: int = 12
    text_heads: int = 12
    text_intermediate: int = 3072
    vocab_size: int = 30524  # bert-base-uncased + [DEC] + [ENC]
    max_positions: int = 512
    embed_dim: int = 256
    max_length: int = OFFICIAL_MAX_LENGTH
    mean: float = OFFICIAL_MEAN
    std: float = OFFICIAL_STD

    def official_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every key of an official ImageReward state dict with its shape, at these widths."""
        return official_key_shapes(
            vision_hidden=self.vision_hidden,
            vision_layers=self.vision_layers,
            vision_intermediate=self.vision_intermediate,
            num_patches=(self.image_size // self.patch_size) ** 2,
            patch_size=self.patch_size,
            text_hidden=self.text_hidden,
            text_layers=self.text_layers,
            text_intermediate=self.text_intermediate,
            vocab_size=self.vocab_size,
            max_positions=self.max_positions,
            embed_dim=self.embed_dim,
        )

    def vision_config(self):
        from transformers import BlipVisionConfig

        return BlipVisionConfig(
            hidden_size=self.vision_hidden,
            intermediate_size=self.vision_intermediate,
            num_hidden_layers=self.vision_layers,
            num_attention_heads=self.vision_heads,
            image_size=self.image_size,
            patch_size=self.patch_size,
            layer_norm_eps=1e-6,  # BLIP's ViT uses LayerNorm(eps=1e-6)
            hidden_act="gelu",
        )

    def text_config(self):
        from transformers import BlipTextConfig

        return BlipTextConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.text_hidden,
            intermediate_size=self.text_intermediate,
            num_hidden_layers=self.text_layers,
            num_attention_heads=self.text_heads,
            max_position_embeddings=self.max_positions,
            encoder_hidden_size=self.vision_hidden,
            layer_norm_eps=1e-12,
            # transformers builds the cross-attention blocks only when is_decoder is set; the
            # forward pass is still called with is_decoder=False (bidirectional, as in BLIP's encoder).
            is_decoder=True,
            bos_token_id=None,
            sep_token_id=None,
            hidden_act="gelu",
        )


class ImageRewardModel(nn.Module):
    """vision tower + text encoder with cross-attention + MLP head; names follow the key mapping."""

    def __init__(self, config: ImageRewardConfig):
        super().__init__()
        from transformers.models.blip.modeling_blip import BlipVisionModel
        from transformers.models.blip.modeling_blip_text import BlipTextModel

        self.config = config
        self.vision = BlipVisionModel(config.vision_config())
        self.text = BlipTextModel(config.text_config(), add_pooling_layer=False)
        # BLIP's contrastive projections: unused by the reward, kept so the checkpoint loads strictly.
        self.vision_proj = nn.Linear(config.vision_hidden, config.embed_dim)
        self.text_proj = nn.Linear(config.text_hidden, config.embed_dim)
        widths = (config.text_hidden, *MLP_WIDTHS)
        layers: list[nn.Module] = []
        dropouts = (0.2, 0.2, 0.1)  # official layout: Linear, Dropout x3, then two Linears
        for index in range(len(widths) - 1):
            layers.append(nn.Linear(widths[index], widths[index + 1]))
            if index < len(dropouts):
                layers.append(nn.Dropout(dropouts[index]))
        self.mlp = nn.Module()
        self.mlp.layers = nn.Sequential(*layers)

    def forward(
        self, pixel_values: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """pixel_values (B, 3, S, S), input_ids/attention_mask (B, L) -> standardised rewards (B,)."""
        image_tokens = self.vision(pixel_values=pixel_values).last_hidden_state  # (B, 1+P, Dv)
        image_mask = torch.ones(image_tokens.shape[:-1], dtype=torch.long, device=image_tokens.device)
        text = self.text(
            input_ids=input_ids,
            attention_mask=attention_mask,
            encoder_hidden_states=image_tokens,
            encoder_attention_mask=image_mask,
            is_decoder=False,
        ).last_hidden_state  # (B, L, Dt)
        raw = self.mlp.layers(text[:, 0, :].float()).squeeze(-1)  # [CLS] -> (B,)
        return (raw - self.config.mean) / self.config.std


def load_official_weights(model: ImageRewardModel, checkpoint: Path) -> None:
    """Load `ImageReward.pt` (or a safetensors file with the same keys) strictly through the mapping."""
    if checkpoint.suffix == ".safetensors":
        from safetensors.torch import load_file

        state_dict = load_file(str(checkpoint))
    else:
        # weights_only=True: a tensor-only unpickler, so the checkpoint cannot run code.
        state_dict = torch.load(checkpoint, map_location="cpu", weights_only=True)
        state_dict = state_dict.get("state_dict", state_dict)
    result = model.load_state_dict(convert_official_state_dict(state_dict), strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise ValueError(
            f"ImageReward checkpoint {checkpoint} does not fit: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}"
        )


def load_blip_tokenizer(name_or_path: str):
    """bert-base-uncased's WordPiece plus BLIP's [DEC] (bos) and [ENC] tokens, as ImageReward trained."""
    from transformers import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(name_or_path)
    if "[DEC]" not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


class ImageRewardScorer:
    """Official-shaped ImageReward: `score(prompts, images)` -> standardised rewards."""

    name = "image_reward"

    def __init__(
        self,
        checkpoint: str | Path,
        tokenizer: str = "bert-base-uncased",
        config: ImageRewardConfig | None = None,
        device: str | None = None,
        batch_size: int = 16,
    ):
        self.config = config or ImageRewardConfig()
        self.device = device or default_device()
        self.batch_size = batch_size
        self.tokenizer = load_blip_tokenizer(tokenizer)
        self.model = ImageRewardModel(self.config)
        load_official_weights(self.model, Path(checkpoint))
        self.model.to(self.device).eval()
        self.transform = clip_transform(self.config.image_size)

    @classmethod
    def from_folder(cls, folder: Path, **kwargs) -> ImageRewardScorer:
        """A folder with config.json (ImageRewardConfig fields), weights and a tokenizer/ subfolder."""
        spec = json.loads((folder / "config.json").read_text())
        config = ImageRewardConfig(**spec["config"])
        return cls(folder / spec["weights"], str(folder / spec["tokenizer"]), config, **kwargs)

    @torch.no_grad()
    def score(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[float]:
        check_pairs(prompts, images)
        rewards: list[float] = []
        for chunk in batches(len(images), self.batch_size):
            tokens = self.tokenizer(
                [prompts[i] for i in chunk],
                padding="max_length",
                truncation=True,
                max_length=self.config.max_length,
                return_tensors="pt",
            ).to(self.device)
            pixels = torch.stack([self.transform(images[i]) for i in chunk]).to(self.device)
            out = self.model(pixels, tokens.input_ids, tokens.attention_mask)
            rewards.extend(out.float().cpu().tolist())
        return rewards


def config_to_json(config: ImageRewardConfig) -> dict:
    return asdict(config)
