"""Catalog-constrained decoding: the model can only write a valid answer naming a catalog entry.

The answer is a JSON skeleton with fixed keys (`conversation.ANSWER_KEYS`); the decoder only fills
values, and every value is a choice from a token trie over the values `grammar.AnswerGrammar`
allows (the one definition the vLLM backend's JSON schema comes from too):
  model           -> the catalog's selectable models (or a per-row shortlist, for the hybrid)
  type/base_model -> forced to the chosen model's catalog facts
  base_checkpoint -> Checkpoints of the LoRA's architecture, `null` for a Checkpoint
  width/height, sampling_method, sampling_steps, cfg_scale -> `grammar.PARAMETER_VALUES`
then `}` and EOS. `allowed(row, generated)` is a pure function of the row and its generated tokens
(memoised by prefix), so it stays right when beam search reorders rows: this is what
transformers' `prefix_allowed_tokens_fn` needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diffagent.agent.conversation import CLOSING, json_value, key_segment
from diffagent.agent.grammar import PARAMETER_VALUES, AnswerGrammar
from diffagent.answers.validity import ANSWER_KEYS
from schemas.t2i import architecture_of

LEAF = None  # trie key under which a finished choice stores its value


def build_trie(choices: dict[Any, list[int]]) -> dict:
    """Nested dicts token -> child; a node that ends a choice maps LEAF to the choice's value."""
    if not choices:
        raise ValueError("a constrained field needs at least one choice")
    root: dict = {}
    for value, ids in choices.items():
        if not ids:
            raise ValueError(f"choice {value!r} encodes to no tokens")
        node = root
        for token in ids:
            node = node.setdefault(token, {})
        node[LEAF] = value
    return root


@dataclass(frozen=True)
class State:
    """Where a row is: in key segment `slot` at offset `offset`, or in value `slot` at trie `node`."""

    in_key: bool
    slot: int  # 0..8 values, 9 is the closing brace, 10 means EOS written or due
    offset: int
    node: Any
    values: tuple


class AnswerConstraint:
    """Allowed next tokens for each row of a batch; see the module docstring."""

    def __init__(self, tokenizer: Any, catalog: Any, stop_after_model: bool = False) -> None:
        self.tokenizer = tokenizer
        self.catalog = catalog
        self.stop_after_model = stop_after_model
        self.eos = tokenizer.eos_token_id
        self.keys = [self.encode(key_segment(i)) for i in range(len(ANSWER_KEYS))] + [self.encode(CLOSING)]
        self._model_ids: dict[str, list[int]] = {}
        self.grammar = AnswerGrammar(catalog)
        self.model_trie = self.models_trie(self.grammar.models)
        self.parameter_tries = {  # by slot
            ANSWER_KEYS.index(key): build_trie({v: self.encode(json_value(v)) for v in values})
            for key, values in PARAMETER_VALUES.items()
        }
        self._forced: dict[Any, dict] = {}
        self._bases: dict[str, dict] = {}
        self.row_tries: dict[int, dict] = {}
        self.starts: dict[int, int] = {}
        self._memos: dict[int, dict[tuple, State | None]] = {}

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def model_ids(self, model: str) -> list[int]:
        if model not in self._model_ids:
            self._model_ids[model] = self.encode(json_value(model))
        return self._model_ids[model]

    def models_trie(self, models: tuple[str, ...] | list[str]) -> dict:
        return build_trie({m: self.model_ids(m) for m in models})

    def prepare(self, starts: list[int], shortlists: list[list[str]] | None = None) -> None:
        """Set each row's answer start (index in input_ids) and optional model shortlist."""
        self.starts = dict(enumerate(starts))
        self.row_tries = {}
        self._memos = {}
        if shortlists is not None:
            for row, models in enumerate(shortlists):
                self.row_tries[row] = self.models_trie(self.grammar.narrowed(models).models)

    def forced(self, value: Any) -> dict:
        if value not in self._forced:
            self._forced[value] = build_trie({value: self.encode(json_value(value))})
        return self._forced[value]

    def value_trie(self, row: int, slot: int, values: tuple) -> dict:
        if slot == 0:
            return self.row_tries.get(row, self.model_trie)
        kind, base_model = self.grammar.facts(values[0])
        if slot == 1:
            return self.forced(kind)
        if slot == 2:
            return self.forced(base_model)
        if slot == 3:
            if kind != "LORA":
                return self.forced(None)
            architecture = architecture_of(base_model)  # a LoRA's bases depend on its architecture only
            if architecture not in self._bases:
                bases = self.grammar.base_checkpoints(values[0])
                self._bases[architecture] = build_trie({m: self.model_ids(m) for m in bases})
            return self._bases[architecture]
        return self.parameter_tries[slot]

    def _enter(self, row: int, slot: int, offset: int, values: tuple) -> State:
        """The state after `offset` tokens of key segment `slot` (moving into its value when done)."""
        if slot == 1 and self.stop_after_model:
            return State(False, 10, 0, None, values)
        if slot >= len(self.keys):
            return State(False, 10, 0, None, values)
        if offset < len(self.keys[slot]):
            return State(True, slot, offset, None, values)
        if slot == len(self.keys) - 1:
            return State(False, 10, 0, None, values)
        return State(False, slot, 0, self.value_trie(row, slot, values), values)

    def step(self, row: int, state: State, token: int) -> State | None:
        """The state after `token`, or None when the token breaks the constraint."""
        if state.slot == 10:
            return state  # EOS written: padding follows
        if state.in_key:
            if token != self.keys[state.slot][state.offset]:
                return None
            return self._enter(row, state.slot, state.offset + 1, state.values)
        child = state.node.get(token)
        if child is not None:
            return State(False, state.slot, 0, child, state.values)
        if LEAF in state.node:
            values = (*state.values, state.node[LEAF])
            nxt = self._enter(row, state.slot + 1, 0, values)
            if nxt.slot == 10:
                return nxt if token == self.eos else None
            return self.step(row, nxt, token)
        return None

    def state(self, row: int, generated: tuple) -> State | None:
        memo = self._memos.setdefault(row, {})  # per row: rows share prefixes, not shortlists
        if generated in memo:
            return memo[generated]
        if not generated:
            result: State | None = self._enter(row, 0, 0, ())
        else:
            parent = self.state(row, generated[:-1])
            result = None if parent is None else self.step(row, parent, generated[-1])
        memo[generated] = result
        return result

    def allowed(self, row: int, generated: tuple) -> list[int]:
        state = self.state(row, generated)
        if state is None or state.slot == 10:
            return [self.eos]
        if state.in_key:
            return [self.keys[state.slot][state.offset]]
        tokens = [t for t in state.node if t is not LEAF]
        if LEAF in state.node:
            nxt = self._enter(row, state.slot + 1, 0, (*state.values, state.node[LEAF]))
            tokens.append(self.eos if nxt.slot == 10 else self.keys[state.slot + 1][0])
        return tokens

    def __call__(self, batch_id: int, input_ids: Any) -> list[int]:
        """`prefix_allowed_tokens_fn`: beams of one prompt share its `batch_id`."""
        return self.allowed(batch_id, tuple(input_ids[self.starts[batch_id] :].tolist()))

    def values_of(self, row: int, generated: list[int]) -> tuple | None:
        """The chosen values of a finished row (model, type, ..., cfg; or just the model when
        `stop_after_model`), or None when the row did not finish."""
        state: State | None = self._enter(row, 0, 0, ())
        for token in generated:
            state = self.step(row, state, token)
            if state is None:
                return None
            if state.slot == 10 and token == self.eos:
                break
        return state.values if state is not None and state.slot == 10 else None

    def max_answer_tokens(self) -> int:
        """An upper bound on an answer's length in tokens, EOS included (for max_new_tokens)."""

        def depth(node: dict) -> int:
            return 1 + max((depth(c) for t, c in node.items() if t is not LEAF), default=0)

        # Every LoRA's bases are some of the catalog's Checkpoints: their trie bounds them all.
        checkpoints = self.catalog.checkpoint_models
        bases = [depth(self.models_trie(checkpoints))] if checkpoints else [2]
        longest_model = max([depth(t) for t in [self.model_trie, *self.row_tries.values()]])
        values = [longest_model, 8, 8, *bases, *(depth(t) for t in self.parameter_tries.values())]
        return sum(len(k) for k in self.keys) + sum(values) + 2


def values_to_fields(values: tuple) -> dict[str, Any]:
    """The answer dict for a finished row's values, keyed by `ANSWER_KEYS`."""
    return dict(zip(ANSWER_KEYS, values, strict=True))
