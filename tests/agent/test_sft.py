"""SFT writes a loadable agent; the loss is on the answer only; catalog mismatches are refused."""

from __future__ import annotations

import json

import pytest

from diffagent.agent import load_agent, load_catalog
from tests.agent.conftest import MODELS, write_dabench


def test_completion_mask_covers_the_answer_only(tiny_llm, dabench):
    from transformers import AutoTokenizer

    from diffagent.agent.sft import encode_example, sft_rows

    tokenizer = AutoTokenizer.from_pretrained(tiny_llm)
    row = sft_rows(dabench)[0]
    example = encode_example(tokenizer, row)
    answer = [t for t, m in zip(example["input_ids"], example["completion_mask"], strict=True) if m]
    assert answer[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(answer[:-1]).startswith('{"model": "Realistic Vision"')
    assert example["completion_mask"][0] == 0


def test_agent_folder_and_manifest(agent_dir, dabench):
    manifest = json.loads((agent_dir / "manifest.json").read_text())
    assert manifest["catalog_fingerprint"] == load_catalog(dabench).fingerprint
    assert manifest["full"] is False and manifest["params"]["max_steps"] == 2
    assert len(manifest["losses"]) == 2 and all(loss > 0 for loss in manifest["losses"])
    assert (agent_dir / "adapter" / "adapter_config.json").exists()
    assert (agent_dir / "tokenizer" / "tokenizer_config.json").exists()


def test_lora_weights_moved_from_their_init(agent_dir):
    """peft initialises lora_B to zeros; after 2 steps at lr 2e-4 they are no longer zero."""
    from safetensors.torch import load_file

    weights = load_file(agent_dir / "adapter" / "adapter_model.safetensors")
    lora_b = [w for name, w in weights.items() if "lora_B" in name]
    assert lora_b and all(w.abs().sum() > 0 for w in lora_b)


def test_full_fine_tuning(tiny_llm, dabench, tmp_path):
    from diffagent.agent.sft import SFTParams, train_sft

    out = train_sft(
        dabench, str(tiny_llm), tmp_path / "full", full=True, params=SFTParams(max_steps=1, batch_size=2)
    )
    assert (out / "model" / "config.json").exists()
    agent = load_agent(out, dabench)
    # The answer must come from the fine-tuned weights in model/ (not the base model): the same
    # answer and score as a backend built on those weights directly.
    from transformers import AutoModelForCausalLM

    from diffagent.agent.generate import TransformersBackend, encode_prompt

    direct = TransformersBackend(
        AutoModelForCausalLM.from_pretrained(out / "model"), agent.backend.tokenizer, agent.catalog
    )
    (answer,) = direct.constrained([encode_prompt(direct.tokenizer, "a dragon")])[0]
    (selected,) = agent.select(["a dragon"])[0]
    assert (selected.api.model, selected.score) == (answer.fields["model"], pytest.approx(answer.score))


def test_other_catalog_is_refused_grown_catalog_is_accepted(agent_dir, dabench, tmp_path):
    other = write_dabench(tmp_path / "other", MODELS[:4])  # two trained models removed
    with pytest.raises(ValueError) as error:
        load_agent(agent_dir, other)
    trained = json.loads((agent_dir / "manifest.json").read_text())["catalog_fingerprint"]
    assert load_catalog(other).fingerprint in str(error.value) and trained in str(error.value)
    grown = write_dabench(
        tmp_path / "grown", [*MODELS, ("Clay Figures", "LORA", "SD 1.5", "claymation figure")]
    )
    agent = load_agent(agent_dir, grown)
    assert "Clay Figures" in agent.catalog.selectable
