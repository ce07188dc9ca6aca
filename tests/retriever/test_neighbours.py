"""The nearest samples' votes, the settings similarity and settings for a model with no sample."""

import numpy as np
import pytest
import scipy.sparse as sparse

from diffagent.retriever.neighbours import neighbour_votes
from diffagent.retriever.params import SampleTable, conditioned_settings


def _setting(sampler: str, width: int = 512) -> dict:
    return {
        "width": width,
        "height": 512,
        "sampling_method": sampler,
        "sampling_steps": 20,
        "cfg_scale": 7.0,
        "base_checkpoint": None,
    }


def test_neighbour_votes_hand_example():
    """Samples 0 (.9) and 1 (.8) are the 2 nearest: exp(0) = 1 for model 0, exp(-1) for model 1;
    sample 2 (.1, model 0) is not among them."""
    votes = neighbour_votes(np.array([[0.9, 0.8, 0.1]]), np.array([0, 1, 0]), 3, k=2, temperature=0.1)
    np.testing.assert_allclose(votes, [[1.0, np.exp(-1.0), 0.0]], rtol=1e-5)


def test_neighbour_votes_add_up_per_model_and_cope_with_few_samples():
    """Two samples of model 1 at the top similarity each vote 1: 2. k larger than the table
    takes every sample; an empty table votes for nobody."""
    votes = neighbour_votes(np.array([[0.5, 0.5, 0.2]]), np.array([1, 1, 0]), 2, k=10, temperature=0.1)
    np.testing.assert_allclose(votes, [[np.exp(-3.0), 2.0]], rtol=1e-5)
    assert neighbour_votes(np.zeros((2, 0)), np.zeros(0, np.int64), 3).shape == (2, 3)
    assert not neighbour_votes(np.zeros((2, 0)), np.zeros(0, np.int64), 3).any()


def test_settings_similarity_adds_the_ngram_cosine():
    """Dense [.5, .5] plus the lexical cosine of the query [1, 0] with samples [1, 0] and [0, 1]:
    [1.5, .5]. Without lexical vectors on either side it is the dense similarity."""
    lexical = sparse.csr_matrix(np.array([[1.0, 0.0], [0.0, 1.0]], np.float32))
    table = SampleTable(np.eye(2, dtype=np.float32), np.array([0, 1]), [{}, {}], lexical=lexical)
    dense = np.array([[0.5, 0.5]], np.float32)
    query = sparse.csr_matrix(np.array([[1.0, 0.0]], np.float32))
    np.testing.assert_allclose(table.settings_similarity(dense, query), [[1.5, 0.5]])
    np.testing.assert_allclose(table.settings_similarity(dense, None), dense)
    plain = SampleTable(np.eye(2, dtype=np.float32), np.array([0, 1]), [{}, {}])
    np.testing.assert_allclose(plain.settings_similarity(dense, query), dense)
    with pytest.raises(ValueError, match="3 lexical rows for 2 samples"):
        SampleTable(np.eye(2, dtype=np.float32), np.array([0, 1]), [{}, {}], lexical=sparse.eye(3).tocsr())


def test_a_model_with_no_sample_takes_its_architectures_nearest():
    """Model 2 has no sample. In group 0 with model 0 (Euler a, along the query) and model 1 (DDIM,
    across it) it takes Euler a; in a group of its own it has no vote (None: the caller's
    defaults)."""
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    settings = [_setting("Euler a", 768), _setting("DDIM")]
    shared = SampleTable(vectors, np.array([0, 1]), settings, np.array([0, 0, 0]))
    chosen = conditioned_settings(np.array([1.0, 0.0]), 2, shared, prior_neighbours=1)
    assert (chosen["sampling_method"], chosen["width"], chosen["base_checkpoint"]) == ("Euler a", 768, None)
    alone = SampleTable(vectors, np.array([0, 1]), settings, np.array([0, 0, 1]))
    assert conditioned_settings(np.array([1.0, 0.0]), 2, alone) is None


def test_a_kept_neighbours_weight_ranks_by_the_nearest_samples_votes():
    """Two models with the same vector (a dense tie: lower row first) and one sample each. The
    query copies model 1's sample, so with the neighbours signal kept model 1 ranks first; with
    its weight at 0 the tie stands. The ANN path past the threshold fuses the votes the same way."""
    from diffagent.retriever.dense import instruction_features
    from diffagent.retriever.embedder import Embedder
    from diffagent.retriever.model import Retriever

    embedder = Embedder()
    prompts, negatives = ["pixel art sprite of a knight"], [""]

    def features(prompt: list[str], negative: list[str]) -> np.ndarray:
        return instruction_features(embedder.query(prompt), embedder.query(negative))

    query, far = features(prompts, negatives), features(["a photo of a cat on a sofa"], ["lowres"])
    samples = SampleTable(
        np.concatenate([far, query]), np.array([0, 1]), [_setting("Euler a"), _setting("DDIM")]
    )
    entries = [{"model": "a"}, {"model": "b"}]
    dense = np.tile(query, (2, 1))

    def ranked(weights: dict, ann_min_models: int = 10) -> list[int]:
        retriever = Retriever(
            ["a", "b"], dense, np.zeros(2), weights, samples, embedder, entries, ann_min_models=ann_min_models
        )
        (row,), _ = retriever.rank(prompts, negatives, 2)
        return [r for r, _ in row]

    assert ranked({"dense": 1.0, "neighbours": 0.0, "bm25": 0.0}) == [0, 1]
    assert ranked({"dense": 1.0, "neighbours": 0.5}) == [1, 0]
    assert ranked({"dense": 1.0, "neighbours": 0.5}, ann_min_models=1) == [1, 0]


def test_settings_only_samples_inform_settings_but_do_not_vote():
    """A trained retriever keeps its rrhf samples after the sft ones (`voters`): they inform the
    settings, but the ranking's votes and sample counts read the sft samples alone."""
    from diffagent.retriever.dense import instruction_features
    from diffagent.retriever.embedder import Embedder
    from diffagent.retriever.model import Retriever

    embedder = Embedder()
    prompts, negatives = ["pixel art sprite of a knight"], [""]
    query = instruction_features(embedder.query(prompts), embedder.query(negatives))
    far = instruction_features(embedder.query(["a photo of a cat on a sofa"]), embedder.query(["lowres"]))
    settings = [_setting("Euler a"), _setting("DDIM")]
    samples = SampleTable(np.concatenate([far, query]), np.array([0, 1]), settings, voters=1)
    assert samples.voter_models.tolist() == [0]
    retriever = Retriever(
        ["a", "b"],
        np.tile(query, (2, 1)),
        np.zeros(2),
        {"dense": 1.0, "neighbours": 0.5},
        samples,
        embedder,
        [{"model": "a"}, {"model": "b"}],
    )
    (row,), features = retriever.rank(prompts, negatives, 2)
    assert [r for r, _ in row] == [0, 1]  # only model a's sample votes
    assert retriever.log_samples.tolist() == pytest.approx([np.log(2), 0.0])
    assert retriever.settings(features[0], 1)["sampling_method"] == "DDIM"  # b's settings-only sample
