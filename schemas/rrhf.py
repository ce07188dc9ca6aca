"""sftA-train rows: the candidates of each alignment prompt and their reward rollouts.

`candidates.parquet` and `rollouts.parquet` (and its parts) are written with the Arrow schemas
derived here (`schemas.arrow`), so the trainer and anyone reading the files share one definition.
"""

from __future__ import annotations

from pydantic import BaseModel

from schemas.arrow import arrow_schema


class CandidateRow(BaseModel):
    """One rrhf-split prompt: the SFT agent's raw answers and the reconstructed responses."""

    prompt_id: str
    prompt: str
    negative_prompt: str
    raw_candidates: list[str]  # the SFT agent's free answers, as generated
    raw_sources: list[str]  # "sample" or "beam", one per raw candidate
    responses: list[str]  # the answer text the policy is trained on, one per API
    apis_json: list[str]  # T2IApi JSON, one per response


class RolloutRow(BaseModel):
    """One response of a prompt, rendered k times and scored (paper Eq. 5)."""

    prompt_id: str
    prompt: str
    negative_prompt: str
    response_index: int
    response_text: str
    api_json: str
    seeds: list[int]
    image_scores: list[float]  # unified score of each of the k images
    raw_scores_json: str  # {metric: [k raw values]}
    reward: float  # s_i


CANDIDATES_SCHEMA = arrow_schema(CandidateRow)
ROLLOUT_SCHEMA = arrow_schema(RolloutRow)
