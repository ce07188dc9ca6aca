"""The transformers backend: batched constrained (greedy or top-k) and free generation (greedy,
sampled, diverse beams), implementing `backend.Backend`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from diffagent.agent.backend import Answer, DiverseBeams, Generation, Sampling
from diffagent.agent.constrained import AnswerConstraint, values_to_fields
from diffagent.agent.conversation import build_messages
from diffagent.agent.fastforward import fast_forward_greedy

FALLBACK_TEMPLATE = "### System\n{system}\n### User\n{user}\n### Assistant\n"


def encode_prompt(tokenizer: Any, instruction: Any) -> list[int]:
    """Token ids of the chat prompt. Special-token strings typed by a user are removed first, so a
    prompt cannot open a fake assistant turn."""
    return encode_messages(tokenizer, build_messages(instruction))


def encode_messages(tokenizer: Any, messages: list[dict[str, str]]) -> list[int]:
    """Token ids of a system + user conversation ending where the assistant's answer starts
    (special-token strings removed from the messages' texts)."""
    specials = [t for t in tokenizer.all_special_tokens if t]
    for message in messages:
        for special in specials:
            message["content"] = message["content"].replace(special, "")
    if tokenizer.chat_template:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:  # base models (LLaMA-2 base) ship no chat template
        text = FALLBACK_TEMPLATE.format(system=messages[0]["content"], user=messages[1]["content"])
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    if bos is not None and (tokenizer.bos_token is None or not text.startswith(tokenizer.bos_token)):
        ids = [bos, *ids]
    return ids


def pad_id(tokenizer: Any) -> int:
    """The id padding uses: the tokenizer's pad token, else its EOS (masked out either way)."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded ids and attention mask [N, L] (decoder-only generation continues at the right)."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids, mask


def until_eos(generated: Sequence[int], eos_id: int | None) -> list[int]:
    """The generated tokens up to and including the first EOS."""
    tokens = list(generated)
    return tokens[: tokens.index(eos_id) + 1] if eos_id is not None and eos_id in tokens else tokens


class TransformersBackend:
    """Loads once; every call is one batched decode (two for top-k).

    fast_forward (default): constrained greedy decoding appends forced tokens without a model
    decision and feeds each forced run in one forward pass (`fastforward.py`); False runs
    `generate` with `prefix_allowed_tokens_fn`, one forward pass per token (same answers).
    """

    def __init__(self, model: Any, tokenizer: Any, catalog: Any, fast_forward: bool = True) -> None:
        self.fast_forward = fast_forward
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.catalog = catalog
        self.pad = pad_id(tokenizer)
        self.constraint = AnswerConstraint(tokenizer, catalog)
        self.model_constraint = AnswerConstraint(tokenizer, catalog, stop_after_model=True)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _generate(self, rows: list[list[int]], constraint: AnswerConstraint | None, **kwargs: Any) -> Any:
        ids, mask = left_pad(rows, self.pad)
        if constraint is not None:
            kwargs["prefix_allowed_tokens_fn"] = constraint
        with torch.inference_mode():
            return self.model.generate(
                input_ids=ids.to(self.device),
                attention_mask=mask.to(self.device),
                pad_token_id=self.pad,
                eos_token_id=self.tokenizer.eos_token_id,
                return_dict_in_generate=True,
                **kwargs,
            )

    def constrained(
        self, prompts: list[list[int]], top_k: int = 1, shortlists: list[list[str]] | None = None
    ) -> list[list[Answer]]:
        """Per prompt, up to `top_k` answers, best first.

        score: mean log-probability of the model-choice tokens (`{"model": "<name>"`), the quantity
        that ranks candidates. top_k == 1 is greedy over the whole answer. top_k > 1 runs beam search
        over the model choice only (K distinct models), then greedy for each one's parameters.
        """
        if top_k > 1:
            return self._top_k(prompts, top_k, shortlists)
        if self.fast_forward:
            return [[a] for a in self._fast_greedy(prompts, shortlists)]
        width = max(len(p) for p in prompts)
        self.constraint.prepare([width] * len(prompts), shortlists)
        limit = self.constraint.max_answer_tokens()
        out = self._generate(
            prompts, self.constraint, do_sample=False, max_new_tokens=limit, output_logits=True
        )
        answers = []
        for row in range(len(prompts)):
            generated = out.sequences[row, width:].tolist()
            values = self.constraint.values_of(row, generated)
            if values is None:
                raise RuntimeError(f"constrained decoding did not finish within {limit} tokens")
            fields = values_to_fields(values)
            n_model = self._model_prefix(fields["model"])
            logprobs = [
                torch.log_softmax(out.logits[t][row].float(), -1)[generated[t]].item() for t in range(n_model)
            ]
            eos = self.tokenizer.eos_token_id
            tokens = generated.index(eos) + 1 if eos in generated else len(generated)
            # Step by step, every token is one forward pass and one (masked) argmax.
            answers.append([Answer(fields, sum(logprobs) / n_model, tokens, tokens, tokens)])
        return answers

    def _model_prefix(self, model: str) -> int:
        """Tokens of `{"model": "<name>"`: the part of an answer its score averages over."""
        return len(self.constraint.keys[0]) + len(self.constraint.model_ids(model))

    def _fast_greedy(self, prompts: list[list[int]], shortlists: list[list[str]] | None) -> list[Answer]:
        self.constraint.prepare([0] * len(prompts), shortlists)  # rows hold answer tokens only
        limit = self.constraint.max_answer_tokens()
        with torch.inference_mode():
            decoded = fast_forward_greedy(self.model, self.constraint, prompts, self.pad, limit)
        answers = []
        for row, result in enumerate(decoded):
            values = self.constraint.values_of(row, result.tokens)
            if values is None:
                raise RuntimeError(f"constrained decoding ended outside the answer grammar: {result.tokens}")
            fields = values_to_fields(values)
            n_model = self._model_prefix(fields["model"])
            score = sum(result.logprobs[:n_model]) / n_model
            answers.append(Answer(fields, score, len(result.tokens), result.decisions, result.forward_passes))
        return answers

    def _top_k(
        self, prompts: list[list[int]], top_k: int, shortlists: list[list[str]] | None
    ) -> list[list[Answer]]:
        width = max(len(p) for p in prompts)
        self.model_constraint.prepare([width] * len(prompts), shortlists)
        counts = [
            len(shortlists[i]) if shortlists is not None else len(self.catalog.selectable)
            for i in range(len(prompts))
        ]
        beams = max(1, min(top_k, max(counts)))
        limit = max(len(self.model_constraint.model_ids(m)) for m in self.catalog.selectable) + 8
        out = self._generate(
            prompts,
            self.model_constraint,
            do_sample=False,
            num_beams=beams,
            num_return_sequences=beams,
            max_new_tokens=limit + len(self.model_constraint.keys[0]),
            length_penalty=1.0,
            early_stopping=True,
        )
        chosen: list[list[str]] = []
        for row in range(len(prompts)):
            models: list[str] = []
            for beam in range(beams):
                values = self.model_constraint.values_of(
                    row, out.sequences[row * beams + beam, width:].tolist()
                )
                if values is not None and values[0] not in models:
                    models.append(values[0])
            chosen.append(models[:top_k])
        # Second pass: each (prompt, model) pair, the model forced, greedy parameters.
        pairs = [(row, m) for row, models in enumerate(chosen) for m in models]
        answers: list[list[Answer]] = [[] for _ in prompts]
        if self.fast_forward:  # a one-model shortlist forces the model name: scored in the prefill
            found = self._fast_greedy([prompts[row] for row, _ in pairs], [[m] for _, m in pairs])
            for (row, _), answer in zip(pairs, found, strict=True):
                answers[row].append(answer)
            return [sorted(a, key=lambda x: -x.score) for a in answers]
        forced = [list(self.constraint.keys[0]) + self.constraint.model_ids(m) for _, m in pairs]
        rows = [prompts[row] + f for (row, _), f in zip(pairs, forced, strict=True)]
        longest = max(len(r) for r in rows)
        self.constraint.prepare([longest - len(f) for f in forced], [[m] for _, m in pairs])
        scores = self._model_scores(rows, [len(f) for f in forced])
        limit = self.constraint.max_answer_tokens()
        out = self._generate(rows, self.constraint, do_sample=False, max_new_tokens=limit)
        for i, (row, _) in enumerate(pairs):
            generated = forced[i] + out.sequences[i, longest:].tolist()
            values = self.constraint.values_of(i, generated)
            if values is None:
                raise RuntimeError(f"constrained decoding did not finish within {limit} tokens")
            eos = self.tokenizer.eos_token_id  # rows that ended early are padded after EOS
            n = generated.index(eos) + 1 if eos in generated else len(generated)
            answers[row].append(Answer(values_to_fields(values), scores[i], n, n, n))
        return [sorted(a, key=lambda x: -x.score) for a in answers]

    def _model_scores(self, rows: list[list[int]], tails: list[int]) -> list[float]:
        """Mean log-probability of each row's last `tails[i]` tokens (the forced model choice)."""
        ids, mask = left_pad(rows, self.pad)
        with torch.inference_mode():
            logits = self.model(
                input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
            ).logits.float()
        logprobs = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None].to(self.device))[..., 0]
        return [logprobs[i, -tail:].mean().item() for i, tail in enumerate(tails)]

    def _text(self, generated: Sequence[int]) -> str:
        return self.tokenizer.decode(
            until_eos(generated, self.tokenizer.eos_token_id), skip_special_tokens=True
        )

    def unconstrained(
        self, prompts: list[list[int]], max_new_tokens: int = 256, min_new_tokens: int = 0
    ) -> list[Generation]:
        """Plain greedy generation (the paper's path). With the KV cache each token is one forward
        pass and one argmax over the whole vocabulary: decisions = forward passes = tokens."""
        width = max(len(p) for p in prompts)
        out = self._generate(
            prompts, None, do_sample=False, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens
        )
        results = []
        for row in range(len(prompts)):
            generated = until_eos(out.sequences[row, width:].tolist(), self.tokenizer.eos_token_id)
            n = len(generated)
            results.append(Generation(self.tokenizer.decode(generated, skip_special_tokens=True), n, n, n))
        return results

    def sample(self, prompts: list[list[int]], spec: Sampling) -> list[list[str]]:
        torch.manual_seed(spec.seed)
        width, n = max(len(p) for p in prompts), spec.num_samples
        out = self._generate(
            prompts,
            None,
            do_sample=True,
            temperature=spec.temperature,
            top_p=spec.top_p,
            top_k=0,
            num_return_sequences=n,
            max_new_tokens=spec.max_new_tokens,
        )
        texts = [self._text(sequence[width:]) for sequence in out.sequences.tolist()]
        return [texts[row * n : (row + 1) * n] for row in range(len(prompts))]

    def diverse_beams(self, prompts: list[list[int]], spec: DiverseBeams) -> list[list[str]]:
        """Group-diverse beam search (the paper's candidates), `rrhf.diverse_beam`'s own algorithm:
        transformers 5 removed it from `generate`."""
        from diffagent.agent.diverse_beam import diverse_beam_search

        ids, mask = left_pad(prompts, self.pad)
        with torch.inference_mode():
            beams = diverse_beam_search(
                self.model,
                ids.to(self.device),
                mask.to(self.device),
                num_beam_groups=spec.num_beam_groups,
                beams_per_group=spec.beams_per_group,
                diversity_penalty=spec.diversity_penalty,
                max_new_tokens=spec.max_new_tokens,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.pad,
            )
        width = ids.shape[1]
        return [[self._text(s[width:]) for s in beams.sequences[row].tolist()] for row in range(len(prompts))]

    def for_catalog(self, catalog: Any) -> TransformersBackend:
        return TransformersBackend(self.model, self.tokenizer, catalog, self.fast_forward)
