"""Stage 2 of SFTA: RRHF on the rollouts, starting from DiffAgent-SFT; writes DiffAgent-RRHF.

The policy is the SFT agent with its LoRA merged. RRHF trains new LoRA adapters (or every weight
with `full`), which are merged again at the end, so the RRHF agent is a full model folder
(`model/`, manifest `full: true`) that `diffagent.agent.load_agent` reads like any other agent.
Prompts and responses are tokenised exactly as SFT tokenised them (`encode_prompt` and the answer
segments), so p_i scores the very tokens the agent emits.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from diffagent.agent.sft import LoraTrainingParams
from diffagent.rrhf.rollout import rrhf_examples
from diffagent.storage import ArtifactStore, absolute, at
from schemas.rrhf import ROLLOUT_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class RRHFParams(LoraTrainingParams):
    learning_rate: float = 2e-5  # a tenth of SFT's: RRHF starts from the SFT adapter
    full: bool = False
    max_prompt_length: int = 768
    ce_length_normalised: bool = False


def tokenized_examples(tokenizer: Any, table: Any) -> list[dict[str, Any]]:
    """RRHF examples from the rollouts table, tokenised like SFT (prompt + answer segments + EOS)."""
    from diffagent.agent.conversation import answer_segments
    from diffagent.agent.generate import encode_prompt
    from schemas.t2i import T2IApi

    apis: dict[tuple[str, str], str] = {
        (row["prompt_id"], row["response_text"]): row["api_json"] for row in table.to_pylist()
    }
    examples = []
    for example in rrhf_examples(table):
        if len(example["responses"]) < 2:
            continue  # nothing to rank
        prompt = encode_prompt(
            tokenizer, {"prompt": example["prompt"], "negative_prompt": example["negative_prompt"]}
        )
        responses = []
        for text in example["responses"]:
            api = T2IApi.model_validate_json(apis[(example["prompt_id"], text)])
            ids = [t for s in answer_segments(api) for t in tokenizer.encode(s, add_special_tokens=False)]
            responses.append([*ids, tokenizer.eos_token_id])
        examples.append(
            {"prompt_input_ids": prompt, "response_input_ids": responses, "rewards": example["rewards"]}
        )
    return examples


def train_rrhf_agent(
    sft_dir: str | Path,
    rollouts: str | Path,
    out: str | Path,
    params: RRHFParams | None = None,
    use_cpu: bool | None = None,
) -> dict[str, Any]:
    """Train DiffAgent-RRHF from the SFT agent `sft_dir` on `rollouts`; write the agent folder `out`
    (each a local path or an fsspec URL)."""
    import torch
    import transformers

    from diffagent.agent.selector import CATALOG_MODELS, MANIFEST, load_agent
    from diffagent.rrhf.rrhf_config import RRHFConfig
    from diffagent.rrhf.rrhf_trainer import RRHFTrainer
    from diffagent.rrhf.stages import local_data

    params = params or RRHFParams()
    sft, target = ArtifactStore(str(sft_dir)), ArtifactStore(str(out))
    sft_manifest = sft.read_json(MANIFEST)
    if sft_manifest is None:
        raise ValueError(f"{sft.root_url} is not an agent folder: no {MANIFEST}")
    data = sft_manifest.get("data")
    catalog = str(local_data(data)) if data else None
    agent = load_agent(sft.root_url, catalog=catalog, device="cpu" if use_cpu else None)
    model, tokenizer = agent.backend.model, agent.backend.tokenizer
    tokenizer.padding_side = "right"
    rollouts_store, rollouts_name = at(rollouts)
    examples = tokenized_examples(tokenizer, rollouts_store.read_table(rollouts_name, ROLLOUT_SCHEMA))
    if not examples:
        raise ValueError(f"no prompt in {rollouts} has two or more responses to rank")
    gpu = torch.cuda.is_available() and not use_cpu
    config = RRHFConfig(
        # Nothing is saved there (save_strategy "no"): the agent folder is written at the end.
        output_dir=str(Path(tempfile.gettempdir()) / "diffagent-rrhf-checkpoints"),
        max_steps=params.max_steps,
        num_train_epochs=params.epochs,
        learning_rate=params.learning_rate,
        max_length=params.max_length,
        max_prompt_length=params.max_prompt_length,
        ce_length_normalised=params.ce_length_normalised,
        save_strategy="no",
        use_cpu=not gpu,
        bf16=gpu and torch.cuda.is_bf16_supported(),
        seed=params.seed,
    )
    peft_config = None
    if not params.full:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    if params.full:  # the SFT LoRA merge leaves the base weights frozen
        for weight in model.parameters():
            weight.requires_grad_(True)
    model.train()
    trainer = RRHFTrainer(model, config, examples, tokenizer, peft_config=peft_config)
    result = trainer.train()
    trained = trainer.model.merge_and_unload() if peft_config is not None else trainer.model
    tokenizer.padding_side = "left"
    history = trainer.state.log_history
    manifest = {
        **{k: sft_manifest[k] for k in ("catalog_fingerprint", "catalog_size", "data") if k in sft_manifest},
        "stage": "rrhf",
        "full": True,  # LoRA merged: `model/` is the whole policy
        "base_model": sft_manifest.get("base_model"),
        "base_weights": sft_manifest.get("base_weights"),  # the weights SFT started from
        "sft_agent": absolute(sft_dir),
        "rollouts": absolute(rollouts),
        "train_prompts": len(examples),
        "params": asdict(params),
        "train_loss": result.training_loss,
        "losses": [e["loss"] for e in history if "loss" in e],
        "rank_losses": [e["rank_loss"] for e in history if "rank_loss" in e],
        "ce_losses": [e["ce_loss"] for e in history if "ce_loss" in e],
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
    }
    with target.local_folder("") as folder:
        trained.save_pretrained(folder / "model")
        tokenizer.save_pretrained(folder / "tokenizer")
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
        if sft.exists(CATALOG_MODELS):
            (folder / CATALOG_MODELS).write_bytes(sft.read_bytes(CATALOG_MODELS))
    log.info("RRHF agent written to %s (loss %.4f)", out, result.training_loss)
    return manifest
