"""The hybrid selector: the retriever proposes a shortlist, the LLM weighs in on every candidate.

Why not let the LLM decode a model name over the whole catalog: a 135 M model trained for minutes
on a CPU cannot memorise hundreds of names, while the retriever already holds the true model in its
top 10 most of the time. So the LLM only judges the shortlist, and its score is fused with the
retriever's:

    fused = (1 - llm_weight) * z(retriever scores) + llm_weight * z(LLM log-probabilities)

z-scored within the shortlist, so the two scales meet; weight 0 is the retriever's order, 1 the
LLM's choice over the shortlist (exact: every candidate is scored). Two readers give the LLM's
score (`HybridSettings.reader`):
  names  the agent's own policy: the log-probability of writing each bare name as the answer's
         `model` value (its training conversation and token segmentation). One prefill of the
         prompt, then one pass over every candidate's name tokens against the prompt's KV cache.
  cards  the chooser (`chooser.py`), a second adapter that reads the whole shortlist as lettered
         cards (name, base model, trigger words, tags) in its context: one forward pass a prompt.
The settings (`HybridSettings`) are tuned on the rrhf split (`calibrate.py`) and stored in the
agent's manifest. A model added to the catalog after training is still chosen when the retriever
shortlists it: both readers score any model, seen in training or not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from diffagent.agent.conversation import json_value, key_segment

if TYPE_CHECKING:
    from diffagent.agent.selector import Agent, Selection
    from schemas.t2i import Instruction

HYBRID_KEY = "hybrid"  # the agent manifest's key for the tuned settings
PARAMETER_SOURCES = ("retrieval", "llm")
READERS = ("names", "cards")


def check_reader(reader: str) -> None:
    """ValueError naming `reader` unless it is one of `READERS`."""
    if reader not in READERS:
        raise ValueError(f"hybrid reader {reader!r}; expected one of {READERS}")


@dataclass(frozen=True)
class HybridSettings:
    """How the hybrid answers. `parameters`: who writes the generation settings of the chosen
    model: the retriever (settings of its sft samples nearest the prompt, no tokens generated) or
    the LLM (constrained greedy decoding with the model forced)."""

    shortlist: int = 10
    llm_weight: float = 0.5
    parameters: str = "retrieval"
    reader: str = "names"

    def __post_init__(self) -> None:
        if self.shortlist < 1:
            raise ValueError(f"hybrid shortlist must be at least 1, got {self.shortlist}")
        if not 0.0 <= self.llm_weight <= 1.0:
            raise ValueError(f"hybrid llm_weight must be in [0, 1], got {self.llm_weight}")
        if self.parameters not in PARAMETER_SOURCES:
            raise ValueError(f"hybrid parameters {self.parameters!r}; expected one of {PARAMETER_SOURCES}")
        check_reader(self.reader)

    @classmethod
    def of(cls, manifest: dict | None) -> HybridSettings:
        """The settings an agent's manifest records (`calibrate`), else the defaults."""
        stored = (manifest or {}).get(HYBRID_KEY) or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in stored.items() if k in known})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ScoredShortlist:
    """One prompt's shortlist, best retrieval first: models, retriever scores, LLM log-probabilities."""

    models: list[str]
    retrieval: list[float]
    llm: list[float]

    def fused(self, llm_weight: float, size: int | None = None) -> list[tuple[str, float]]:
        """The first `size` candidates (all by default) ranked by the fused score, best first."""
        n = len(self.models) if size is None else min(size, len(self.models))
        scores = (1.0 - llm_weight) * zscores(self.retrieval[:n]) + llm_weight * zscores(self.llm[:n])
        order = np.argsort(-scores, kind="stable")  # ties keep the retriever's order
        return [(self.models[i], float(scores[i])) for i in order]

    def ranked(self, llm_weight: float, head: int) -> list[tuple[str, float]]:
        """The first `head` candidates fused, then the rest in the retriever's order (the LLM did
        not read them), each scored below the head."""
        fused = self.fused(llm_weight, head)
        floor = min((score for _, score in fused), default=0.0)
        tail = [(m, floor - 1.0 - i) for i, m in enumerate(self.models[head:])]
        return fused + tail


def zscores(values: list[float]) -> np.ndarray:
    """(v - mean) / std within one shortlist; all zeros when the values are all equal.

    Example: [1, 2, 3] -> [-1.2247, 0, 1.2247]."""
    array = np.asarray(values, dtype=np.float64)
    spread = array.std()
    return np.zeros_like(array) if spread == 0 else (array - array.mean()) / spread


def candidate_logprobs(model: Any, context: list[int], candidates: list[list[int]]) -> list[float]:
    """log P(candidate tokens | context) for each candidate (a list of token ids), in one prefill
    of `context` and one batched pass over the candidates against its KV cache."""
    import torch

    if not candidates or any(not ids for ids in candidates):
        raise ValueError("every candidate needs at least one token")
    device = next(model.parameters()).device
    with torch.inference_mode():
        prefill = model(input_ids=torch.tensor([context], device=device), use_cache=True, logits_to_keep=1)
        first = torch.log_softmax(prefill.logits[0, -1].float(), -1)
        totals = [first[ids[0]].item() for ids in candidates]
        width = max(len(ids) for ids in candidates) - 1
        if width == 0:
            return totals
        # Each candidate's tokens but its last are fed (right-padded), predicting the next one.
        feed = torch.zeros((len(candidates), width), dtype=torch.long)
        for row, ids in enumerate(candidates):
            feed[row, : len(ids) - 1] = torch.tensor(ids[:-1])
        cache = prefill.cache
        cache.batch_repeat_interleave(len(candidates))
        # Pads come after a row's real tokens, so causal attention never lets a real token see one.
        mask = torch.ones((len(candidates), len(context) + width), dtype=torch.long, device=device)
        positions = (len(context) + torch.arange(width, device=device)).expand(len(candidates), -1)
        feed = feed.to(device)
        out = model(input_ids=feed, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True)
        logprobs = torch.log_softmax(out.logits.float(), -1).cpu()
    for row, ids in enumerate(candidates):
        totals[row] += sum(logprobs[row, j - 1, ids[j]].item() for j in range(1, len(ids)))
    return totals


def score_shortlists(
    agent: Agent,
    items: list[Instruction],
    size: int,
    with_llm: bool = True,
    reader: str = "names",
    read: int | None = None,
) -> tuple[list[ScoredShortlist], Any]:
    """The retriever's top-`size` selectable models per instruction with both scores (the LLM's
    read by `reader`, for the first `read` candidates, all by default; 0 for the rest), and the
    instructions' retrieval features (for the settings of the chosen model). Without `with_llm`
    the LLM scores are all 0 (no forward pass): what weight 0 reads, the retriever's order."""
    check_reader(reader)
    selectable = set(agent.catalog.selectable)
    found, features = agent.ranked(items, size)
    rows = [[(m, s) for m, s in row if m in selectable] for row in found]
    shortlists = [[m for m, _ in row] for row in rows]
    heads = [names[:read] for names in shortlists]
    if not with_llm:
        llm = [[0.0] * len(names) for names in heads]
    elif reader == "cards":
        llm = agent.chooser_logprobs(items, heads)
    else:
        llm = name_logprobs(agent, items, heads)
    scored = [
        ScoredShortlist(names, [s for _, s in row], scores + [0.0] * (len(names) - len(scores)))
        for names, row, scores in zip(shortlists, rows, llm, strict=True)
    ]
    return scored, features


def name_logprobs(agent: Agent, items: list[Instruction], shortlists: list[list[str]]) -> list[list[float]]:
    """The agent's log-probability of writing each shortlisted name as its answer's `model`."""
    from diffagent.agent.generate import encode_prompt

    backend = agent.backend
    constraint = backend.constraint
    opening = constraint.encode(key_segment(0))  # `{"model": `, as the answer starts
    found = []
    for item, shortlist in zip(items, shortlists, strict=True):
        context = encode_prompt(backend.tokenizer, item) + opening
        names = [constraint.encode(json_value(m)) for m in shortlist]
        found.append(candidate_logprobs(backend.model, context, names) if names else [])
    return found


def hybrid_select(
    agent: Agent, items: list[Instruction], top_k: int, settings: HybridSettings
) -> list[list[Selection]]:
    """Up to `top_k` answers per instruction from the fused shortlist (see the module docstring)."""
    from diffagent.agent.selector import texts

    # Weight 0 (what calibrate keeps when the LLM's pick does not beat the retriever's) needs no
    # LLM pass: the answer is the retriever's order at the retriever's latency.
    with_llm = settings.llm_weight > 0
    size, head = max(settings.shortlist, top_k), settings.shortlist
    scored, features = score_shortlists(agent, items, size, with_llm, settings.reader, head)
    ranked = [s.ranked(settings.llm_weight, head)[:top_k] for s in scored]
    if settings.parameters == "llm":
        return llm_parameters(agent, items, ranked)
    similarity = agent.retriever.settings_similarity(features, *texts(items))
    answers = []
    for row, feature, near in zip(ranked, features, similarity, strict=True):
        picks = [agent.retrieval_answer(model, score, feature, near) for model, score in row]
        answers.append([pick.model_copy(update={"selector": "hybrid"}) for pick in picks])
    return answers


def llm_parameters(agent: Agent, items: list[Instruction], ranked: list[list[tuple[str, float]]]):
    """The LLM's constrained greedy answer for each ranked model (forced), fused score kept."""
    from diffagent.agent.generate import encode_prompt
    from diffagent.agent.selector import Selection
    from diffagent.answers import assemble_api

    pairs = [(i, model, score) for i, row in enumerate(ranked) for model, score in row]
    prompts = [encode_prompt(agent.backend.tokenizer, items[i]) for i, _, _ in pairs]
    found = agent.backend.constrained(prompts, top_k=1, shortlists=[[model] for _, model, _ in pairs])
    answers: list[list[Selection]] = [[] for _ in items]
    for (i, _, score), (answer,) in zip(pairs, found, strict=True):
        answers[i].append(
            Selection(
                api=assemble_api(answer.fields, agent.catalog),
                score=score,
                selector="hybrid",
                tokens_generated=answer.tokens,
                model_decisions=answer.decisions,
                forward_passes=answer.forward_passes,
            )
        )
    return answers
