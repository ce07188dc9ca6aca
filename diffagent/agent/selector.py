"""`Agent`: one object that answers instructions with catalog T2I APIs, three ways.

  llm        constrained decoding over the whole catalog (needs a trained agent)
  retrieval  the retriever's ranking, parameters from the model's sft samples nearest the prompt (no LLM)
  hybrid     the LLM's log-probability of each model of the retriever's shortlist, fused with the
             retriever's score (`hybrid.py`); models added to the catalog after training can be
             chosen. Its settings were tuned on rrhf (`calibrate.py`) and live in the manifest.
`constrained=False` runs plain generation and parses the JSON (the paper's path), to measure
hallucination; such answers have `api=None` when they name no catalog model.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from diffagent.agent.backend import Backend
from diffagent.agent.conversation import as_instruction
from diffagent.agent.folder import CATALOG_MODELS, MANIFEST, check_catalog, sibling_retriever  # noqa: F401
from diffagent.agent.hallucination import hallucination_rate  # noqa: F401 - its import path
from diffagent.agent.hybrid import HybridSettings, hybrid_select
from diffagent.answers import assemble_api, parse_answer, reconstruct
from diffagent.catalog import Catalog, load_catalog
from schemas.t2i import Instruction, T2IApi

log = logging.getLogger(__name__)
SELECTORS = ("llm", "retrieval", "hybrid")
SIMILARITY_CHUNK = 64  # queries per (queries, sft samples) similarity product


class Selection(BaseModel):
    """One ranked answer: the API (None when an unconstrained answer names no catalog model)."""

    api: T2IApi | None
    score: float | None = None
    selector: str
    tokens_generated: int = 0  # answer tokens, EOS included
    # Tokens the model chose (argmax among two or more allowed) and model calls for this answer;
    # with fast-forward both are far below tokens_generated (forced tokens cost no decision).
    # None when the backend cannot tell (vLLM schedules its forward passes itself).
    model_decisions: int | None = 0
    forward_passes: int | None = 0
    text: str | None = None  # the raw generated text, unconstrained path only


BACKENDS = ("transformers", "vllm")


class Agent:
    def __init__(
        self,
        catalog: Catalog,
        backend: Backend | None = None,
        embedder: Any = None,
        manifest: dict | None = None,
        shortlist_size: int | None = None,
        retriever: Any = None,
        hybrid: HybridSettings | None = None,
        folder: Path | None = None,
        chooser: Any = None,
    ) -> None:
        self.catalog, self.backend, self.manifest = catalog, backend, manifest or {}
        # The agent folder (where the hybrid's chooser adapter is) and the chooser once loaded.
        self.folder, self._chooser = folder, chooser
        self.hybrid = hybrid or HybridSettings.of(self.manifest)
        if shortlist_size is not None:
            self.shortlist_size = shortlist_size
        self._embedder, self._retriever = embedder, retriever
        # A retriever folder (or None: untrained), kept so that a catalog swap can reload it.
        self.retriever_source = retriever if not hasattr(retriever, "rank") else None

    @property
    def shortlist_size(self) -> int:
        """The hybrid's shortlist size (`self.hybrid.shortlist`)."""
        return self.hybrid.shortlist

    @shortlist_size.setter
    def shortlist_size(self, size: int) -> None:
        self.hybrid = replace(self.hybrid, shortlist=size)

    @property
    def retriever(self) -> Any:
        """The trained retriever given at load (a folder or a `Retriever`), else the untrained one
        built from the catalog's sft samples."""
        if self._retriever is None or isinstance(self._retriever, str | Path):
            from diffagent.retriever import load_retriever
            from diffagent.retriever.build import untrained_retriever
            from diffagent.retriever.embedder import Embedder

            embedder = self._embedder
            if isinstance(embedder, str):
                embedder = Embedder(embedder)
            if self._retriever is None:
                self._retriever = untrained_retriever(self.catalog, embedder or Embedder())
            else:
                self._retriever = load_retriever(self._retriever, self.catalog, embedder)
        return self._retriever

    def chooser_logprobs(self, items: list[Instruction], shortlists: list[list[str]]) -> list[list[float]]:
        """The chooser's (`chooser.py`) log-probability of each shortlisted model, read as cards;
        the chooser is loaded on first use, on the policy's device."""
        from diffagent.agent.chooser import load_chooser, shortlist_logprobs

        if self._chooser is None:
            if self.folder is None:
                raise ValueError("the cards reader needs an agent folder with a chooser (--agent)")
            model = getattr(self.backend, "model", None)
            device = str(next(model.parameters()).device) if model is not None else "cpu"
            self._chooser = load_chooser(self.folder, self.manifest, device)
        return shortlist_logprobs(self._chooser, self.backend.tokenizer, self.catalog, items, shortlists)

    def ranked(self, items: list[Instruction], n: int) -> tuple[list[list[tuple[str, float]]], Any]:
        """Top-n (model, score) per instruction from the retriever, and the query features."""
        rows, features = self.retriever.rank(*texts(items), n)
        names = self.retriever.models
        return [[(names[j], score) for j, score in row] for row in rows], features

    def select(
        self,
        instructions: list[Instruction | dict | str],
        top_k: int = 1,
        constrained: bool = True,
        selector: str = "llm",
    ) -> list[list[Selection]]:
        """Up to `top_k` ranked answers per instruction, in input order."""
        if selector not in SELECTORS:
            raise ValueError(f"unknown selector {selector!r}; expected one of {SELECTORS}")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        items = [as_instruction(i) for i in instructions]
        for item in items:
            if not item.prompt.strip():
                raise ValueError(f"empty prompt: {item.prompt!r}")
        if not items:
            return []
        if selector == "retrieval":
            return self._retrieval(items, top_k)
        if self.backend is None:
            raise ValueError(
                f"selector {selector!r} needs a trained agent (--agent); only 'retrieval' works without"
            )
        from diffagent.agent.generate import encode_prompt

        prompts = [encode_prompt(self.backend.tokenizer, i) for i in items]
        if not constrained:
            return [[self._parse(generation)] for generation in self.backend.unconstrained(prompts)]
        shortlists = None
        if selector == "hybrid":
            # The cards reader's chooser runs on transformers beside any backend.
            if self.hybrid.reader == "cards" or hasattr(self.backend, "model"):
                return hybrid_select(self, items, top_k, self.hybrid)
            # vLLM: constrained decoding over the shortlist (greedy, the retriever's score unused)
            found, _ = self.ranked(items, max(self.hybrid.shortlist, top_k))
            shortlists = [[m for m, _ in row] for row in found]
        results = self.backend.constrained(prompts, top_k=top_k, shortlists=shortlists)
        return [
            [
                Selection(
                    api=assemble_api(a.fields, self.catalog),
                    score=a.score,
                    selector=selector,
                    tokens_generated=a.tokens,
                    model_decisions=a.decisions,
                    forward_passes=a.forward_passes,
                )
                for a in row
            ]
            for row in results
        ]

    def _parse(self, generation: Any) -> Selection:
        """A free answer, reconstructed as RRHF does (`answers.reconstruct`); api None when hallucinated."""
        return Selection(
            api=reconstruct(parse_answer(generation.text), self.catalog).api,
            selector="llm-unconstrained",
            tokens_generated=generation.tokens,
            model_decisions=generation.decisions,
            forward_passes=generation.forward_passes,
            text=generation.text,
        )

    def _retrieval(self, items: list[Instruction], top_k: int) -> list[list[Selection]]:
        found, features = self.ranked(items, top_k)
        answers = []
        # One (queries, samples) product per chunk of queries: fast, and bounded in memory.
        # (`sample_similarity` picks the BLAS threads; the settings then only index into it.)
        for start in range(0, len(found), SIMILARITY_CHUNK):
            part = slice(start, start + SIMILARITY_CHUNK)
            similarity = self.retriever.settings_similarity(features[part], *texts(items[part]))
            answers += [
                [self.retrieval_answer(model, score, feature, near) for model, score in row]
                for row, feature, near in zip(found[part], features[part], similarity, strict=True)
            ]
        return answers

    def retrieval_answer(
        self, model: str, score: float, feature: Any = None, similarity: Any = None
    ) -> Selection:
        """The API for a retrieved model: settings of its sft samples nearest to the query, with a
        vote of its architecture's nearest (those alone for a model with none), when `feature` is
        given; else its most common settings, else the defaults.
        `similarity`: the query against every sft sample, when the batch has it already."""
        fields = {"model": model, **self.catalog.settings_for(model).__dict__}
        if feature is not None:
            levels = self.catalog.base_levels(model)  # a LoRA's base: one it can load on, best first
            conditioned = self.retriever.settings(
                feature, self.retriever.position[model], similarity, levels or None
            )
            if conditioned is not None:
                if conditioned["base_checkpoint"] is None:
                    conditioned["base_checkpoint"] = fields["base_checkpoint"]
                fields.update(conditioned)
        api = assemble_api(fields, self.catalog, repair=True)
        return Selection(api=api, score=score, selector="retrieval")


def texts(items: list[Instruction]) -> tuple[list[str], list[str]]:
    """The prompts and the negative prompts ("" where none) of instructions, as the retriever reads them."""
    return [i.prompt for i in items], [i.negative_prompt or "" for i in items]


def load_agent(
    path: str | Path | None,
    catalog: str | Path | Catalog | None = None,
    embedder: Any = None,
    device: str | None = None,
    backend: str = "transformers",
    retriever: str | Path | None = None,
) -> Agent:
    """Load a trained agent folder (`train_sft`'s output) against a catalog.

    `path` is a folder or an fsspec URL (an agent on `s3://` is copied to the local cache first,
    and only again when a file changed). `path=None` gives a retrieval-only agent. `catalog`
    defaults to the data folder the agent was trained on. Raises ValueError when the catalog is
    not the training one (or a superset of it).
    `backend`: "transformers" (CPU or GPU; the tested path) or "vllm" (GPU serving, optional extra).
    `retriever`: a folder from `diffagent train retriever`; for an agent in RUN/sft or RUN/rrhf,
    RUN/retriever is used when it exists; else the untrained retriever.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if path is None:
        if catalog is None:
            raise ValueError("a retrieval-only agent needs a catalog")
        loaded = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
        return Agent(loaded, None, embedder, retriever=retriever)
    import torch
    from transformers import AutoTokenizer

    from diffagent.agent.base_model import agent_base_folder, agent_model
    from diffagent.agent.generate import TransformersBackend
    from diffagent.storage import ArtifactStore

    path = ArtifactStore(str(path)).local_copy()
    retriever = retriever or sibling_retriever(path)
    manifest_file = path / MANIFEST
    if not manifest_file.exists():
        raise ValueError(f"{path} is not an agent folder: no {MANIFEST}")
    manifest = json.loads(manifest_file.read_text())
    if catalog is None:
        catalog = manifest.get("data")
        if catalog is None:
            raise ValueError(f"agent {path} names no catalog; pass one")
    loaded = catalog if isinstance(catalog, Catalog) else load_catalog(catalog)
    check_catalog(path, manifest, loaded)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(path / "tokenizer")
    tokenizer.padding_side = "left"
    if backend == "vllm":
        from diffagent.agent.vllm_backend import VLLMBackend

        full = bool(manifest.get("full"))
        model_path = str(path / "model") if full else agent_base_folder(manifest)
        adapter = None if full else str(path / "adapter")
        vllm = VLLMBackend(model_path, tokenizer, loaded, adapter)
        return Agent(loaded, vllm, embedder, manifest, retriever=retriever, folder=path)
    model = agent_model(path, manifest, dtype).to(device)
    backend_ = TransformersBackend(model, tokenizer, loaded)
    return Agent(loaded, backend_, embedder, manifest, retriever=retriever, folder=path)


def default_selector(agent: Agent) -> str:
    """The selector an answer uses when none is asked for, the same in `select`, `serve` and the
    page: for a trained agent, the one that measured best on rrhf when it was calibrated
    (`calibrate.py`, the manifest's `default_selector`), else llm; a retrieval-only agent answers
    with retrieval."""
    if agent.backend is None:
        return "retrieval"
    recorded = agent.manifest.get("default_selector")
    return recorded if recorded in SELECTORS else "llm"
