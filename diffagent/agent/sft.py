"""Stage 1 of SFTA: supervised fine-tuning on instruction -> answer pairs (paper Eq. 1).

trl's `SFTTrainer` on a pre-tokenized dataset: `input_ids` = prompt + answer + EOS and
`completion_mask` marking the answer, so the loss is on the answer only. The answer is tokenized
segment by segment exactly as the constrained decoder walks it (`conversation.answer_segments`).
LoRA through peft by default, full fine-tuning with `full=True`; bf16 on a GPU, float32 on CPU.
The base model is anything `agent.base_model` loads (packaged name, .gguf, folder, hub id); the
manifest records which weights (file and sha256) the agent started from.

Within a CPU budget: `max_minutes` stops after the last step that fits (`budget.WallClockBudget`)
and saves the agent and a checkpoint; prompts longer than `max_prompt_tokens` are cut
(`fit_prompt`); batches are grouped by length (less padding); checkpoints go to OUT/checkpoints,
and `resume=True` continues from the last one.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffagent.agent.conversation import MAX_NEGATIVE_CHARS, MAX_PROMPT_CHARS, answer_segments, clean_text
from diffagent.agent.selector import CATALOG_MODELS, MANIFEST
from diffagent.catalog import load_catalog
from diffagent.storage import ArtifactStore

log = logging.getLogger(__name__)


@dataclass
class LoraAdapterParams:
    """The LoRA adapter every training of the agent adds (SFT, RRHF, the chooser)."""

    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha."})
    lora_dropout: float = field(default=0.05, metadata={"help": "LoRA dropout."})

    def lora_config(self, target_modules: str | list[str] = "all-linear", **extra: Any) -> Any:
        """peft's `LoraConfig` of these settings for a causal LM."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.lora_r,
            lora_alpha=self.lora_alpha,
            lora_dropout=self.lora_dropout,
            target_modules=target_modules,
            task_type="CAUSAL_LM",
            **extra,
        )


@dataclass
class LoraTrainingParams(LoraAdapterParams):
    """What SFT and RRHF training share: length of training, the LoRA adapter, sequence length."""

    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps (-1: train for `epochs`)."})
    epochs: float = field(default=3.0, metadata={"help": "Passes over the training rows."})
    learning_rate: float = field(default=2e-4, metadata={"help": "Peak learning rate (AdamW)."})
    max_length: int = field(default=1024, metadata={"help": "Longest prompt + answer in tokens."})
    seed: int = field(default=0, metadata={"help": "Seed of shuffling and initialisation."})


# Room the cut leaves the prompt text at least, past the fixed conversation (system message, template).
MIN_PROMPT_TEXT_TOKENS = 16
CHECKPOINTS = "checkpoints"


@dataclass
class SFTParams(LoraTrainingParams):
    batch_size: int = field(default=8, metadata={"help": "Examples per device batch."})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Batches per optimizer step."})
    max_minutes: float | None = field(
        default=None,
        metadata={
            "help": "Wall-time budget of training in minutes: training stops after the last step "
            "that fits (at the mean step time so far), then saves the agent and a checkpoint "
            "(default: no budget)."
        },
    )
    # 256 tokens keep a typical Civitai prompt whole (the system message and template take about
    # 60) and halve the cost of the longest ones (1,000 + 300 characters, about 450 tokens).
    max_prompt_tokens: int = field(
        default=256,
        metadata={
            "help": "Longest prompt side (conversation included) trained on, in tokens: longer ones "
            "lose the tail of their negative prompt, then of their prompt."
        },
    )
    group_by_length: bool = field(
        default=True, metadata={"help": "Batch examples of similar length together (less padding)."}
    )
    checkpoint_steps: int = field(
        default=50,
        metadata={"help": "Save a checkpoint to OUT/checkpoints every N optimizer steps (for --resume)."},
    )


def fit_prompt(tokenizer: Any, row: dict, limit: int) -> tuple[list[int], int]:
    """The prompt's ids within `limit` tokens, and how many were cut.

    The cut keeps the conversation whole (the assistant header must stay just before the answer,
    which is never cut) and each text's head, as `conversation.clean_text` does at inference: the
    subject and style of a prompt come first. The negative prompt, the weaker signal, is cut first.
    """
    from diffagent.agent.generate import encode_prompt

    texts = {
        "prompt": clean_text(row["prompt"], MAX_PROMPT_CHARS),
        "negative_prompt": clean_text(row.get("negative_prompt") or "", MAX_NEGATIVE_CHARS),
    }
    ids = encode_prompt(tokenizer, texts)
    full = len(ids)
    for name, keep_at_least in (("negative_prompt", 0), ("prompt", MIN_PROMPT_TEXT_TOKENS)):
        pieces = tokenizer.encode(texts[name], add_special_tokens=False)
        # Each pass drops at least one token; re-encoding after a cut may merge differently.
        while len(ids) > limit and len(pieces) > keep_at_least:
            pieces = pieces[: max(len(pieces) - (len(ids) - limit), keep_at_least)]
            texts[name] = tokenizer.decode(pieces).strip()
            ids = encode_prompt(tokenizer, texts)
    if len(ids) > limit:
        raise ValueError(
            f"max_prompt_tokens {limit} leaves no room for a prompt: the conversation alone takes "
            f"{len(ids)} tokens with a {MIN_PROMPT_TEXT_TOKENS}-token prompt"
        )
    return ids, full - len(ids)


def encode_example(tokenizer: Any, row: dict, max_prompt_tokens: int | None = None) -> dict[str, Any]:
    """input_ids and completion_mask for one instruction row (answer + EOS is the completion), and
    `prompt_tokens_cut` (see `fit_prompt`; 0 without a limit)."""
    from diffagent.agent.generate import encode_prompt

    if max_prompt_tokens is None:
        prompt, cut = encode_prompt(tokenizer, row), 0
    else:
        prompt, cut = fit_prompt(tokenizer, row, max_prompt_tokens)
    answer = [t for s in answer_segments(row) for t in tokenizer.encode(s, add_special_tokens=False)]
    answer.append(tokenizer.eos_token_id)
    return {
        "input_ids": prompt + answer,
        "completion_mask": [0] * len(prompt) + [1] * len(answer),
        "prompt_tokens_cut": cut,
    }


def sft_rows(data: Path) -> list[dict]:
    store = ArtifactStore(str(data))
    for candidate in ("splits/sft.parquet", "instructions.parquet"):
        if store.exists(candidate):
            return store.read_table(candidate).to_pylist()
    raise FileNotFoundError(f"no splits/sft.parquet or instructions.parquet under {data}")


def train_sft(
    data: str | Path,
    base_model: str,
    out: str | Path,
    full: bool = False,
    params: SFTParams | None = None,
    resume: bool = False,
) -> Path:
    """Fine-tune `base_model` (packaged name, .gguf file, folder or hub id) on DABench `data`; write
    the agent folder `out`: adapter/ (or model/ with `full`), tokenizer/, manifest.json,
    catalog_models.json, and checkpoints/ (the last checkpoint). `resume`: go on from the last
    checkpoint in OUT/checkpoints (ValueError without one); else an old checkpoints/ is removed."""
    import torch
    import transformers
    import trl
    from datasets import Dataset
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    from diffagent.agent.base_model import load_base_model
    from diffagent.agent.budget import WallClockBudget
    from diffagent.rrhf.stages import local_data
    from diffagent.storage import absolute

    # A DABench on a URL (s3://...) is read from a local copy; the manifest names the URL.
    source, data, out = absolute(str(data)), local_data(data).resolve(), Path(out)
    params = params or SFTParams()
    if not 0 < params.max_prompt_tokens < params.max_length:
        raise ValueError(
            f"max_prompt_tokens {params.max_prompt_tokens} must be above 0 and below max_length "
            f"{params.max_length} (the answer needs room)"
        )
    checkpoints, last = out / CHECKPOINTS, None
    if resume:
        last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
        if last is None:
            raise ValueError(f"nothing to resume: no checkpoint under {checkpoints}")
    elif checkpoints.exists():
        log.info("removing the checkpoints of an earlier run in %s (not resuming)", checkpoints)
        shutil.rmtree(checkpoints)
    catalog = load_catalog(data)
    rows = [r for r in sft_rows(data) if r["model"] in catalog and r["prompt"].strip()]
    if not rows:
        raise ValueError(f"no SFT rows under {data} name a model of its catalog")

    gpu = torch.cuda.is_available()
    bf16 = gpu and torch.cuda.is_bf16_supported()
    base = load_base_model(base_model, torch.bfloat16 if bf16 else torch.float32)
    _check_resumed_base(out, base.weights.sha256, resume)
    tokenizer = base.tokenizer
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    examples = [encode_example(tokenizer, r, params.max_prompt_tokens) for r in rows]
    cuts = [example.pop("prompt_tokens_cut") for example in examples]
    dataset = Dataset.from_list(examples)

    peft_config = None if full else params.lora_config()
    config = SFTConfig(
        output_dir=str(checkpoints),
        max_steps=params.max_steps,
        num_train_epochs=params.epochs,
        learning_rate=params.learning_rate,
        per_device_train_batch_size=params.batch_size,
        gradient_accumulation_steps=params.gradient_accumulation_steps,
        max_length=params.max_length,
        completion_only_loss=True,
        train_sampling_strategy="group_by_length" if params.group_by_length else "random",
        logging_steps=1,
        save_strategy="steps",
        save_steps=params.checkpoint_steps,
        save_total_limit=1,  # resuming needs only the last
        report_to="none",
        use_cpu=not gpu,
        bf16=bf16,
        seed=params.seed,
    )
    budget = WallClockBudget(params.max_minutes) if params.max_minutes is not None else None
    trainer = SFTTrainer(
        model=base.model,
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[budget] if budget else None,
    )
    started = time.monotonic()
    result = trainer.train(resume_from_checkpoint=last)
    seconds = time.monotonic() - started
    out.mkdir(parents=True, exist_ok=True)
    trainer.model.save_pretrained(out / ("model" if full else "adapter"))
    tokenizer.save_pretrained(out / "tokenizer")
    manifest = {
        "base_model": base.weights.spec,  # what `base_model.load_base_model` rebuilds the base from
        "base_weights": base.weights.as_dict(),
        "full": full,
        "catalog_fingerprint": catalog.fingerprint,
        "catalog_size": len(catalog),
        "data": source,
        "train_rows": len(rows),
        "prompts_cut": sum(cut > 0 for cut in cuts),
        "prompt_tokens_cut": sum(cuts),
        "params": asdict(params),
        "steps": trainer.state.global_step,
        "stopped_at_budget": bool(budget and budget.stopped),
        "resumed_from": Path(last).name if last else None,
        "train_seconds": round(seconds, 1),
        "train_loss": result.training_loss,
        "losses": [e["loss"] for e in trainer.state.log_history if "loss" in e],
        "versions": {"transformers": transformers.__version__, "trl": trl.__version__},
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    (out / CATALOG_MODELS).write_text(json.dumps(sorted(catalog.by_model)))
    log.info("agent written to %s (%d steps, train loss %.4f)", out, manifest["steps"], result.training_loss)
    return out


def _check_resumed_base(out: Path, sha256: str | None, resume: bool) -> None:
    """A resumed run must start from the weights the earlier run recorded (when it got to write
    its manifest): a LoRA checkpoint on other base weights would train nonsense."""
    manifest = out / MANIFEST
    if not resume or not manifest.exists():
        return
    recorded = (json.loads(manifest.read_text()).get("base_weights") or {}).get("sha256")
    if recorded is not None and sha256 is not None and recorded != sha256:
        raise ValueError(
            f"cannot resume {out}: it was trained from base weights sha256 {recorded}, "
            f"the base model given now has sha256 {sha256}"
        )
