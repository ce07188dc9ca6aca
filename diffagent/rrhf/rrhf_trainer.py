"""RRHF trainer (trl has none: notes/stack.md): a transformers Trainer whose loss is paper Eq. 10.

A training example is one prompt with all of its responses and their rewards, either as text
    {"prompt": str, "responses": list[str], "rewards": list[float]}
(`prompt` is the exact text the policy sees before its answer; each response is tokenised without
special tokens and closed with EOS) or already tokenised, the way SFT tokenised its examples:
    {"prompt_input_ids": list[int], "response_input_ids": list[list[int]], "rewards": list[float]}
Either may add "ce_targets": list[bool], the responses the CE term may train on (default all).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase, Trainer

from diffagent.rrhf.loss import gather_token_logprobs, rrhf_loss
from diffagent.rrhf.rrhf_config import RRHFConfig


def tokenize_example(
    example: dict[str, Any], tokenizer: PreTrainedTokenizerBase, max_prompt_length: int, max_length: int
) -> dict[str, Any]:
    """Token ids of one prompt and its responses, truncated to the configured lengths."""
    responses = list(example.get("response_input_ids") or example["responses"])
    rewards = [float(r) for r in example["rewards"]]
    if len(responses) != len(rewards) or len(responses) < 2:
        raise ValueError(
            f"an RRHF example needs >= 2 responses with one reward each, got {len(responses)} responses "
            f"and {len(rewards)} rewards for prompt {str(example.get('prompt'))[:60]!r}"
        )
    targets = [bool(t) for t in example.get("ce_targets", [True] * len(responses))]
    if len(targets) != len(responses):
        raise ValueError(f"{len(targets)} ce_targets for {len(responses)} responses")
    if "prompt_input_ids" in example:  # tokenised by the caller (the agent's own segmentation)
        prompt_ids = list(example["prompt_input_ids"])[-max_prompt_length:]
        budget = max_length - len(prompt_ids)
        response_ids = [list(ids)[:budget] for ids in example["response_input_ids"]]
        return {
            "prompt_input_ids": prompt_ids,
            "response_input_ids": response_ids,
            "rewards": rewards,
            "ce_targets": targets,
        }
    if tokenizer.eos_token_id is None:
        raise ValueError(f"tokenizer {type(tokenizer).__name__} has no eos_token_id")
    prompt_ids = tokenizer(example["prompt"], add_special_tokens=True)["input_ids"][-max_prompt_length:]
    budget = max_length - len(prompt_ids)
    response_ids = [
        (tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id])[:budget]
        for text in responses
    ]
    return {
        "prompt_input_ids": prompt_ids,
        "response_input_ids": response_ids,
        "rewards": rewards,
        "ce_targets": targets,
    }


class RRHFCollator:
    """Flattens the responses of every prompt in the batch into right-padded rows.

    Output: input_ids, attention_mask, labels [R, L] (labels -100 on prompt and padding),
    rewards [R], ce_targets [R] (bool) and group_sizes [Q] (responses per prompt, in order).
    """

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id

    def __call__(self, examples: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows, labels, rewards, sizes, targets = [], [], [], [], []
        for example in examples:
            prompt = example["prompt_input_ids"]
            targets += example.get("ce_targets", [True] * len(example["rewards"]))
            for response, reward in zip(example["response_input_ids"], example["rewards"], strict=True):
                rows.append(prompt + response)
                labels.append([-100] * len(prompt) + response)
                rewards.append(reward)
            sizes.append(len(example["response_input_ids"]))
        width = max(len(row) for row in rows)
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        label_ids = torch.full((len(rows), width), -100, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
            input_ids[i, : len(row)] = torch.tensor(row)
            label_ids[i, : len(row)] = torch.tensor(label)
            attention[i, : len(row)] = 1
        return {
            "input_ids": input_ids,
            "attention_mask": attention,
            "labels": label_ids,
            "rewards": torch.tensor(rewards, dtype=torch.float32),
            "ce_targets": torch.tensor(targets, dtype=torch.bool),
            "group_sizes": torch.tensor(sizes, dtype=torch.long),
        }


class RRHFTrainer(Trainer):
    """Trainer for RRHF. `model` is a causal LM or its id/path; `peft_config` (a peft LoraConfig)
    wraps it in LoRA adapters, otherwise every weight is trained."""

    def __init__(
        self,
        model: PreTrainedModel | str,
        args: RRHFConfig,
        train_dataset: Iterable[dict[str, Any]],
        processing_class: PreTrainedTokenizerBase,
        peft_config: Any | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(args, RRHFConfig):
            raise ValueError(f"args must be an RRHFConfig, got {type(args).__name__}")
        if isinstance(model, str):
            model = AutoModelForCausalLM.from_pretrained(model)
        if peft_config is not None:
            from peft import get_peft_model

            model = get_peft_model(model, peft_config)
        pad = processing_class.pad_token_id
        pad = pad if pad is not None else processing_class.eos_token_id
        tokenized = [
            tokenize_example(example, processing_class, args.max_prompt_length, args.max_length)
            for example in train_dataset
        ]
        if not tokenized:
            raise ValueError("RRHF needs at least one training example, got none")
        super().__init__(
            model=model,
            args=args,
            data_collator=RRHFCollator(pad),
            train_dataset=tokenized,
            processing_class=processing_class,
            **kwargs,
        )
        self._metrics: dict[str, list[float]] = defaultdict(list)

    def response_logprobs(
        self, model: torch.nn.Module, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token log-probs and mask [R, L-1] of every response: one padded forward, or one per row."""
        if self.args.batched_forward:
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"]).logits
            return gather_token_logprobs(logits, inputs["labels"])
        width = inputs["input_ids"].shape[1] - 1
        parts, masks = [], []
        for row in range(inputs["input_ids"].shape[0]):
            length = int(inputs["attention_mask"][row].sum())
            ids = inputs["input_ids"][row : row + 1, :length]
            logprobs, mask = gather_token_logprobs(
                model(input_ids=ids).logits, inputs["labels"][row : row + 1, :length]
            )
            pad = width - logprobs.shape[1]
            parts.append(torch.nn.functional.pad(logprobs, (0, pad)))
            masks.append(torch.nn.functional.pad(mask, (0, pad), value=False))
        return torch.cat(parts), torch.cat(masks)

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        logprobs, mask = self.response_logprobs(model, inputs)
        losses, ranks, ces = [], [], []
        start = 0
        for size in inputs["group_sizes"].tolist():
            part = slice(start, start + size)
            result = rrhf_loss(
                logprobs[part],
                mask[part],
                inputs["rewards"][part],
                rank_weight=self.args.rank_weight,
                ce_weight=self.args.ce_weight,
                ce_length_normalised=self.args.ce_length_normalised,
                ce_targets=inputs["ce_targets"][part],
            )
            losses.append(result.loss)
            ranks.append(result.rank.detach())
            ces.append(result.ce.detach())
            start += size
        loss = torch.stack(losses).mean()
        self._metrics["rank_loss"].append(float(torch.stack(ranks).mean()))
        self._metrics["ce_loss"].append(float(torch.stack(ces).mean()))
        return (loss, {"loss": loss}) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Add the mean of the loss parts seen since the last log, as trl's trainers do.
        for name, values in self._metrics.items():
            if values:
                logs[name] = sum(values) / len(values)
        self._metrics.clear()
        super().log(logs, start_time)
