"""The agent's answer, defined once: parsing, validity, repair, assembly, hallucination.

parse_answer(text) -> dict | None             the first JSON object in generated text
invalid_parameters(fields) -> set[str]        parameter keys that break `schemas.t2i`
answer_json_schema(models, checkpoints)       the answer as a JSON schema (vLLM), from pydantic
same_architecture(a, b)                       the one base-model comparison
repair_parameters(fields, base_model, fallback) / repair_base(catalog, model, named)
classify_answer(fields, catalog, architecture=None) -> HallucinationReason | None
reconstruct(fields, catalog, architecture=None) -> Reconstruction (api, reason, repairs)
assemble_api(fields, catalog, repair=False) -> T2IApi
default_api(architecture, catalog, base_models=None) -> T2IApi
"""

from diffagent.answers.assemble import (
    DEFAULT_BASE_MODELS,
    Reconstruction,
    api_from_entry,
    assemble_api,
    default_api,
    reconstruct,
)
from diffagent.answers.hallucination import HallucinationReason, classify_answer, hallucination_rate
from diffagent.answers.parse import parse_answer
from diffagent.answers.repair import (
    SETTING_KEYS,
    default_parameters,
    default_settings,
    repair_base,
    repair_parameters,
)
from diffagent.answers.validity import (
    ANSWER_KEYS,
    PARAMETER_KEYS,
    answer_json_schema,
    invalid_parameters,
    same_architecture,
    valid_parameters,
)

__all__ = [
    "ANSWER_KEYS",
    "DEFAULT_BASE_MODELS",
    "PARAMETER_KEYS",
    "SETTING_KEYS",
    "HallucinationReason",
    "Reconstruction",
    "answer_json_schema",
    "api_from_entry",
    "assemble_api",
    "classify_answer",
    "default_api",
    "default_parameters",
    "default_settings",
    "hallucination_rate",
    "invalid_parameters",
    "parse_answer",
    "reconstruct",
    "repair_base",
    "repair_parameters",
    "same_architecture",
    "valid_parameters",
]
