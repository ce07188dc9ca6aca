"""Stage 1 of SFTA: supervised fine-tuning on instruction -> answer pairs (paper Eq. 1).

trl's `SFTTrainer` on a pre-tokenized dataset: `input_ids` = prompt + answer + EOS and
`completion_mask` marking the answer, so the loss is on the answer only. The answer is tokenized
segment by segment exactly as the constrained decoder walks it (`conversation.answer_segments`).
LoRA through peft by default, full fine-tuning with `full=True`; bf16 on a GPU, float32 on CPU.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffagent.agent.conversation import answer_segments
from diffagent.agent.selector import CATALOG_MODELS, MANIFEST
from diffagent.catalog import load_catalog
from diffagent.storage import ArtifactStore

log = logging.getLogger(__name__)


@dataclass
class LoraTrainingParams:
    """What SFT and RRHF training share: length of training, the LoRA adapter, sequence length."""

    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps (-1: train for `epochs`)."})
    epochs: float = field(default=3.0, metadata={"help": "Passes over the training rows."})
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate (AdamW)."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})
    max_length: int = field(default=1024, metadata={"help": "Longest prompt + answer in tokens."})
    seed: int = field(default=0, metadata={"help": "Seed of shuffling and initialisation."})


@dataclass
class SFTParams(LoraTrainingParams):
    batch_size: int = field(default=8, metadata={"help": "Rows per device step."})
    gradient_accumulation_steps: int = field(
        default=1, metadata={"help": "Device steps accumulated into one optimizer step."}
    )


def encode_example(tokenizer: Any, row: dict) -> dict[str, list[int]]:
    """input_ids and completion_mask for one instruction row (answer + EOS is the completion)."""
    from diffagent.agent.generate import encode_prompt

    prompt = encode_prompt(
        tokenizer, {"prompt": row["prompt"], "negative_prompt": row.get("negative_prompt")}
    )
    answer = [t for s in answer_segments(row) for t in tokenizer.encode(s, add_special_tokens=False)]
    answer.append(tokenizer.eos_token_id)
    return {"input_ids": prompt + answer, "completion_mask": [0] * len(prompt) + [1] * len(answer)}


def sft_rows(data: Path) -> list[dict]:
    store = ArtifactStore(str(data))
    for candidate in ("splits/sft.parquet", "instructions.parquet"):
        if store.exists(candidate):
            return store.read_table(candidate).to_pylist()
    raise FileNotFoundError(f"no splits/sft.parquet or instructions.parquet under {data}")


def train_sft(
    data: str | Path, base_model: str, out: str | Path, full: bool = False, params: SFTParams | None = None
) -> Path:
    """Fine-tune `base_model` (hub id or folder) on DABench `data`; write the agent folder `out`:
    adapter/ (or model/ with `full`), tokenizer/, manifest.json, catalog_models.json."""
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    data, out = Path(data).resolve(), Path(out)
    params = params or SFTParams()
    catalog = load_catalog(data)
    rows = [r for r in sft_rows(data) if r["model"] in catalog and r["prompt"].strip()]
    if not rows:
        raise ValueError(f"no SFT rows under {data} name a model of its catalog")
    tokenizer = AutoTokenizer.from_pretrained(base_model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    dataset = Dataset.from_list([encode_example(tokenizer, r) for r in rows])

    gpu = torch.cuda.is_available()
    bf16 = gpu and torch.cuda.is_bf16_supported()
    model = AutoModelForCausalLM.from_pretrained(base_model, dtype=torch.bfloat16 if bf16 else torch.float32)
    peft_config = None
    if not full:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=params.lora_r,
            lora_alpha=params.lora_alpha,
            lora_dropout=params.lora_dropout,
            target_modules="all-linear",
            task_type="CAUSAL_LM",
        )
    config = SFTConfig(
        output_dir=str(out / "checkpoints"),
        max_steps=params.max_steps,
        num_train_epochs=params.epochs,
        learning_rate=params.learning_rate,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
        max_length=params.max_length,
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not gpu,
        bf16=bf16,
        seed=params.seed,
    )
    trainer = SFTTrainer(
        model=model, args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=peft_config
    )
    result = trainer.train()
    out.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out / ("model" if full else "adapter"))
    tokenizer.save_pretrained(out / "tokenizer")
    base = str(Path(base_model).resolve()) if Path(base_model).exists() else base_model
    manifest = {
        "base_model": base,
        "full": full,
        "catalog_fingerprint": catalog.fingerprint,
        "catalog_size": len(catalog),
        "data": str(data),
        "train_rows": len(rows),
        "params": asdict(params),
        "train_loss": result.training_loss,
        "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
        "versions": {"transformers": transformers.__version__, "trl": trl.__version__},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    (out / CATALOG_MODELS).write_text(json.dumps(sorted(catalog.by_model)))
    log.info("agent written to %s (train loss %.4f)", out, result.training_loss)
    return out
