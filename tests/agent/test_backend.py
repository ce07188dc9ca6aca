"""One backend interface: the transformers backend implements it, the vLLM one matches it (vLLM
itself is a GPU extra, not installed here: only what runs without it is checked)."""

from __future__ import annotations

import inspect
import tomllib
from pathlib import Path

from diffagent.agent.backend import Backend
from diffagent.agent.generate import TransformersBackend, encode_prompt
from diffagent.agent.vllm_backend import VLLM_REQUIREMENT, VLLMBackend
from diffagent.rrhf.candidates import CandidateParams, generate_candidates

METHODS = ("constrained", "unconstrained", "sample", "diverse_beams", "for_catalog")


def test_both_backends_have_the_interface_with_the_same_signatures():
    for name in METHODS:
        wanted = inspect.signature(getattr(Backend, name))
        for backend in (TransformersBackend, VLLMBackend):
            got = inspect.signature(getattr(backend, name))
            assert list(got.parameters) == list(wanted.parameters), (backend.__name__, name)
            defaults = [p.default for p in got.parameters.values()]
            assert defaults == [p.default for p in wanted.parameters.values()], (backend.__name__, name)


def test_the_vllm_pin_is_the_one_the_backend_names():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["optional-dependencies"]["vllm"] == [VLLM_REQUIREMENT]


def test_transformers_backend_is_a_backend_and_rebinds_to_a_catalog_part(agent):
    backend = agent.backend
    assert isinstance(backend, Backend)
    part = agent.catalog.part(["Juggernaut XL", "Pixel Art XL"], "SDXL part")
    other = backend.for_catalog(part)
    assert other.model is backend.model and other.catalog is part
    prompt = encode_prompt(backend.tokenizer, "pixel art hero")
    ((answer,),) = other.constrained([prompt])
    assert answer.fields["model"] in {"Juggernaut XL", "Pixel Art XL"}


def test_free_generation_counts_and_repeats(agent):
    """2 samples + 2 groups x 1 beam per prompt, through the interface only; a rerun with the same
    seed gives the same texts (the tiny model writes noise, so only counts and sources are fixed)."""
    backend = agent.backend
    prompts = [encode_prompt(backend.tokenizer, p) for p in ("anime girl", "castle at night", "neon")]
    params = CandidateParams(num_samples=2, num_beam_groups=2, max_new_tokens=6, batch_size=2, seed=3)
    first = generate_candidates(backend, prompts, params, progress=False)
    assert [[source for source, _ in row] for row in first] == [["sample", "sample", "beam", "beam"]] * 3
    assert generate_candidates(backend, prompts, params, progress=False) == first
    (generation,) = backend.unconstrained(prompts[:1], max_new_tokens=5)
    assert generation.tokens <= 5 and generation.decisions == generation.forward_passes == generation.tokens
