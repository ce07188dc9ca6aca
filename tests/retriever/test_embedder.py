"""Retrieval: pooling and vector maths by hand, the real MiniLM shortlist, the on-disk cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffagent.retriever.embedder import (
    Embedder,
    RetrievalIndex,
    candidates_within,
    mean_pool,
    resolve_precision,
    scan_error_bound,
    torch_threads,
)


def test_mean_pool_hand_example():
    """Tokens [1,2], [3,4], [100,100] with mask 1,1,0 -> mean of the first two = [2, 3]."""
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


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
    cached = list((embeddings_cache / "retriever").glob("untrained-*.npz"))
    assert len(cached) == 1  # the sample and card vectors, keyed by catalog, samples and embedder


def test_hybrid_restricts_to_the_shortlist(agent):
    agent.shortlist_size = 1
    try:
        (answer,) = agent.select(["pixel art sprite of a knight, 8-bit"], selector="hybrid")[0]
    finally:
        agent.shortlist_size = 20
    assert answer.api.model == "Pixel Art XL"


def test_scan_error_bound_hand_example():
    """Unit vectors, dim 384: 3 * 2^-11 + 2^-22 + 384 * 2^-24 = 0.00146484 + 0.00000024 + 0.00002289."""
    assert scan_error_bound(1.0, 1.0, 384) == pytest.approx(0.00148797, abs=1e-8)
    assert scan_error_bound(2.0, 1.0, 384) == pytest.approx(2 * 0.00148797, abs=1e-8)


def test_candidates_within_hand_example():
    """approx [0.9, 0.5, 0.49, 0.1], error 0.01: n=1 keeps >= 0.88 -> [0]; n=2 keeps >= 0.48 -> [0, 1, 2]."""
    approx = np.array([0.9, 0.5, 0.49, 0.1])
    assert candidates_within(approx, 1, 0.01).tolist() == [0]
    assert candidates_within(approx, 2, 0.01).tolist() == [0, 1, 2]


def test_float16_scan_then_exact_rerank_equals_the_exact_search():
    """20,000 unit vectors (above SCAN_MIN_ROWS) with near-ties (rows 0-99 are tiny perturbations
    of one vector): the float16 scan stays within its error bound, and scan + float32 re-scoring
    gives the same top-5 models and cosines as a brute float32 search."""
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((20_000, 384), dtype=np.float32)
    matrix[:100] = matrix[0] + 1e-3 * rng.standard_normal((100, 384), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    index = RetrievalIndex([f"m{i}" for i in range(len(matrix))], matrix, None)
    assert index._scan is not None
    queries = matrix[[0, 5, 500, 9000]] + 0.3 * rng.standard_normal((4, 384), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    approx = (torch.from_numpy(queries).half() @ index._scan.T).float().numpy()
    assert np.abs(approx - queries @ matrix.T).max() <= scan_error_bound(1.0, 1.0, 384)
    for query, got in zip(queries, index.scores(queries, 5), strict=True):
        exact = matrix @ query
        best = np.argsort(-exact, kind="stable")[:5]
        assert [m for m, _ in got] == [f"m{i}" for i in best]
        assert np.allclose([s for _, s in got], exact[best], atol=1e-6)
    with pytest.raises(ValueError, match="n >= 1"):
        index.scores(queries, 0)


def test_precision_setting_is_checked():
    with pytest.raises(ValueError, match="fp16"):
        resolve_precision("fp16")
    assert resolve_precision("fp32") == "fp32"


PROMPTS = [
    "a photo of a woman, cinematic lighting, 85mm",
    "pixel art sprite of a knight, 8-bit",
    "夜の東京、ネオン、雨",
    "ein Schloss im Nebel, Ölgemälde",
    "masterpiece, best quality, 1girl, solo, (extremely detailed:1.2), <lora:foo:0.8>",
    "a castle at dawn, " * 40,
]


def test_bf16_embedder_stays_close_to_fp32(agent):
    """bf16 (the default where the CPU has native kernels) must keep cosine > 0.98 to float32 on
    sample prompts (measured: > 0.999; int8 dynamic quantization gave 0.94 and was not adopted)."""
    fp32 = Embedder(precision="fp32")
    bf16 = Embedder(precision="bf16")
    assert bf16.key != fp32.key  # the catalog matrix cache keeps them apart
    cosines = (fp32.embed(PROMPTS) * bf16.embed(PROMPTS)).sum(1)
    assert cosines.min() > 0.98


def test_query_cache_is_an_lru_of_exact_texts(agent):
    embedder = Embedder(precision="fp32", cache_size=2)
    first = embedder.query(PROMPTS[:2])
    assert np.allclose(first, embedder.embed(PROMPTS[:2]), atol=1e-6)
    embedder.query([PROMPTS[0], PROMPTS[2]])  # PROMPTS[1] is now the least recently used
    assert list(embedder._cache) == [PROMPTS[0], PROMPTS[2]]
    assert np.array_equal(embedder.query([PROMPTS[0]])[0], first[0])
    embedder.clear_cache()
    assert not embedder._cache


def test_query_threads_are_restored():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before


def test_bulk_embed_encodes_each_distinct_text_once_in_input_order(agent):
    """Repeats and a length-sorted batch order change nothing: each row equals that text alone."""
    embedder = Embedder(precision="fp32", batch_size=2)
    texts = [PROMPTS[2], PROMPTS[0], PROMPTS[2], "", PROMPTS[1]]
    seen: list[int] = []
    forward = embedder.model.forward
    embedder.model.forward = lambda **batch: seen.append(len(batch["input_ids"])) or forward(**batch)
    together = embedder.embed(texts)
    assert sum(seen) == 4  # four distinct texts
    alone = np.concatenate([embedder.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.model.config.hidden_size)
