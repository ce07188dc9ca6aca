"""The DiffAgent agent: prompt in, catalog T2I API out.

Public API (for RRHF, evaluation and serving):

    load_catalog(path_or_url) -> Catalog
        DABench folder or catalog.parquet, local or any fsspec URL; validates columns/types
        (ValueError naming each mismatch). `Catalog` maps model -> CatalogEntry; `.fingerprint`,
        `.by_model` (rows), `.selectable`, `.base_checkpoints_for(model)`, `.settings_for(model)`.
    load_agent(path, catalog=None) -> Agent
        An agent folder written by `train_sft` (manifest.json, tokenizer/, adapter/ or model/);
        `path=None` gives a retrieval-only agent. ValueError naming both fingerprints when the
        catalog is neither the training catalog nor a superset of it.
    Agent.select(instructions, top_k=1, constrained=True, selector="llm") -> list[list[Selection]]
        Per instruction (str, dict with prompt/negative_prompt, or schemas.t2i.Instruction), up to
        top_k ranked `Selection(api: T2IApi | None, score, selector, tokens_generated,
        model_decisions, forward_passes, text)` (decisions and passes None where the backend
        cannot tell: vLLM). Backends implement `backend.Backend` (transformers, vLLM).
        selector: "llm" (constrained over the catalog), "retrieval" (no LLM), "hybrid" (LLM over
        the retrieval shortlist). constrained=False: plain generation, parsed (paper's path).
        Constrained greedy decoding fast-forwards forced tokens (`fastforward.py`): a forced run
        costs no model decision and one forward pass; `agent.backend.fast_forward = False` decodes
        token by token with the same answers.
    retriever.embedder.Embedder(name_or_path=None, precision=None | "fp32" | "bf16" | "auto",
        query_threads=1, cache_size=4096): `.query(texts)` (LRU-cached, for prompts), `.embed(texts)`
        (bulk); retriever.embedder.RetrievalIndex.shortlist(prompts, n) -> [[(model, cosine)]], exact.
    build_messages(instruction) -> list[dict]      system + user chat messages
    format_answer(api_or_row) -> str               the assistant's JSON answer (no description)
    parse_answer(text) -> dict | None              first JSON object in generated text
    assemble_api(fields, catalog, repair=False) -> T2IApi  (from `diffagent.answers`)
        catalog facts and description copied in; `repair` fixes bad parameters and a LoRA's base
        as RRHF's response reconstruction does (`diffagent.answers.repair`).
    hallucination_rate(answers, catalog) -> float  share `answers.classify_answer` rejects (Table 1)
    train_sft(data, base_model, out, full=False, params=SFTParams()) -> Path
"""

from diffagent.agent.conversation import SYSTEM_PROMPT, answer_segments, build_messages, format_answer
from diffagent.agent.selector import Agent, Selection, hallucination_rate, load_agent
from diffagent.answers import ANSWER_KEYS, assemble_api, parse_answer
from diffagent.catalog import Catalog, catalog_fingerprint, load_catalog

__all__ = [
    "ANSWER_KEYS",
    "SYSTEM_PROMPT",
    "Agent",
    "Catalog",
    "Selection",
    "answer_segments",
    "assemble_api",
    "build_messages",
    "catalog_fingerprint",
    "format_answer",
    "hallucination_rate",
    "load_agent",
    "load_catalog",
    "parse_answer",
]


def train_sft(*args, **kwargs):  # imported lazily: trl and datasets are slow to import
    from diffagent.agent.sft import train_sft as _train_sft

    return _train_sft(*args, **kwargs)
