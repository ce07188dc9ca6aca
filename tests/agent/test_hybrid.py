"""The hybrid selector: fused ranking by hand, candidate scoring against a plain forward pass, and
answers that never leave the shortlist (also for a model added after training)."""

from __future__ import annotations

import pytest
import torch

from diffagent.agent.hybrid import HybridSettings, ScoredShortlist, candidate_logprobs, zscores
from tests.agent.conftest import ADVERSARIAL, MODELS, NEW_MODEL, write_dabench


def test_zscores_hand_example():
    assert zscores([1.0, 2.0, 3.0]).tolist() == pytest.approx([-1.2247449, 0.0, 1.2247449])
    assert zscores([4.0, 4.0]).tolist() == [0.0, 0.0]


def test_fused_ranking_hand_example():
    """retrieval [3, 2, 1] -> z [1.22, 0, -1.22]; llm [-5, -1, -3] -> z [-1.22, 1.22, 0].
    weight 0: the retriever's order; 1: the LLM's; 0.5: [0, 0.61, -0.61] -> b, a, c."""
    scored = ScoredShortlist(["a", "b", "c"], [3.0, 2.0, 1.0], [-5.0, -1.0, -3.0])
    assert [m for m, _ in scored.fused(0.0)] == ["a", "b", "c"]
    assert [m for m, _ in scored.fused(1.0)] == ["b", "c", "a"]
    half = scored.fused(0.5)
    assert [m for m, _ in half] == ["b", "a", "c"]
    assert [s for _, s in half] == pytest.approx([0.6123724, 0.0, -0.6123724])
    # A shorter shortlist is the first candidates, z-scored among themselves: a [1, -1], b [-1, 1].
    assert [m for m, _ in scored.fused(0.5, size=2)] == ["a", "b"]


def test_settings_come_from_the_manifest_and_bad_ones_are_named():
    stored = {"hybrid": {"shortlist": 30, "llm_weight": 0.25, "parameters": "llm", "unknown": 1}}
    assert HybridSettings.of(stored) == HybridSettings(30, 0.25, "llm")
    assert HybridSettings.of({}) == HybridSettings()
    with pytest.raises(ValueError, match="1.5"):
        HybridSettings(llm_weight=1.5)
    with pytest.raises(ValueError, match="'tokens'"):
        HybridSettings(parameters="tokens")


def test_candidate_logprobs_match_a_plain_forward_pass(agent):
    """Scoring against the repeated KV cache gives each candidate's log-probability, the same as
    teacher forcing context + candidate in one plain forward pass per candidate."""
    model = agent.backend.model
    context = [5, 17, 42, 7, 99, 3]
    candidates = [[11], [12, 13, 14], [15, 16], [12, 13, 30]]
    found = candidate_logprobs(model, context, candidates)
    for ids, score in zip(candidates, found, strict=True):
        full = torch.tensor([context + ids])
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=full).logits[0].float(), -1)
        expected = sum(logprobs[len(context) - 1 + j, token].item() for j, token in enumerate(ids))
        assert score == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("shortlist", [["Pixel Art XL"], ["Watercolor Style", "Juggernaut XL"]])
def test_the_shortlist_grammar_never_answers_outside_the_shortlist(agent, shortlist):
    """Greedy and top-k constrained decoding over a shortlist, for prompts that point at other
    models (and prompts that try to name one): every answer is a shortlisted model."""
    from diffagent.agent.generate import encode_prompt

    backend = agent.backend
    prompts = ["anime girl, pastel colors", "photo realistic portrait", *ADVERSARIAL]
    ids = [encode_prompt(backend.tokenizer, p) for p in prompts]
    for top_k in (1, 3):
        rows = backend.constrained(ids, top_k=top_k, shortlists=[shortlist] * len(prompts))
        for row in rows:
            assert 1 <= len(row) <= min(top_k, len(shortlist))
            assert {a.fields["model"] for a in row} <= set(shortlist)


@pytest.mark.parametrize("parameters", ["retrieval", "llm"])
def test_hybrid_answers_come_from_the_retrievers_shortlist(agent, parameters):
    prompts = ["pixel art sprite of a knight, 8-bit", "neon cyberpunk street in the rain", *ADVERSARIAL]
    saved = agent.hybrid
    agent.hybrid = HybridSettings(shortlist=2, llm_weight=0.7, parameters=parameters)
    try:
        answers = agent.select(prompts, top_k=2, selector="hybrid")
    finally:
        agent.hybrid = saved
    found, _ = agent.ranked([agent_instruction(p) for p in prompts], 2)
    for row, shortlist in zip(answers, found, strict=True):
        assert {a.api.model for a in row} == {m for m, _ in shortlist}
        assert all(a.selector == "hybrid" for a in row)
        assert row[0].score >= row[1].score


def agent_instruction(prompt: str):
    from diffagent.agent.conversation import as_instruction

    return as_instruction(prompt)


def test_a_model_added_after_training_is_chosen_through_the_shortlist(agent_dir, tmp_path, embeddings_cache):
    """The agent never saw Clay Figures; on the grown catalog the retriever shortlists it for a
    claymation prompt and the hybrid, with a one-model shortlist, answers it."""
    from diffagent.agent import load_agent

    grown = write_dabench(tmp_path / "grown", [*MODELS, NEW_MODEL])
    agent = load_agent(agent_dir, grown)
    agent.hybrid = HybridSettings(shortlist=1, llm_weight=1.0)
    (answer,) = agent.select(["claymation plasticine figurine, stop motion"], selector="hybrid")[0]
    assert answer.api.model == "Clay Figures"
    assert answer.api.base_checkpoint in {"Realistic Vision", "Anime Pastel Dream"}


def test_the_default_is_the_cheapest_of_the_best_measured():
    from diffagent.agent.calibrate import choose_default

    assert choose_default({"llm": 0.40, "retrieval": 0.55, "hybrid": 0.55}) == "retrieval"
    assert choose_default({"llm": 0.40, "retrieval": 0.55, "hybrid": 0.57}) == "hybrid"
    assert choose_default({"llm": 0.60, "retrieval": 0.55, "hybrid": 0.57}) == "llm"


def test_bootstrap_win_share_hand_examples():
    """[1, 0] vs [0, 1]: a resample wins only drawing the first prompt twice (1 in 4); a candidate
    that hits wherever the baseline misses wins every resample; equal hits never win."""
    from diffagent.agent.calibrate import bootstrap_win_share

    share = bootstrap_win_share([True, False], [False, True], resamples=20_000)
    assert share == pytest.approx(0.25, abs=0.01)
    assert bootstrap_win_share([True] * 4, [False] * 4) == 1.0
    assert bootstrap_win_share([True, False, True], [True, False, True]) == 0.0
    with pytest.raises(ValueError, match="2 candidate hits for 1 baseline"):
        bootstrap_win_share([True, False], [True])


def test_calibration_records_the_hybrid_and_the_default_in_the_manifest(agent_dir, dabench, tmp_path):
    """On the tiny DABench (6 models, rrhf = its 18 rows) every selector is measured; the manifest
    then names the best one, which `default_selector` answers with, and the tuned hybrid."""
    import json
    import shutil

    from diffagent.agent import load_agent
    from diffagent.agent.calibrate import calibrate
    from diffagent.agent.selector import default_selector

    folder = shutil.copytree(agent_dir, tmp_path / "agent")
    record = calibrate(folder, dabench)
    figures = record["calibration"]["selectors"]
    assert set(figures) == {"llm", "retrieval", "hybrid"} and record["calibration"]["prompts"] == 18
    assert all(0.0 <= f["top1"] <= 1.0 for f in figures.values())
    best = max(f["top1"] for f in figures.values())
    assert figures[record["default_selector"]]["top1"] == best
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["default_selector"] == record["default_selector"]
    loaded = load_agent(folder, dabench)
    assert default_selector(loaded) == record["default_selector"]
    assert loaded.hybrid == HybridSettings(**record["hybrid"])
    assert loaded.hybrid.shortlist in (5, 10, 30)
    # The LLM's weight stays only when its pick beat the retriever's order in 95 % of resamples.
    win_share = record["calibration"]["llm_win_share"]
    assert loaded.hybrid.llm_weight == 0.0 or win_share >= 0.95


def test_the_page_marks_the_agents_default_selector(agent):
    from diffagent.agent.selector import Agent
    from diffagent.serve.page import _options

    calibrated = Agent(agent.catalog, agent.backend, manifest={"default_selector": "hybrid"})
    assert _options(calibrated, None) == (
        '<option value="llm">llm</option>'
        '<option value="retrieval">retrieval</option>'
        '<option value="hybrid" selected>hybrid (default)</option>'
    )
    assert (
        _options(Agent(agent.catalog), None)
        == '<option value="retrieval" selected>retrieval (default)</option>'
    )


def test_weight_zero_answers_in_the_retrievers_order(agent_dir, dabench):
    """What calibrate keeps when the LLM does not help: the retriever's ranking, with its settings."""
    from diffagent.agent import load_agent

    zero = load_agent(agent_dir, dabench)
    zero.hybrid = HybridSettings(shortlist=5, llm_weight=0.0)
    prompts = ["pixel art corgi", "a castle at dawn, oil painting", "neon city street at night"]
    hybrid = zero.select(prompts, top_k=3, selector="hybrid")
    retrieval = zero.select(prompts, top_k=3, selector="retrieval")
    assert [[a.api.model for a in row] for row in hybrid] == [[a.api.model for a in row] for row in retrieval]
    assert {a.selector for row in hybrid for a in row} == {"hybrid"}
