"""vLLM backend with structured output, for GPU serving (optional extra `diffagent[vllm]`).

UNTESTED HERE: no GPU and no vllm on the development machines; the transformers backend is the
tested path. vLLM's JSON-schema guided decoding enforces the same skeleton: `model` is an enum of
the catalog's selectable identifiers (or a row's shortlist), the sampler an enum, numbers in range.
Unlike the trie it cannot tie `base_checkpoint` to the LoRA's architecture inside the grammar, so
`assemble_api(..., repair=True)` replaces a mismatched base with the model's usual one.
"""

from __future__ import annotations

import json
from typing import Any

from diffagent.agent.conversation import parse_answer
from schemas.t2i import MAX_CFG, MAX_SIDE, MAX_STEPS, MIN_CFG, MIN_SIDE, MIN_STEPS, SAMPLERS, SIDE_MULTIPLE


def answer_schema(models: list[str], checkpoints: list[str]) -> dict[str, Any]:
    side = {"type": "integer", "minimum": MIN_SIDE, "maximum": MAX_SIDE, "multipleOf": SIDE_MULTIPLE}
    return {
        "type": "object",
        "properties": {
            "model": {"enum": models},
            "type": {"enum": ["Checkpoint", "LORA"]},
            "base_model": {"enum": ["SD 1.5", "SDXL 1.0"]},
            "base_checkpoint": {"anyOf": [{"enum": checkpoints}, {"type": "null"}]},
            "width": side,
            "height": side,
            "sampling_method": {"enum": list(SAMPLERS)},
            "sampling_steps": {"type": "integer", "minimum": MIN_STEPS, "maximum": MAX_STEPS},
            "cfg_scale": {"type": "number", "minimum": MIN_CFG, "maximum": MAX_CFG},
        },
        "required": [
            "model",
            "type",
            "base_model",
            "base_checkpoint",
            "width",
            "height",
            "sampling_method",
            "sampling_steps",
            "cfg_scale",
        ],
        "additionalProperties": False,
    }


class VLLMBackend:
    """Greedy structured generation with vLLM; `generate(prompts, shortlists)` -> list of field dicts."""

    def __init__(self, model_path: str, tokenizer: Any, catalog: Any, **engine_args: Any) -> None:
        try:
            from vllm import LLM
        except ImportError as error:  # an optional extra: say how to get it
            raise ImportError(
                "the vLLM backend needs `pip install diffagent[vllm]` on a GPU machine"
            ) from error
        self.llm, self.tokenizer, self.catalog = LLM(model=model_path, **engine_args), tokenizer, catalog

    def generate(
        self, prompt_texts: list[str], shortlists: list[list[str]] | None = None
    ) -> list[dict | None]:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        checkpoints = sorted({m for ms in self.catalog.checkpoints.values() for m in ms})
        params = []
        for row in range(len(prompt_texts)):
            models = shortlists[row] if shortlists else list(self.catalog.selectable)
            schema = json.dumps(answer_schema(models, checkpoints))
            params.append(
                SamplingParams(
                    temperature=0.0, max_tokens=256, structured_outputs=StructuredOutputsParams(json=schema)
                )
            )
        outputs = self.llm.generate(prompt_texts, params)
        return [parse_answer(o.outputs[0].text) for o in outputs]
