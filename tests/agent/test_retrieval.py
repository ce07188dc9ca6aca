"""Retrieval: pooling and vector maths by hand, the real MiniLM shortlist, the on-disk cache."""

from __future__ import annotations

import numpy as np
import torch

from diffagent.agent.retrieval import RetrievalIndex, cache_path, combine, mean_pool


def test_mean_pool_hand_example():
    """Tokens [1,2], [3,4], [100,100] with mask 1,1,0 -> mean of the first two = [2, 3]."""
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


def test_combine_hand_example():
    """description [2, 0] -> [1, 0]; prompts [0,1],[0,3] mean [0,2] -> [0,1]; sum [1,1] -> [.7071, .7071]."""
    got = combine(np.array([2.0, 0.0]), np.array([[0.0, 1.0], [0.0, 3.0]]))
    assert np.allclose(got, [0.70710678, 0.70710678])
    assert np.allclose(combine(np.array([0.0, 5.0]), None), [0.0, 1.0])


def test_scores_rank_by_cosine():
    index = RetrievalIndex(["a", "b", "c"], np.eye(3, dtype=np.float32), None)
    query = np.array([[0.1, 0.9, 0.5]], dtype=np.float32)
    assert [m for m, _ in index.scores(query, 2)[0]] == ["b", "c"]


def test_retrieval_selector_with_real_minilm(agent, embeddings_cache):
    answers = agent.select(
        ["pixel art sprite of a knight, 8-bit", "neon cyberpunk street in the rain"],
        top_k=2,
        selector="retrieval",
    )
    assert answers[0][0].api.model == "Pixel Art XL"
    assert answers[1][0].api.model == "Cyber Neon, v2.0"
    top = answers[0][0]
    # Parameters are Pixel Art XL's most common sample settings; its base is a catalog SDXL Checkpoint.
    assert (top.api.width, top.api.base_checkpoint, top.api.sampling_method) == (
        1024,
        "Juggernaut XL",
        "DPM++ 2M Karras",
    )
    assert top.score >= answers[0][1].score
    assert cache_path(agent.catalog.fingerprint, agent.index.embedder.name).exists()


def test_hybrid_restricts_to_the_shortlist(agent):
    agent.shortlist_size = 1
    try:
        (answer,) = agent.select(["pixel art sprite of a knight, 8-bit"], selector="hybrid")[0]
    finally:
        agent.shortlist_size = 20
    assert answer.api.model == "Pixel Art XL"
