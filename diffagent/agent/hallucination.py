"""The hallucination rate of free answers (paper Table 1)."""

from __future__ import annotations

from typing import Any

from diffagent.answers import classify_answer, parse_answer
from diffagent.catalog import Catalog
from schemas.t2i import T2IApi


def hallucination_rate(answers: list[Any], catalog: Catalog) -> float:
    """Share of hallucinated answers (paper Table 1; `answers.classify_answer`, the metric RRHF's
    candidate statistics and the evaluation report). An answer may be a Selection, a T2IApi, a
    dict of fields, raw text (parsed as JSON), or None (unparseable)."""
    if not answers:
        raise ValueError("hallucination_rate needs at least one answer")

    from diffagent.agent.selector import Selection  # selector re-exports this function

    def fields_of(answer: Any) -> dict[str, Any] | None:
        if isinstance(answer, Selection):
            return answer.api.model_dump() if answer.api else parse_answer(answer.text)
        if isinstance(answer, T2IApi):
            return answer.model_dump()
        return parse_answer(answer)

    misses = sum(classify_answer(fields_of(a), catalog) is not None for a in answers)
    return misses / len(answers)
