"""ImageReward on transformers' BLIP blocks: official key layout, strict loading, tiny scoring."""

from __future__ import annotations

import math

import pytest
import torch

from diffagent.score.image_reward import (
    ImageRewardConfig,
    ImageRewardModel,
    ImageRewardScorer,
    load_official_weights,
)
from diffagent.score.image_reward_keys import (
    convert_official_state_dict,
    map_official_key,
)
from tests.score.conftest import PROMPTS


def test_official_full_size_layout_loads_with_no_missing_or_unexpected_keys():
    """The real ImageReward-v1.0 shapes (ViT-L/16 at 224, BERT-base, 30524 tokens), on the meta device.

    Key count by hand: vision 4 (cls, pos, patch w/b) + 24 blocks x 12 + 2 (norm) = 294;
    text 1 (position_ids) + 2 (word, position) + 2 (LayerNorm) + 12 layers x 26 = 317
    (per layer: 2 attentions x (q, k, v, dense x w/b + LayerNorm w/b = 10) = 20,
    intermediate w/b 2, output dense + LayerNorm 4);
    vision_proj/text_proj 4; mlp 5 linears x 2 = 10. Total 294 + 317 + 4 + 10 = 625.
    """
    config = ImageRewardConfig()
    shapes = config.official_shapes()
    assert len(shapes) == 625
    assert shapes["blip.visual_encoder.pos_embed"] == (1, 197, 1024)
    assert shapes["blip.visual_encoder.blocks.23.attn.qkv.weight"] == (3072, 1024)
    assert shapes["blip.text_encoder.encoder.layer.11.crossattention.self.key.weight"] == (768, 1024)
    assert shapes["blip.text_encoder.embeddings.word_embeddings.weight"] == (30524, 768)
    assert shapes["mlp.layers.0.weight"] == (1024, 768)
    assert shapes["mlp.layers.7.weight"] == (1, 16)
    with torch.device("meta"):
        model = ImageRewardModel(config)
        state_dict = {key: torch.empty(shape) for key, shape in shapes.items()}
    result = model.load_state_dict(convert_official_state_dict(state_dict), strict=True, assign=True)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_tiny_official_state_dict_loads_strictly(tmp_path):
    """A small config written with the official names loads with zero missing/unexpected keys."""
    config = ImageRewardConfig(
        vision_hidden=16, vision_layers=1, vision_heads=2, vision_intermediate=32, image_size=32,
        patch_size=16, text_hidden=16, text_layers=1, text_heads=2, text_intermediate=32,
        vocab_size=40, max_positions=40, embed_dim=8,
    )  # fmt: skip
    state_dict = {key: torch.full(shape, 0.5) for key, shape in config.official_shapes().items()}
    torch.save(state_dict, tmp_path / "ImageReward.pt")
    model = ImageRewardModel(config)
    load_official_weights(model, tmp_path / "ImageReward.pt")
    assert torch.equal(model.vision.embeddings.class_embedding, torch.full((1, 1, 16), 0.5))
    assert torch.equal(model.text.encoder.layer[0].crossattention.self.key.weight, torch.full((16, 16), 0.5))
    del state_dict["mlp.layers.7.bias"]
    torch.save(state_dict, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match=r"missing \['mlp.layers.7.bias'\]"):
        load_official_weights(ImageRewardModel(config), tmp_path / "broken.pt")


def test_key_mapping_examples_and_unknown_key():
    assert map_official_key("blip.visual_encoder.blocks.3.attn.proj.weight") == (
        "vision.encoder.layers.3.self_attn.projection.weight"
    )
    assert map_official_key("blip.visual_encoder.norm.bias") == "vision.post_layernorm.bias"
    assert map_official_key("blip.text_encoder.embeddings.position_ids") is None
    with pytest.raises(ValueError, match="blip.momentum_encoder.x"):
        map_official_key("blip.momentum_encoder.x")


@pytest.fixture(scope="module")
def scorer(tiny_scorer_dir):
    return ImageRewardScorer.from_folder(tiny_scorer_dir / "image_reward", device="cpu", batch_size=2)


def test_tiny_scores_are_finite_and_batch_invariant(scorer, images):
    scores = scorer.score(PROMPTS, images)
    assert len(scores) == 3 and all(math.isfinite(s) for s in scores)
    one_by_one = [scorer.score([p], [i])[0] for p, i in zip(PROMPTS, images, strict=True)]
    assert one_by_one == pytest.approx(scores, abs=1e-5)
    assert len(set(round(s, 6) for s in scores)) == 3


def test_text_encoder_is_bidirectional(scorer, images):
    """[CLS] sees later tokens: changing only the last word changes the reward (a causal mask would not)."""
    first = scorer.score(["a cat on a mat"], images[:1])[0]
    second = scorer.score(["a cat on a dog"], images[:1])[0]
    assert first != pytest.approx(second, abs=1e-7)


def test_prompt_count_must_match(scorer, images):
    with pytest.raises(ValueError, match="2 prompts for 3 images"):
        scorer.score(PROMPTS[:2], images)
