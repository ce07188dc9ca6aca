"""The chooser: the LLM reads the retriever's shortlist, each candidate as a short card, and answers
with the letter of the one that fits the prompt (a listwise choice).

Why cards: a 135 M model trained for minutes cannot memorise hundreds of model names, so scoring a
bare name after the prompt (`hybrid.candidate_logprobs`) carries almost nothing; with the
candidates' names, base models, trigger words and tags in its context it only has to compare, and
a model added after training is read like any other. The chooser is its own LoRA adapter on the
agent's base model (`chooser_train.py`), in the agent folder's `chooser/`.

Scores: one forward pass of the whole conversation, the log-probability of each candidate's letter
at the answer's first token, normalised over the shortlist's letters (a log-softmax over those
logits only, the same quantity training maximises for the right letter).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from diffagent.agent.conversation import MAX_NEGATIVE_CHARS, MAX_PROMPT_CHARS, as_instruction, clean_text
from schemas.dabench import CatalogEntry
from schemas.t2i import Instruction

if TYPE_CHECKING:
    from diffagent.catalog import Catalog

CHOOSER_DIR = "chooser"  # the adapter's folder inside an agent folder
CHOOSER_KEY = "chooser"  # the agent manifest's record of its training
LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # one letter a candidate: at most 26 in a shortlist
SYSTEM_PROMPT = (
    "You are DiffAgent. Given a text-to-image prompt and candidate community Stable Diffusion "
    "models, choose the candidate that renders the prompt best. Answer with its letter only."
)
# Token budgets of the conversation's parts: a shortlist of 5 stays near 300 tokens, which keeps
# training steps and the answer's latency on a CPU small (the head of a prompt carries its style).
PROMPT_TOKENS = 96
NEGATIVE_TOKENS = 24
CARD_TOKENS = 40
CARD_TRIGGERS = 3
CARD_TAGS = 4
CHOICE_BATCH = 8  # conversations per forward pass when answering (similar lengths: little padding)


def model_card(entry: CatalogEntry) -> str:
    """One line about a candidate: name, type and base model, first trigger words and tags.

    Example: 'Pixel Art XL (v1.1) | LORA for SDXL 1.0 | triggers: pixel art | tags: style, pixel'."""
    parts = [entry.model, f"{entry.type} for {entry.base_model}"]
    triggers = [w.strip()[:30] for w in entry.trained_words if w.strip()][:CARD_TRIGGERS]
    if triggers:
        parts.append("triggers: " + ", ".join(triggers))
    tags = [t.strip() for t in entry.tags if t.strip()][:CARD_TAGS]
    if tags:
        parts.append("tags: " + ", ".join(tags))
    return clean_text(" | ".join(parts), 400).replace("\n", " ")


def head_tokens(tokenizer: Any, text: str, limit: int) -> str:
    """The first `limit` tokens of `text`, decoded back to text."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return text if len(ids) <= limit else tokenizer.decode(ids[:limit]).strip()


def choice_messages(
    tokenizer: Any, instruction: Instruction | dict | str, cards: Sequence[str]
) -> list[dict]:
    """System + user messages: the prompt, its negative prompt and the lettered cards."""
    if not 1 <= len(cards) <= len(LABELS):
        raise ValueError(f"a shortlist for the chooser holds 1 to {len(LABELS)} candidates, got {len(cards)}")
    item = as_instruction(instruction)
    prompt = head_tokens(tokenizer, clean_text(item.prompt, MAX_PROMPT_CHARS), PROMPT_TOKENS)
    if not prompt:
        raise ValueError(f"empty prompt: {item.prompt!r}")
    negative = head_tokens(
        tokenizer, clean_text(item.negative_prompt or "", MAX_NEGATIVE_CHARS), NEGATIVE_TOKENS
    )
    lines = [f"{LABELS[i]}. {head_tokens(tokenizer, card, CARD_TOKENS)}" for i, card in enumerate(cards)]
    user = f"Prompt: {prompt}\nNegative prompt: {negative}\nCandidates:\n" + "\n".join(lines)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def encode_choice(tokenizer: Any, instruction: Instruction | dict | str, cards: Sequence[str]) -> list[int]:
    """Token ids of the chooser's conversation, ending where the answer's letter goes (the same
    chat template and special-token scrubbing as the agent's own prompt)."""
    from diffagent.agent.generate import encode_messages

    return encode_messages(tokenizer, choice_messages(tokenizer, instruction, cards))


def label_ids(tokenizer: Any, count: int) -> list[int]:
    """The token id of each of the first `count` letters as the answer's first token."""
    ids = [tokenizer.encode(letter, add_special_tokens=False) for letter in LABELS[:count]]
    if any(len(i) != 1 for i in ids):
        raise ValueError(f"the tokenizer splits a candidate letter into several tokens: {ids}")
    return [i[0] for i in ids]


def choice_logits(model: Any, rows: Sequence[Sequence[int]], pad_id: int) -> Any:
    """The next-token logits [N, vocab] after each conversation (left-padded into one batch)."""
    from diffagent.agent.generate import left_pad

    ids, mask = left_pad(rows, pad_id)
    device = next(model.parameters()).device
    # Positions count from each row's first real token, as if it were alone (left padding).
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    out = model(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=positions.to(device),
        logits_to_keep=1,
    )
    return out.logits[:, -1].float()


def choice_logprobs(
    model: Any, tokenizer: Any, rows: Sequence[Sequence[int]], sizes: Sequence[int]
) -> list[list[float]]:
    """Per conversation, the log-probability of each of its `sizes[i]` letters, normalised over them."""
    import torch

    from diffagent.agent.generate import pad_id

    with torch.inference_mode():
        logits = choice_logits(model, rows, pad_id(tokenizer)).cpu()
    found = []
    for row, size in zip(logits, sizes, strict=True):
        found.append(torch.log_softmax(row[label_ids(tokenizer, size)], -1).tolist())
    return found


def load_chooser(folder: Path, manifest: dict, device: str = "cpu") -> Any:
    """The chooser of an agent folder: its base model (checked against the recorded sha256) with
    `chooser/` merged once. ValueError when the folder has none."""
    import torch
    from peft import PeftModel

    from diffagent.agent.base_model import load_base_model

    if not (folder / CHOOSER_DIR).is_dir():
        raise ValueError(f"agent {folder} has no {CHOOSER_DIR}/: run `diffagent train chooser` first")
    if manifest.get("full"):
        raise ValueError(f"agent {folder} was fully fine-tuned; the chooser is an adapter on a base model")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    recorded = manifest.get("base_weights") or {}
    base = load_base_model(manifest["base_model"], dtype, False, recorded.get("sha256"))
    model = PeftModel.from_pretrained(base.model, folder / CHOOSER_DIR).merge_and_unload()
    return model.to(device).eval()


def shortlist_logprobs(
    model: Any,
    tokenizer: Any,
    catalog: Catalog,
    items: Sequence[Instruction],
    shortlists: Sequence[Sequence[str]],
    batch_size: int = CHOICE_BATCH,
) -> list[list[float]]:
    """The chooser's log-probability of each shortlisted model per instruction (its letter's,
    normalised over the shortlist); an empty shortlist gets []."""
    jobs = [
        (i, encode_choice(tokenizer, item, [model_card(catalog[m]) for m in names]), len(names))
        for i, (item, names) in enumerate(zip(items, shortlists, strict=True))
        if names
    ]
    found: list[list[float]] = [[] for _ in items]
    for start in range(0, len(jobs), batch_size):
        part = jobs[start : start + batch_size]
        scores = choice_logprobs(model, tokenizer, [ids for _, ids, _ in part], [n for _, _, n in part])
        for (i, _, _), row in zip(part, scores, strict=True):
            found[i] = row
    return found
