"""The plain functions behind the sftA-train stages after SFT: candidates, rollouts, RRHF.

Each reads and writes files under the run directory, so Prefect tasks stay thin wrappers and each
stage can be rerun alone. Candidate responses are the SFT agent's free answers, reconstructed; the
reference API of the split row (the dataset's own answer, as RRHF includes the human response) and
the default API are added; if a prompt still has fewer than `min_responses`, the SFT agent's
catalog-constrained top-k answers fill it (counted as `filled`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from diffagent.rrhf.candidates import CandidateParams, generate_candidates
from diffagent.rrhf.reconstruct import ReconstructionStats, api_key, reconstruct_candidates
from diffagent.rrhf.rollout import PromptResponses
from schemas.t2i import T2IApi

log = logging.getLogger(__name__)
CANDIDATES_SCHEMA = pa.schema(
    [
        ("prompt_id", pa.string()),
        ("prompt", pa.string()),
        ("negative_prompt", pa.string()),
        ("raw_candidates", pa.list_(pa.string())),
        ("raw_sources", pa.list_(pa.string())),
        ("responses", pa.list_(pa.string())),
        ("apis_json", pa.list_(pa.string())),
    ]
)


def rrhf_rows(data: Path, max_prompts: int | None = None) -> list[dict[str, Any]]:
    """Rows of the DABench rrhf split (first `max_prompts`)."""
    file = Path(data) / "splits" / "rrhf.parquet"
    if not file.exists():
        raise FileNotFoundError(f"no rrhf split at {file}")
    rows = [r for r in pq.read_table(file).to_pylist() if str(r["prompt"]).strip()]
    return rows[:max_prompts] if max_prompts else rows


def make_candidates(
    sft_dir: Path,
    data: Path,
    out: Path,
    params: CandidateParams | None = None,
    max_prompts: int | None = None,
    min_responses: int = 3,
    include_reference: bool = True,
    base_models: dict[str, str] | None = None,
    backend: str = "transformers",
) -> dict[str, Any]:
    """Write `out` (candidates.parquet) and return the counts, hallucination rate included.
    `backend`: how the SFT agent decodes (`load_agent`'s transformers or vllm)."""
    from diffagent.agent import conversation
    from diffagent.agent.generate import encode_prompt
    from diffagent.agent.selector import load_agent

    params = params or CandidateParams()
    agent = load_agent(sft_dir, catalog=data, backend=backend)
    catalog = agent.catalog
    rows = rrhf_rows(data, max_prompts)
    if not rows:
        raise ValueError(f"the rrhf split of {data} has no prompts")
    prompts = [encode_prompt(agent.backend.tokenizer, r) for r in rows]
    raw = generate_candidates(agent.backend, prompts, params)
    stats, filled, records = ReconstructionStats(), 0, []
    for index, (row, candidates) in enumerate(zip(rows, raw, strict=True)):
        texts = [text for _, text in candidates]
        # Stats over the SFT outputs only; the reference (not an SFT output) joins the responses after.
        _, prompt_stats = reconstruct_candidates(texts, catalog, row["base_model"], base_models)
        stats = stats + prompt_stats
        reference = [conversation.format_answer(row)] if include_reference else []
        apis, _ = reconstruct_candidates([*texts, *reference], catalog, row["base_model"], base_models)
        if len(apis) < min_responses:
            apis, added = _fill(agent, row, apis, min_responses)
            filled += added
        records.append(
            {
                "prompt_id": str(row.get("image_id", index)),
                "prompt": row["prompt"],
                "negative_prompt": row.get("negative_prompt") or "",
                "raw_candidates": texts,
                "raw_sources": [source for source, _ in candidates],
                "responses": [conversation.format_answer(api) for api in apis],
                "apis_json": [api.model_dump_json() for api in apis],
            }
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(records, schema=CANDIDATES_SCHEMA), out)
    result = {
        **stats.as_dict(),
        "prompts": len(records),
        "filled": filled,
        "params": asdict(params),
        "responses": sum(len(r["responses"]) for r in records),
    }
    log.info("candidates: %d prompts, SFT hallucination rate %.3f", len(records), stats.hallucination_rate)
    return result


def _fill(
    agent: Any, row: dict[str, Any], apis: list[T2IApi], min_responses: int
) -> tuple[list[T2IApi], int]:
    """Add the SFT agent's constrained top-k answers (new ones only) up to `min_responses`."""
    seen = {api_key(api) for api in apis}
    added = 0
    top_k = min(min_responses + len(apis), len(agent.catalog.selectable))
    for selection in agent.select(
        [{"prompt": row["prompt"], "negative_prompt": row.get("negative_prompt")}], top_k=max(top_k, 1)
    )[0]:
        if len(apis) >= min_responses:
            break
        if selection.api is not None and api_key(selection.api) not in seen:
            seen.add(api_key(selection.api))
            apis.append(selection.api)
            added += 1
    return apis, added


def read_candidates(file: Path) -> list[PromptResponses]:
    items = []
    for row in pq.read_table(file).to_pylist():
        apis = [T2IApi.model_validate_json(text) for text in row["apis_json"]]
        items.append(
            PromptResponses(row["prompt_id"], row["prompt"], row["negative_prompt"], row["responses"], apis)
        )
    return items


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str))
