"""One answer grammar, two decoders: the transformers trie and the JSON schema vLLM gets accept the
same answers on the same cases (vLLM itself is not installed here: its schema is checked with
`jsonschema`, the trie by walking the answer's tokens)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from diffagent.agent.constrained import LEAF, AnswerConstraint
from diffagent.agent.conversation import answer_segments
from diffagent.agent.grammar import AnswerGrammar
from diffagent.agent.vllm_backend import VLLMBackend
from diffagent.catalog import load_catalog

# A SD 1.5 LoRA on a SD 1.5 Checkpoint of the small DABench (tests.agent.conftest.MODELS).
LORA = {
    "model": "Watercolor Style",
    "type": "LORA",
    "base_model": "SD 1.5",
    "base_checkpoint": "Realistic Vision",
    "width": 512,
    "height": 768,
    "sampling_method": "Euler a",
    "sampling_steps": 30,
    "cfg_scale": 7.5,
}
CHECKPOINT = {**LORA, "model": "Juggernaut XL", "type": "Checkpoint", "base_model": "SDXL 1.0"}
CHECKPOINT.update(base_checkpoint=None, width=1024, height=1024)
CASES = [  # (answer, allowed)
    (LORA, True),
    ({**LORA, "base_checkpoint": "Anime Pastel Dream"}, True),
    ({**LORA, "base_checkpoint": "Juggernaut XL"}, False),  # a SDXL base for a SD 1.5 LoRA
    ({**LORA, "base_checkpoint": None}, False),
    ({**LORA, "type": "Checkpoint"}, False),  # not the catalog's type
    ({**LORA, "model": "Made Up Model"}, False),
    ({**LORA, "cfg_scale": 7.3}, True),
    ({**LORA, "cfg_scale": 7.25}, False),  # off the grid of tenths
    ({**LORA, "cfg_scale": 30.1}, False),
    ({**LORA, "sampling_steps": 150}, True),
    ({**LORA, "sampling_steps": 151}, False),
    ({**LORA, "width": 1000}, True),
    ({**LORA, "width": 999}, False),
    ({**LORA, "sampling_method": "Magic"}, False),
    (CHECKPOINT, True),
    ({**CHECKPOINT, "base_model": "SD 1.5"}, False),  # not the catalog's base model
    ({**CHECKPOINT, "base_checkpoint": "Realistic Vision"}, False),  # a Checkpoint has no base
]


@pytest.fixture(scope="module")
def catalog(dabench):
    return load_catalog(dabench)


@pytest.fixture(scope="module")
def tokenizer(tiny_llm):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_llm)


def schema_allows(catalog, answer: dict, shortlist: list[str] | None = None) -> bool:
    backend = VLLMBackend.__new__(VLLMBackend)  # no engine: only the schema it would send
    backend.catalog = catalog
    try:
        jsonschema.validate(answer, json.loads(backend.schema(shortlist)))
    except jsonschema.ValidationError:
        return False
    return True


def trie_allows(tokenizer, catalog, answer: dict, shortlist: list[str] | None = None) -> bool:
    """Whether the trie accepts the answer's tokens, segment-wise as SFT tokenised them, to EOS."""
    constraint = AnswerConstraint(tokenizer, catalog)
    constraint.prepare([0], [shortlist] if shortlist is not None else None)
    ids = [t for s in answer_segments(answer) for t in tokenizer.encode(s, add_special_tokens=False)]
    values = constraint.values_of(0, [*ids, tokenizer.eos_token_id])
    return values is not None and values == tuple(answer.values())


@pytest.mark.parametrize(("answer", "allowed"), CASES)
def test_trie_and_vllm_schema_accept_the_same_answers(tokenizer, catalog, answer, allowed):
    assert (trie_allows(tokenizer, catalog, answer), schema_allows(catalog, answer)) == (allowed, allowed)


def test_a_shortlist_narrows_both_to_its_catalog_models(tokenizer, catalog):
    shortlist = ["Juggernaut XL", "Pixel Art XL", "Not In The Catalog"]
    for answer, allowed in ((CHECKPOINT, True), (LORA, False)):
        got = (trie_allows(tokenizer, catalog, answer, shortlist), schema_allows(catalog, answer, shortlist))
        assert got == (allowed, allowed), answer["model"]
    assert AnswerGrammar(catalog, shortlist).models == ("Juggernaut XL", "Pixel Art XL")


def test_the_trie_and_the_schema_hold_the_same_cfg_values(tokenizer, catalog):
    """Every CFG the trie can write (its leaves) is one the schema allows, and no other: 1.0 to 30.0
    in tenths, 291 values."""

    def leaves(node: dict) -> set:
        found = {node[LEAF]} if LEAF in node else set()
        return found.union(*(leaves(child) for token, child in node.items() if token is not LEAF))

    trie = AnswerConstraint(tokenizer, catalog).parameter_tries[8]
    schema = AnswerGrammar(catalog).json_schema()
    enums = {json.dumps(branch["properties"]["cfg_scale"]["enum"]) for branch in schema["anyOf"]}
    (enum,) = [json.loads(e) for e in enums]
    assert leaves(trie) == set(enum) and len(enum) == 291 and (enum[0], enum[-1]) == (1.0, 30.0)
