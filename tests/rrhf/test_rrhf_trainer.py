"""RRHF trainer smoke runs on a tiny Llama: the loss is logged and every trainable parameter changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from diffagent.rrhf.rrhf_config import RRHFConfig
from diffagent.rrhf.rrhf_trainer import RRHFCollator, RRHFTrainer, tokenize_example
from tests.rrhf.conftest import make_tiny_llama

EXAMPLES = [
    {
        "prompt": "User: a cat in pixel art style\nAgent:",
        "responses": ['{"model": "dreamshaper_8"}', '{"model": "pixel"}', '{"width": 512}'],
        "rewards": [0.2, 0.9, 0.5],
    },
    {
        "prompt": "User: cinematic lighting\nAgent:",
        "responses": ['{"sampling_method": "Euler a"}', '{"height": 768}'],
        "rewards": [0.7, 0.1],
    },
]


def _config(tmp_path: Path, **overrides: object) -> RRHFConfig:
    values = dict(
        output_dir=str(tmp_path / "out"),
        max_steps=3,
        learning_rate=1e-2,
        use_cpu=True,
        save_strategy="no",
        max_length=64,
        max_prompt_length=32,
        warmup_steps=0,
    )
    values.update(overrides)
    return RRHFConfig(**values)


def test_collator_masks_prompt_and_padding(tiny_tokenizer) -> None:
    example = tokenize_example(EXAMPLES[1], tiny_tokenizer, 32, 64)
    batch = RRHFCollator(tiny_tokenizer.pad_token_id)([example])
    prompt_len = len(example["prompt_input_ids"])
    assert batch["group_sizes"].tolist() == [2]
    assert (batch["labels"][:, :prompt_len] == -100).all()
    for row, response in enumerate(example["response_input_ids"]):
        assert batch["labels"][row, prompt_len : prompt_len + len(response)].tolist() == response
        assert response[-1] == tiny_tokenizer.eos_token_id
        assert int(batch["attention_mask"][row].sum()) == prompt_len + len(response)


@pytest.mark.parametrize("use_lora", [False, True])
def test_smoke_run_logs_loss_and_updates_every_trainable_parameter(
    tmp_path, tiny_tokenizer, use_lora
) -> None:
    model = make_tiny_llama(vocab_size=len(tiny_tokenizer))
    peft_config = None
    if use_lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
        )
    trainer = RRHFTrainer(model, _config(tmp_path), EXAMPLES, tiny_tokenizer, peft_config=peft_config)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "loss" in entry]
    assert logged and all("rank_loss" in entry and "ce_loss" in entry for entry in logged)
    for name, param in trainer.model.named_parameters():
        if name in before:
            assert not torch.equal(before[name], param.detach()), f"{name} did not change"
    if use_lora:
        assert all("lora" in name for name in before)


def test_batched_forward_gives_the_loss_of_one_forward_per_response(tmp_path, tiny_tokenizer) -> None:
    model = make_tiny_llama(vocab_size=len(tiny_tokenizer))
    trainer = RRHFTrainer(model, _config(tmp_path), EXAMPLES, tiny_tokenizer)
    batch = trainer.data_collator(trainer.train_dataset)
    batched = trainer.compute_loss(model, batch)
    trainer.args.batched_forward = False
    single = trainer.compute_loss(model, batch)
    assert float(batched.detach()) == pytest.approx(float(single.detach()), rel=1e-4)


def test_rejects_single_response_examples(tmp_path, tiny_tokenizer) -> None:
    bad = [{"prompt": "p", "responses": ["only one"], "rewards": [1.0]}]
    with pytest.raises(ValueError, match="needs >= 2 responses"):
        RRHFTrainer(make_tiny_llama(vocab_size=len(tiny_tokenizer)), _config(tmp_path), bad, tiny_tokenizer)


def test_a_default_api_outside_the_catalog_is_ranked_but_not_the_ce_target(tiny_tokenizer) -> None:
    """From rollouts to the collated batch: the hub-id default API, rewarded best, keeps its reward
    (the ranking term sees it) but is no CE target; the catalog answer is."""
    import pyarrow as pa

    from diffagent.catalog import Catalog
    from diffagent.rrhf.reconstruct import reconstruct_candidates
    from diffagent.rrhf.train import tokenized_examples
    from schemas.rrhf import ROLLOUT_SCHEMA
    from tests.rrhf.conftest import small_catalog

    catalog = Catalog.from_entries(small_catalog())
    apis, _ = reconstruct_candidates(
        ['{"model": "dreamshaper_8"}'], catalog, "SD 1.5", {"SD 1.5": "org/sd15-base"}
    )
    assert [api.model for api in apis] == ["dreamshaper_8", "org/sd15-base"]
    rows = [
        dict(
            prompt_id="p",
            prompt="a cat",
            negative_prompt="",
            response_index=index,
            response_text=f"response {index}",
            api_json=api.model_dump_json(),
            seeds=[0],
            image_scores=[reward],
            raw_scores_json="{}",
            reward=reward,
        )
        for index, (api, reward) in enumerate(zip(apis, [0.25, 0.75], strict=True))
    ]
    table = pa.Table.from_pylist(rows, schema=ROLLOUT_SCHEMA)
    examples = tokenized_examples(tiny_tokenizer, table, catalog)
    assert [(e["rewards"], e["ce_targets"]) for e in examples] == [([0.25, 0.75], [True, False])]
    example = tokenize_example(examples[0], tiny_tokenizer, 64, 512)
    batch = RRHFCollator(tiny_tokenizer.pad_token_id)([example])
    assert (batch["rewards"].tolist(), batch["ce_targets"].tolist()) == ([0.25, 0.75], [True, False])
