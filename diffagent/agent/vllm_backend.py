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

from diffagent.agent.conversation import ANSWER_KEYS, parse_answer
from schemas.t2i import (
    BASE_MODELS,
    MAX_CFG,
    MAX_SIDE,
    MAX_STEPS,
    MIN_CFG,
    MIN_SIDE,
    MIN_STEPS,
    MODEL_TYPES,
    SAMPLERS,
    SIDE_MULTIPLE,
)


def answer_schema(models: list[str], checkpoints: list[str]) -> dict[str, Any]:
    side = {"type": "integer", "minimum": MIN_SIDE, "maximum": MAX_SIDE, "multipleOf": SIDE_MULTIPLE}
    return {
        "type": "object",
        "properties": {
            "model": {"enum": models},
            "type": {"enum": list(MODEL_TYPES)},
            "base_model": {"enum": list(BASE_MODELS)},
            "base_checkpoint": {"anyOf": [{"enum": checkpoints}, {"type": "null"}]},
            "width": side,
            "height": side,
            "sampling_method": {"enum": list(SAMPLERS)},
            "sampling_steps": {"type": "integer", "minimum": MIN_STEPS, "maximum": MAX_STEPS},
            "cfg_scale": {"type": "number", "minimum": MIN_CFG, "maximum": MAX_CFG},
        },
        "required": list(ANSWER_KEYS),
        "additionalProperties": False,
    }


class VLLMBackend:
    """The transformers backend's interface (`constrained`, `unconstrained`) on a vLLM engine.

    Prompts arrive as token ids (`encode_prompt`), so both backends see the same conversation.
    top_k > 1 samples `4 * top_k` schema-valid answers and keeps the K best distinct models by
    mean token log-probability (vLLM's guided decoding has no beam search over the trie).
    A LoRA agent runs as the base model plus its adapter (`enable_lora`), a full one as is.
    """

    def __init__(
        self, model_path: str, tokenizer: Any, catalog: Any, adapter: str | None = None, **engine_args: Any
    ) -> None:
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as error:  # an optional extra: say how to get it
            raise ImportError(
                "the vLLM backend needs `pip install diffagent[vllm]` on a GPU machine"
            ) from error
        if adapter:
            engine_args.setdefault("enable_lora", True)
        self.llm = LLM(model=model_path, **engine_args)
        self.lora = LoRARequest("diffagent", 1, adapter) if adapter else None
        self.tokenizer, self.catalog = tokenizer, catalog
        self.checkpoints = sorted({m for ms in catalog.checkpoints.values() for m in ms})

    def _run(self, prompts: list[list[int]], params: list[Any]) -> list[Any]:
        inputs = [{"prompt_token_ids": ids} for ids in prompts]
        return self.llm.generate(inputs, params, lora_request=self.lora, use_tqdm=False)

    def constrained(
        self, prompts: list[list[int]], top_k: int = 1, shortlists: list[list[str]] | None = None
    ) -> list[list[Any]]:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        from diffagent.agent.generate import Answer

        params = []
        for row in range(len(prompts)):
            models = shortlists[row] if shortlists else list(self.catalog.selectable)
            guided = StructuredOutputsParams(json=json.dumps(answer_schema(models, self.checkpoints)))
            sampling = {"temperature": 0.0, "n": 1} if top_k == 1 else {"temperature": 0.8, "n": 4 * top_k}
            params.append(SamplingParams(max_tokens=256, logprobs=0, structured_outputs=guided, **sampling))
        results = []
        for output in self._run(prompts, params):
            ranked: dict[str, Any] = {}
            for completion in output.outputs:
                fields = parse_answer(completion.text)
                if not fields:
                    continue
                tokens = len(completion.token_ids)
                score = (completion.cumulative_logprob or 0.0) / max(tokens, 1)
                if fields["model"] not in ranked or score > ranked[fields["model"]].score:
                    ranked[fields["model"]] = Answer(fields, score, tokens, tokens, tokens)
            results.append(sorted(ranked.values(), key=lambda a: -a.score)[:top_k])
        return results

    def unconstrained(
        self, prompts: list[list[int]], max_new_tokens: int = 256, min_new_tokens: int = 0
    ) -> list[tuple[str, int]]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, min_tokens=min_new_tokens)
        return [
            (o.outputs[0].text, len(o.outputs[0].token_ids))
            for o in self._run(prompts, [params] * len(prompts))
        ]
