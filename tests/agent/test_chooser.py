"""The chooser (the hybrid's cards reader): cards and training rows by hand, the batched letter
scores against one plain forward pass per conversation, training within a budget on the tiny LM,
and hybrid answers that never leave the retriever's shortlist."""

from __future__ import annotations

import json
import random
import shutil

import pytest
import torch

from diffagent.agent.chooser import choice_logprobs, encode_choice, label_ids, model_card
from diffagent.agent.chooser_train import ChooserParams, train_chooser, training_shortlist
from diffagent.agent.hybrid import HybridSettings, ScoredShortlist
from tests.agent.conftest import ADVERSARIAL, MODELS, NEW_MODEL, write_dabench
from tests.catalog_entries import catalog_entry


def test_model_card_hand_example():
    entry = catalog_entry(
        "Pixel Art XL (v1.1)",
        type="LORA",
        base_model="SDXL 1.0",
        trained_words=["pixel art", " ", "8bit", "sprite", "fourth"],
        tags=["style", "pixel", "retro", "game", "fifth"],
    )
    assert model_card(entry) == (
        "Pixel Art XL (v1.1) | LORA for SDXL 1.0 | triggers: pixel art, 8bit, sprite "
        "| tags: style, pixel, retro, game"
    )
    bare = catalog_entry("Plain", type="Checkpoint", base_model="SD 1.5", trained_words=[], tags=[])
    assert model_card(bare) == "Plain | Checkpoint for SD 1.5"


def test_training_shortlist_keeps_the_truth_and_hides_its_rank():
    """Ranked [a, b, c]: truth b kept (3 candidates); truth d replaces the last of a size-2 list:
    {a, d}; over many shuffles the truth sits at every letter."""
    candidates, right = training_shortlist(["a", "b", "c", "b"], "b", 3, random.Random(0))
    assert sorted(candidates) == ["a", "b", "c"] and candidates[right] == "b"
    candidates, right = training_shortlist(["a", "b", "c"], "d", 2, random.Random(0))
    assert sorted(candidates) == ["a", "d"] and candidates[right] == "d"
    rng = random.Random(1)
    places = {training_shortlist(["a", "b", "c"], "a", 3, rng)[1] for _ in range(50)}
    assert places == {0, 1, 2}


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match="'letters'"):
        HybridSettings(reader="letters")
    with pytest.raises(ValueError, match="got 1"):
        ChooserParams(shortlist=1)
    with pytest.raises(ValueError, match="got 0"):
        ChooserParams(max_minutes=0)


def test_ranked_fuses_the_head_and_keeps_the_tail_in_retrieval_order():
    """retrieval [3, 2, 1, 0], llm [-3, -1, 0, 0] read for the first 2: weight 1 -> b, a (z 1, -1),
    then c and d below the head's lowest score."""
    scored = ScoredShortlist(["a", "b", "c", "d"], [3.0, 2.0, 1.0, 0.0], [-3.0, -1.0, 0.0, 0.0])
    ranked = scored.ranked(1.0, head=2)
    assert [m for m, _ in ranked] == ["b", "a", "c", "d"]
    assert [s for _, s in ranked] == pytest.approx([1.0, -1.0, -2.0, -3.0])


def test_letter_scores_in_a_padded_batch_match_each_conversation_alone(agent):
    """Left padding with positions counted from each row's first token gives every conversation
    the letter log-probabilities it has on its own, normalised over its own shortlist."""
    model, tokenizer = agent.backend.model, agent.backend.tokenizer
    cards = [model_card(agent.catalog[name]) for name, *_ in MODELS]
    rows = [
        encode_choice(tokenizer, "pixel art corgi", cards[:2]),
        encode_choice(tokenizer, ADVERSARIAL[0], cards),
    ]
    assert len(rows[0]) < len(rows[1])
    found = choice_logprobs(model, tokenizer, rows, [2, len(cards)])
    for ids, scores in zip(rows, found, strict=True):
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        expected = torch.log_softmax(logits[label_ids(tokenizer, len(scores))], -1)
        assert scores == pytest.approx(expected.tolist(), abs=1e-4)
        assert sum(torch.tensor(scores).exp().tolist()) == pytest.approx(1.0, abs=1e-5)


@pytest.fixture(scope="module")
def chooser_agent_dir(agent_dir, dabench, embeddings_cache, tmp_path_factory):
    """A copy of the tiny agent with a chooser trained for 3 steps (untrained retriever's shortlists)."""
    folder = shutil.copytree(agent_dir, tmp_path_factory.mktemp("chooser") / "agent")
    train_chooser(folder, dabench, None, ChooserParams(shortlist=3, max_steps=3, batch_size=4, top_layers=1))
    return folder


def test_training_writes_the_adapter_and_its_record(chooser_agent_dir):
    record = json.loads((chooser_agent_dir / "manifest.json").read_text())["chooser"]
    assert (chooser_agent_dir / "chooser" / "adapter_config.json").exists()
    assert record["steps"] == 3 and record["rows_seen"] == 12 and record["rows"] == 18
    assert len(record["losses"]) == 3 and record["chance"] == pytest.approx(1 / 3, abs=1e-4)
    assert record["stopped_at_budget"] is False and record["retriever"] is None
    adapter = json.loads((chooser_agent_dir / "chooser" / "adapter_config.json").read_text())
    assert adapter["layers_to_transform"] == [1]  # the tiny LM's last of its 2 decoder layers


def test_a_budget_stops_training_after_the_first_step(agent_dir, dabench, embeddings_cache, tmp_path):
    folder = shutil.copytree(agent_dir, tmp_path / "agent")
    params = ChooserParams(shortlist=2, max_steps=50, batch_size=2, max_minutes=1e-6)
    record = train_chooser(folder, dabench, None, params)
    assert record["steps"] == 1 and record["stopped_at_budget"] is True


@pytest.mark.parametrize("weight", [0.6, 1.0])
def test_cards_answers_come_from_the_retrievers_shortlist(chooser_agent_dir, dabench, weight):
    from diffagent.agent import load_agent

    agent = load_agent(chooser_agent_dir, dabench)
    agent.hybrid = HybridSettings(shortlist=3, llm_weight=weight, reader="cards")
    prompts = ["pixel art sprite of a knight, 8-bit", "neon cyberpunk street in the rain", *ADVERSARIAL]
    answers = agent.select(prompts, top_k=4, selector="hybrid")
    found, _ = agent.ranked([agent_instruction(p) for p in prompts], 4)
    for row, shortlist in zip(answers, found, strict=True):
        names = [a.api.model for a in row]
        # The chooser reads the first 3; the 4th stays last, in the retriever's order.
        assert set(names[:3]) == {m for m, _ in shortlist[:3]} and names[3] == shortlist[3][0]
        assert [a.score for a in row] == sorted((a.score for a in row), reverse=True)
        assert {a.selector for a in row} == {"hybrid"}


def agent_instruction(prompt: str):
    from diffagent.agent.conversation import as_instruction

    return as_instruction(prompt)


def test_a_model_added_after_training_is_read_as_a_card(chooser_agent_dir, tmp_path, embeddings_cache):
    from diffagent.agent import load_agent

    grown = write_dabench(tmp_path / "grown", [*MODELS, NEW_MODEL])
    agent = load_agent(chooser_agent_dir, grown)
    agent.hybrid = HybridSettings(shortlist=1, llm_weight=1.0, reader="cards")
    (answer,) = agent.select(["claymation plasticine figurine, stop motion"], selector="hybrid")[0]
    assert answer.api.model == "Clay Figures"


def test_calibration_weighs_both_readers(chooser_agent_dir, dabench, tmp_path):
    from diffagent.agent.calibrate import calibrate

    folder = shutil.copytree(chooser_agent_dir, tmp_path / "agent")
    record = calibrate(folder, dabench)
    grid = record["calibration"]["top1_grid"]
    assert {key.split("/")[0] for key in grid} == {"names", "cards"}
    assert {int(key.split("/")[1]) for key in grid if key.startswith("cards/")} == {5, 10}  # 30 > 26 letters
    assert record["hybrid"]["reader"] in ("names", "cards")


def test_the_cli_trains_a_chooser_and_names_a_bad_folder(chooser_agent_dir, dabench, tmp_path):
    from typer.testing import CliRunner

    from diffagent.cli import app

    result = CliRunner().invoke(app, ["train", "chooser", "--agent", str(tmp_path), "--data", str(dabench)])
    assert result.exit_code != 0 and "no manifest.json" in result.output
    folder = shutil.copytree(chooser_agent_dir, tmp_path / "agent")
    args = ["train", "chooser", "--agent", str(folder), "--data", str(dabench), "--max-steps", "1"]
    result = CliRunner().invoke(app, [*args, "--batch-size", "2", "--shortlist", "2", "--top-layers", "0"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["steps"] == 1
