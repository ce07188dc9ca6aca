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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffagent.agent.sft import LoraTrainingParams
from diffagent.rrhf.rollout import rrhf_examples
from diffagent.storage import ArtifactStore, absolute, at
from schemas.rrhf import ROLLOUT_SCHEMA

log = logging.getLogger(__name__)


@dataclass
class RRHFParams(LoraTrainingParams):
    """RRHF's settings; `to_training_arguments` turns them into the trainer's `RRHFConfig`."""

    learning_rate: float = field(
        default=2e-5, metadata={"help": "Peak learning rate (a tenth of SFT's: RRHF starts from SFT)."}
    )
    full: bool = field(default=False, metadata={"help": "Train every weight instead of a LoRA adapter."})
    max_prompt_length: int = field(
        default=768, metadata={"help": "Longest prompt in tokens; longer prompts keep their last tokens."}
    )
    ce_length_normalised: bool = field(
        default=False,
        metadata={
            "help": "Average L_ce over the best response's tokens (public RRHF code) instead of summing "
            "(paper Eq. 9)."
        },
    )
    rank_weight: float = field(default=1.0, metadata={"help": "Weight of L_rank (paper Eq. 8) in Eq. 10."})
    ce_weight: float = field(default=1.0, metadata={"help": "Weight of L_ce (paper Eq. 9) in Eq. 10."})
    batched_forward: bool = field(
        default=True,
        metadata={
            "help": "Score all n responses of a prompt in one padded forward (False: one forward per "
            "response; same loss)."
        },
    )

    def to_training_arguments(self, output_dir: str, use_cpu: bool, bf16: bool) -> Any:
        """The trainer's `RRHFConfig` for these settings: the one place they reach the trainer."""
        from diffagent.rrhf.rrhf_config import RRHFConfig

        return RRHFConfig(
            output_dir=output_dir,
            max_steps=self.max_steps,
            num_train_epochs=self.epochs,
            learning_rate=self.learning_rate,
            max_length=self.max_length,
            max_prompt_length=self.max_prompt_length,
            ce_length_normalised=self.ce_length_normalised,
            rank_weight=self.rank_weight,
            ce_weight=self.ce_weight,
            batched_forward=self.batched_forward,
            save_strategy="no",
            use_cpu=use_cpu,
            bf16=bf16,
            seed=self.seed,
        )


def tokenized_examples(tokenizer: Any, table: Any, catalog: Any) -> list[dict[str, Any]]:
    """RRHF examples from the rollouts table, tokenised like SFT (prompt + answer segments + EOS);
    the CE term trains only on responses that name a `catalog` model (`reconstruct.ce_targets`)."""
    from diffagent.agent.conversation import answer_segments
    from diffagent.agent.generate import encode_prompt
    from diffagent.rrhf.reconstruct import ce_targets
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
        responses, parsed = [], []
        for text in example["responses"]:
            api = T2IApi.model_validate_json(apis[(example["prompt_id"], text)])
            ids = [t for s in answer_segments(api) for t in tokenizer.encode(s, add_special_tokens=False)]
            responses.append([*ids, tokenizer.eos_token_id])
            parsed.append(api)
        examples.append(
            {
                "prompt_input_ids": prompt,
                "response_input_ids": responses,
                "rewards": example["rewards"],
                "ce_targets": ce_targets(parsed, catalog),
            }
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
    table = rollouts_store.read_table(rollouts_name, ROLLOUT_SCHEMA)
    examples = tokenized_examples(tokenizer, table, agent.catalog)
    if not examples:
        raise ValueError(f"no prompt in {rollouts} has two or more responses to rank")
    gpu = torch.cuda.is_available() and not use_cpu
    # Nothing is saved there (save_strategy "no"): the agent folder is written at the end.
    checkpoints = str(Path(tempfile.gettempdir()) / "diffagent-rrhf-checkpoints")
    config = params.to_training_arguments(checkpoints, not gpu, gpu and torch.cuda.is_bf16_supported())
    peft_config = None if params.full else params.lora_config()
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
        # What the policy costs to train at its real size (the plan reports them, rrhf/plan.py).
        "steps": trainer.state.global_step,
        "train_runtime_s": result.metrics.get("train_runtime"),
        "policy_parameters": sum(w.numel() for w in trained.parameters()),
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
