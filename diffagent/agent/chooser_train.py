"""Train the chooser (`chooser.py`): a LoRA adapter on the agent's base model that picks the right
candidate from the trained retriever's shortlist of an sft prompt, read as lettered cards.

Rows: for each sft instruction, the retriever's top `shortlist` models (hard negatives: what the
retriever itself confuses), the true model put in place of the last one when the retriever missed
it, then shuffled, so the letter carries no rank (at answer time the retriever's rank is fused in
separately, `hybrid.py`). Loss: cross-entropy of the right letter over the shortlist's letters at
the answer's first token, exactly the score the hybrid reads.

A plain loop, not trl: one token of loss per row needs only the last position's logits
(`logits_to_keep=1`), and LoRA on the top `top_layers` decoder layers only means the backward pass
stops there, which is what makes minutes on two CPU cores worth several hundred rows. The
budget (`max_minutes`) ends training after the last step that fits, at the mean step time so far.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from diffagent.agent.chooser import CHOOSER_DIR, CHOOSER_KEY, LABELS, encode_choice, label_ids, model_card
from diffagent.agent.folder import MANIFEST
from diffagent.agent.sft import LoraAdapterParams

log = logging.getLogger(__name__)


@dataclass
class ChooserParams(LoraAdapterParams):
    shortlist: int = field(
        default=5, metadata={"help": "Candidates per training row (the retriever's top N)."}
    )
    max_steps: int = field(default=-1, metadata={"help": "Optimizer steps (-1: train for `epochs`)."})
    epochs: float = field(default=1.0, metadata={"help": "Passes over the sft prompts."})
    batch_size: int = field(default=8, metadata={"help": "Rows per optimizer step."})
    learning_rate: float = field(default=3e-4, metadata={"help": "Peak learning rate (AdamW, linear decay)."})
    top_layers: int = field(
        default=8, metadata={"help": "LoRA on the last N decoder layers only (0: every layer)."}
    )
    max_minutes: float | None = field(
        default=None, metadata={"help": "Wall-time budget of training in minutes (default: none)."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the shuffles and the adapter's initialisation."})

    def __post_init__(self) -> None:
        if not 2 <= self.shortlist <= len(LABELS):
            raise ValueError(f"chooser shortlist must be 2 to {len(LABELS)}, got {self.shortlist}")
        if self.max_minutes is not None:
            from diffagent.agent.budget import budget_seconds  # transformers: not at CLI start

            budget_seconds(self.max_minutes)  # names a budget of 0 or less now, not after the shortlists


def training_shortlist(ranked: list[str], truth: str, size: int, rng: random.Random) -> tuple[list[str], int]:
    """The candidates of one training row and the index of the true model among them.

    The retriever's first `size` distinct models, the truth replacing the last when it is not among
    them, shuffled. Example: ranked [a, b, c], truth d, size 2 -> {a, d} in a random order."""
    candidates = list(dict.fromkeys(ranked))[:size]
    if truth not in candidates:
        candidates = [*candidates[: size - 1], truth]
    rng.shuffle(candidates)
    return candidates, candidates.index(truth)


def chooser_examples(
    agent: Any, rows: list[dict], tokenizer: Any, size: int, seed: int
) -> list[tuple[list[int], int, int]]:
    """(conversation ids, index of the right letter, shortlist length) per sft row, with shortlists
    from `agent`'s retriever (a retrieval-only `selector.Agent`)."""
    from diffagent.agent.conversation import as_instruction

    items = [as_instruction(r) for r in rows]
    ranked, _ = agent.ranked(items, size)
    rng = random.Random(seed)
    examples = []
    for item, row, found in zip(items, rows, ranked, strict=True):
        names = [m for m, _ in found if m in agent.catalog]
        candidates, right = training_shortlist(names, row["model"], size, rng)
        cards = [model_card(agent.catalog[m]) for m in candidates]
        examples.append((encode_choice(tokenizer, item, cards), right, len(candidates)))
    return examples


def lora_layers(model: Any, top_layers: int) -> list[int] | None:
    """The decoder layer indices the adapter trains: the last `top_layers` (None: all)."""
    count = model.config.num_hidden_layers
    return None if top_layers <= 0 or top_layers >= count else list(range(count - top_layers, count))


def layer_linears(model: Any) -> list[str]:
    """The names of the linear layers inside the decoder layers (q_proj, ..., down_proj for Llama):
    peft takes `layers_to_transform` only with the target modules named."""
    import torch

    names = {
        name.rsplit(".", 1)[-1]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and ".layers." in name
    }
    if not names:
        raise ValueError(f"{type(model).__name__} has no linear layers inside decoder layers")
    return sorted(names)


def batches(examples: list, batch_size: int, steps: int, rng: random.Random) -> list[list]:
    """`steps` batches, the rows shuffled each pass over them."""
    order: list[int] = []
    out = []
    while len(out) < steps:
        if len(order) < batch_size:
            fresh = list(range(len(examples)))
            rng.shuffle(fresh)
            order += fresh
        out.append([examples[i] for i in order[:batch_size]])
        order = order[batch_size:]
    return out


def train_chooser(
    agent_dir: str | Path, data: str | Path, retriever: str | Path | None, params: ChooserParams | None = None
) -> dict:
    """Train the chooser of the agent folder `agent_dir` on `data`'s sft split with shortlists from
    `retriever` (the trained one the hybrid will use; None: the untrained one); writes
    AGENT/chooser/ and the manifest's `chooser` record (returned)."""
    import torch
    from peft import get_peft_model
    from tqdm import tqdm
    from transformers import AutoTokenizer, get_linear_schedule_with_warmup

    from diffagent.agent.base_model import load_base_model
    from diffagent.agent.budget import budget_seconds, past_budget
    from diffagent.agent.chooser import choice_logits
    from diffagent.agent.generate import pad_id
    from diffagent.agent.selector import load_agent
    from diffagent.agent.sft import sft_rows

    params = params or ChooserParams()
    folder = Path(agent_dir)
    if not (folder / MANIFEST).exists():
        raise ValueError(f"{agent_dir} is not a local agent folder: no {MANIFEST}")
    manifest = json.loads((folder / MANIFEST).read_text())
    retrieval = load_agent(None, data, retriever=retriever)
    rows = [r for r in sft_rows(Path(data)) if r["model"] in retrieval.catalog and r["prompt"].strip()]
    if not rows:
        raise ValueError(f"no sft rows under {data} name a model of its catalog")
    tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
    examples = chooser_examples(retrieval, rows, tokenizer, params.shortlist, params.seed)
    torch.manual_seed(params.seed)
    recorded = manifest.get("base_weights") or {}
    base = load_base_model(manifest["base_model"], torch.float32, False, recorded.get("sha256"))
    layers = lora_layers(base.model, params.top_layers)
    config = params.lora_config(layer_linears(base.model), layers_to_transform=layers)
    model = get_peft_model(base.model, config)
    model.train()
    steps = (
        params.max_steps
        if params.max_steps > 0
        else max(1, round(params.epochs * len(examples) / params.batch_size))
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=params.learning_rate)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, steps // 20), steps)
    pad = pad_id(tokenizer)
    letters = torch.tensor(label_ids(tokenizer, params.shortlist))
    budget = budget_seconds(params.max_minutes) if params.max_minutes is not None else None
    losses, hits, started, stopped = [], [], time.monotonic(), False
    plan = batches(examples, params.batch_size, steps, random.Random(params.seed + 1))
    for done, batch in enumerate(tqdm(plan, desc="chooser", disable=not sys.stderr.isatty()), start=1):
        logits = choice_logits(model, [ids for ids, _, _ in batch], pad)[:, letters]
        # Rows with fewer candidates than the shortlist (a tiny catalog) mask the missing letters.
        sizes = torch.tensor([n for _, _, n in batch])
        logits = logits.masked_fill(torch.arange(len(letters))[None, :] >= sizes[:, None], float("-inf"))
        targets = torch.tensor([right for _, right, _ in batch])
        loss = torch.nn.functional.cross_entropy(logits, targets)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(round(loss.item(), 4))
        hits += (logits.argmax(-1) == targets).tolist()
        elapsed = time.monotonic() - started
        if budget is not None and done < steps and past_budget(elapsed, done, budget):
            stopped = True
            break
    seconds = time.monotonic() - started
    model.save_pretrained(folder / CHOOSER_DIR)
    record = {
        "retriever": str(retriever) if retriever else None,
        "data": str(data),
        "rows": len(examples),
        "steps": len(losses),
        "rows_seen": len(hits),
        "stopped_at_budget": stopped,
        "train_seconds": round(seconds, 1),
        "losses": losses,
        "train_accuracy_last_100_rows": round(sum(hits[-100:]) / max(1, len(hits[-100:])), 4),
        "chance": round(sum(1 / n for _, _, n in examples) / len(examples), 4),
        "params": asdict(params),
    }
    manifest[CHOOSER_KEY] = record
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
    log.info(
        "chooser written to %s (%d steps, last loss %.4f)", folder / CHOOSER_DIR, len(losses), losses[-1]
    )
    return record
