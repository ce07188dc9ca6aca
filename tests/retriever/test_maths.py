"""The retriever's pure functions against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sparse

from diffagent.retriever.dense import centroids, instruction_features
from diffagent.retriever.fusion import bagged_weights, fuse, hit_rates, top_k, tune_weights, zscore
from diffagent.retriever.lexical import TriggerWords, inverse_document_frequency, tfidf, word_ngrams
from diffagent.retriever.metrics import parameter_agreement, selection_summary
from diffagent.retriever.params import SampleTable, conditioned_settings, weighted_mode
from schemas.t2i import T2IApi


def test_zscore_hand_example():
    """[1, 2, 3]: mean 2, std sqrt(2/3) = 0.8165 -> [-1.2247, 0, 1.2247]; a constant row -> 0."""
    assert np.allclose(zscore(np.array([[1.0, 2.0, 3.0]])), [[-1.2247449, 0.0, 1.2247449]])
    assert zscore(np.array([[5.0, 5.0]])).tolist() == [[0.0, 0.0]]


def test_fuse_weights_zscores_and_skips_zero_weights():
    """a = [1, 2, 3] -> z [-1.22, 0, 1.22]; b = [3, 2, 1] -> z reversed; 1*a + 0.5*b = [-0.61, 0, 0.61]."""
    signals = {"a": np.array([[1.0, 2.0, 3.0]]), "b": np.array([[3.0, 2.0, 1.0]]), "c": np.ones((1, 3))}
    assert np.allclose(fuse(signals, {"a": 1.0, "b": 0.5, "c": 0.0}), [[-0.6123724, 0.0, 0.6123724]])
    with pytest.raises(ValueError, match="no signal has a weight"):
        fuse(signals, {"a": 0.0})


def test_top_k_and_hit_rates_hand_example():
    """rows [.9, .1, .5] and [.2, .3, .1], truth [2, 1]: top-1 [0], [1] -> 1 of 2; top-2 both hit."""
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.1]])
    assert top_k(scores, 2).tolist() == [[0, 2], [1, 0]]
    assert hit_rates(scores, [2, 1], ks=(1, 2)) == {1: 0.5, 2: 1.0}


def test_tune_weights_keeps_a_signal_only_when_it_helps():
    """Anchor ranks model 1 first for both rows (truth 0, 0); `good` puts 0 first: its weight rises.
    `noise` favours model 2 and cannot raise the objective: it stays 0."""
    anchor = np.array([[0.5, 0.6, 0.0, 0.0, 0.0, 0.0], [0.5, 0.6, 0.0, 0.0, 0.0, 0.0]])
    good = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0]] * 2)
    noise = np.array([[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]] * 2)
    weights, best = tune_weights({"dense": anchor, "good": good, "noise": noise}, [0, 0], anchor="dense")
    assert weights["dense"] == 1.0 and weights["good"] > 0 and weights["noise"] == 0.0
    assert best == 2.0  # top-1 and top-5 both hit every row


def test_centroids_hand_example():
    """Two samples of model 0: [1,0,0,0] and [0,1,0,0] -> [.7071, .7071, 0, 0]; model 1 has none:
    [card [0, 1], fill [1, 0]] -> [0, .7071, .7071, 0]."""
    features = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]], np.float32)
    got = centroids(features, [0, 0], np.array([[9.0, 9.0], [0.0, 1.0]]), np.array([1.0, 0.0]))
    assert np.allclose(got, [[0.7071068, 0.7071068, 0, 0], [0, 0.7071068, 0.7071068, 0]])
    assert instruction_features(np.ones((1, 2)), np.ones((1, 2)), 1.5).tolist() == [[1, 1, 1.5, 1.5]]


def test_idf_and_tfidf_hand_example():
    """3 documents; column 0 in all (idf log(4/4)+1 = 1), column 1 in one (log(4/2)+1 = 1.6931).
    Row [4, 1]: sublinear tf [1 + log 4, 1] = [2.3863, 1] * idf [1, 1.6931] -> unit length."""
    counts = sparse.csr_matrix(np.array([[4.0, 1.0], [1.0, 0.0], [2.0, 0.0]]))
    idf = inverse_document_frequency(counts)
    assert np.allclose(idf, [1.0, 1.6931472])
    row = np.array([2.3862944, 1.6931472])
    assert np.allclose(tfidf(counts, idf).toarray()[0], row / np.linalg.norm(row))


def test_trigger_words_weight_rare_words_higher():
    """'pixel art' is one model's word (weight log(1 + 3/1)); 'style' belongs to two models
    (log(1 + 3/2)); 'xl' is under 3 characters and never counts."""
    assert word_ngrams("Pixel art, knight") >= {"pixel", "pixel art", "art knight", "pixel art knight"}
    triggers = TriggerWords([["Pixel Art", "style"], ["style"], ["xl"]])
    scores = triggers.scores(["pixel art style knight, xl"])
    assert np.allclose(scores, [[np.log(4) + np.log(2.5), np.log(2.5), 0.0]])


def test_weighted_mode_hand_example():
    """a: .9 + .2 = 1.1, b: .5 + .5 = 1.0, c: 1.0 -> a; equal totals keep the first seen."""
    assert weighted_mode(["a", "b", "b", "a", "c"], [0.9, 0.5, 0.5, 0.2, 1.0]) == "a"
    assert weighted_mode(["x", "y"], [1.0, 1.0]) == "x"


def test_conditioned_settings_follow_the_nearest_samples():
    """Model 0 has one portrait sample along [1, 0] and two landscape samples along [0, 1]. A query
    along [1, 0] (2 neighbours: portrait 1.0, a landscape 0.0) takes the portrait's settings; a
    query along [0, 1] (both landscapes, 1.0 each) takes theirs, although the model's most common
    setting would be the same either way."""
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
    settings = [
        {
            "width": 512,
            "height": 768,
            "sampling_method": "Euler a",
            "sampling_steps": 20,
            "cfg_scale": 7.0,
            "base_checkpoint": "A",
        },
        {
            "width": 768,
            "height": 512,
            "sampling_method": "DDIM",
            "sampling_steps": 40,
            "cfg_scale": 5.0,
            "base_checkpoint": "B",
        },
        {
            "width": 768,
            "height": 512,
            "sampling_method": "DDIM",
            "sampling_steps": 40,
            "cfg_scale": 5.0,
            "base_checkpoint": "B",
        },
        {
            "width": 1024,
            "height": 1024,
            "sampling_method": "UniPC",
            "sampling_steps": 9,
            "cfg_scale": 3.0,
            "base_checkpoint": None,
        },
    ]
    table = SampleTable(vectors, np.array([0, 0, 0, 1]), settings)
    portrait = conditioned_settings(np.array([1.0, 0.0]), 0, table, neighbours=2)
    assert (portrait["width"], portrait["height"], portrait["base_checkpoint"]) == (512, 768, "A")
    landscape = conditioned_settings(np.array([0.0, 1.0]), 0, table, neighbours=2)
    assert (landscape["width"], landscape["sampling_method"], landscape["sampling_steps"]) == (
        768,
        "DDIM",
        40,
    )
    assert conditioned_settings(np.array([1.0, 0.0]), 1, table)["base_checkpoint"] is None
    # No sample of its own and no prior vote: the caller's defaults.
    assert conditioned_settings(np.array([1.0, 0.0]), 7, table, prior_weight=0.0) is None
    # A batch's precomputed similarities give the same answer as one computed per query.
    query = np.array([0.6, 0.8])
    assert conditioned_settings(query, 0, table, similarity=vectors @ query) == conditioned_settings(
        query, 0, table
    )


def test_parameter_agreement_hand_example():
    """Euler a / 25 / 7.5 / 512x768 against Euler a / 20 / 8.6 / 512x512: sampler yes, steps yes
    (5 apart), CFG no (1.1 apart), size no."""
    api = T2IApi(
        model="m",
        type="Checkpoint",
        base_model="SD 1.5",
        model_id=1,
        version_id=2,
        width=512,
        height=768,
        sampling_method="Euler a",
        sampling_steps=25,
        cfg_scale=7.5,
    )
    truth = {
        "model": "m",
        "width": 512,
        "height": 512,
        "sampling_method": "Euler a",
        "sampling_steps": 20,
        "cfg_scale": 8.6,
    }
    assert parameter_agreement(api, truth) == {"sampler": True, "steps": True, "cfg": False, "size": False}
    other = {**truth, "model": "n"}
    summary = selection_summary([[api], [None, api]], [truth, other], k=5)
    assert summary["top1"] == 0.5 and summary["top5"] == 0.5 and summary["sampler"] == 0.5


def _setting(sampler: str, base: str | None) -> dict:
    return {
        "width": 512,
        "height": 512,
        "sampling_method": sampler,
        "sampling_steps": 20,
        "cfg_scale": 7.0,
        "base_checkpoint": base,
    }


def test_prior_vote_of_same_architecture_samples():
    """Model 0 (one sample, Euler a, similarity 0.6) and model 1 (three DDIM samples, similarity
    1 each). In one group, Euler a gets 0.6 (own) + 0.25 * 0.6 (prior) = 0.75, DDIM
    0.25 * 3 = 0.75 -> a tie, the first seen (own: Euler a) wins; with four DDIM samples DDIM gets
    1.0 and wins, while the base checkpoint still comes from model 0's own sample only. In
    different groups the prior sees model 0's sample alone: Euler a."""
    query = np.array([1.0, 0.0], np.float32)
    vectors = np.array([[0.6, 0.8]] + [[1.0, 0.0]] * 4, np.float32)
    settings = [_setting("Euler a", "A")] + [_setting("DDIM", "B")] * 4
    tied = SampleTable(vectors[:4], np.array([0, 1, 1, 1]), settings[:4], np.array([0, 0]))
    assert conditioned_settings(query, 0, tied)["sampling_method"] == "Euler a"
    one_group = SampleTable(vectors, np.array([0, 1, 1, 1, 1]), settings, np.array([0, 0]))
    chosen = conditioned_settings(query, 0, one_group)
    assert (chosen["sampling_method"], chosen["base_checkpoint"]) == ("DDIM", "A")
    two_groups = SampleTable(vectors, np.array([0, 1, 1, 1, 1]), settings, np.array([0, 1]))
    assert conditioned_settings(query, 0, two_groups)["sampling_method"] == "Euler a"
    assert conditioned_settings(query, 0, one_group, prior_weight=0.0)["sampling_method"] == "Euler a"


def test_bagged_weights_average_the_resamples():
    """A signal that ranks every row's truth first is kept in every resample (the anchor alone
    ranks them last), so its bagged weight is the grid weight every resample picks; a signal of
    constant scores never helps and stays 0."""
    truth = np.array([0, 1, 2, 0])
    anchor = -np.eye(3)[truth]  # truth scored lowest
    perfect = np.eye(3)[truth] * 10
    constant = np.ones((4, 3))
    signals = {"dense": anchor, "good": perfect, "flat": constant}
    once, _ = tune_weights(signals, truth, anchor="dense")
    bagged = bagged_weights(signals, truth, "dense", resamples=5, seed=0)
    assert bagged == {"dense": 1.0, "good": once["good"], "flat": 0.0}
    assert bagged_weights(signals, truth, "dense", resamples=0) == once
