"""CLIP score and HPS v2 on tiny open_clip models, and the scorer set."""

from __future__ import annotations

import math

import pytest
import torch

from diffagent.profiles import load_scorers
from diffagent.score.clip_score import ClipScorer, clip_score_from_cosine
from diffagent.score.hps import HpsV2Scorer
from diffagent.score.scorers import load_tiny_scorers
from tests.score.conftest import PROMPTS


def test_clip_score_rescaling_by_hand():
    """2.5 * max(cos, 0): cos 0.3 -> 0.75; cos -0.2 -> 0."""
    assert clip_score_from_cosine(0.3) == pytest.approx(0.75)
    assert clip_score_from_cosine(-0.2) == 0.0


def pair_cosines(scorer, prompts, images) -> list[float]:
    """Cosine of each (prompt, image) pair, one pair at a time through the open_clip model."""
    cosines = []
    with torch.no_grad():
        for prompt, picture in zip(prompts, images, strict=True):
            pixels = scorer.preprocess(picture.convert("RGB")).unsqueeze(0)
            image = scorer.model.encode_image(pixels, normalize=True)
            text = scorer.model.encode_text(scorer.tokenizer([prompt]), normalize=True)
            cosines.append(float((image * text).sum()))
    return cosines


def test_clip_score_matches_the_model_cosine(tiny_scorer_dir, images):
    """Every pair of the batch (not only the first): a batching or pairing mistake fails here."""
    scorer = ClipScorer.from_folder(tiny_scorer_dir / "clip", device="cpu")
    scores = scorer.score(PROMPTS, images)
    expected = [2.5 * max(c, 0.0) for c in pair_cosines(scorer, PROMPTS, images)]
    assert scores == pytest.approx(expected, abs=1e-5)
    swapped = scorer.score(PROMPTS[::-1], images)
    assert swapped == pytest.approx(
        [2.5 * max(c, 0.0) for c in pair_cosines(scorer, PROMPTS[::-1], images)], abs=1e-5
    )


def test_hps_loads_state_dict_format_and_refuses_a_wrong_one(tiny_scorer_dir, images, tmp_path):
    scorer = HpsV2Scorer.from_folder(tiny_scorer_dir / "hps", device="cpu")
    scores = scorer.score(PROMPTS, images)
    assert scores == pytest.approx(pair_cosines(scorer, PROMPTS, images), abs=1e-5)
    state = torch.load(tiny_scorer_dir / "hps" / "HPS_v2_tiny.pt", weights_only=True)["state_dict"]
    state.pop("logit_scale")
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="missing \\['logit_scale'\\]"):
        HpsV2Scorer(tmp_path / "bad.pt", "diffagent-tiny-hps", device="cpu")


def test_scorer_set_rows(tiny_scorer_dir, images):
    scorers = load_tiny_scorers(tiny_scorer_dir, device="cpu")
    rows = scorers.score_rows(PROMPTS, images)
    assert [set(row) for row in rows] == [{"clip_score", "image_reward", "hps_v2"}] * 3
    assert all(math.isfinite(v) for row in rows for v in row.values())


def test_unknown_profile():
    with pytest.raises(ValueError, match="'huge'"):
        load_scorers("huge")
