"""vLLM backend with structured output, for GPU serving (optional extra `diffagent[vllm]`).

UNTESTED HERE: no GPU and no vllm on the development machines; the transformers backend is the
tested path (tests cover the schema and the interface). vLLM's JSON-schema guided decoding gets
the same grammar as the transformers trie (`grammar.AnswerGrammar.json_schema`: the catalog's
selectable models or a row's shortlist, each model's type and base model, a LoRA's bases of its
architecture, the parameter value lists with CFG in tenths). Each answer is still rebuilt with
`answers.reconstruct` (catalog facts, the description) before it is returned, as from the trie.

Implements `backend.Backend`. vLLM schedules forward passes itself, so decisions and forward
passes are reported as None. It has no group-diverse beam search: `diverse_beams` runs plain beam
search of the same width (the diversity penalty is not applied, and a warning says so).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from diffagent.agent.backend import Answer, DiverseBeams, Generation, Sampling
from diffagent.agent.grammar import AnswerGrammar
from diffagent.answers import ANSWER_KEYS, parse_answer, reconstruct

log = logging.getLogger(__name__)
# The vllm API used here: StructuredOutputsParams (0.11 renamed guided decoding), LLM.generate
# with token-id prompts and a LoRARequest, LLM.beam_search with BeamSearchParams.
VLLM_REQUIREMENT = "vllm>=0.11,<0.34"


class VLLMBackend:
    """The `Backend` interface on a vLLM engine. top_k > 1 samples `4 * top_k` schema-valid answers
    and keeps the K best distinct models by mean token log-probability (guided decoding has no
    beam search over the trie). A LoRA agent runs as the base model plus its adapter
    (`enable_lora`), a full one as is; the agent's own tokenizer folder is the engine's tokenizer.
    """

    def __init__(
        self, model_path: str, tokenizer: Any, catalog: Any, adapter: str | None = None, **engine_args: Any
    ) -> None:
        try:
            from vllm import LLM
            from vllm.lora.request import LoRARequest
        except ImportError as error:  # an optional extra: say how to get it
            raise ImportError(
                f"the vLLM backend needs `pip install diffagent[vllm]` ({VLLM_REQUIREMENT}) on a GPU machine"
            ) from error
        if adapter:
            engine_args.setdefault("enable_lora", True)
        # The agent folder keeps its tokenizer apart from the weights (tokenizer/ vs model/):
        # point the engine at the tokenizer the prompts were encoded with.
        folder = getattr(tokenizer, "name_or_path", None)
        if folder:
            engine_args.setdefault("tokenizer", str(folder))
        self.llm = LLM(model=model_path, **engine_args)
        self.lora = LoRARequest("diffagent", 1, adapter) if adapter else None
        self.tokenizer, self.catalog = tokenizer, catalog

    def for_catalog(self, catalog: Any) -> VLLMBackend:
        """The same engine (no second load) choosing from `catalog`."""
        other = VLLMBackend.__new__(VLLMBackend)
        other.llm, other.lora, other.tokenizer, other.catalog = self.llm, self.lora, self.tokenizer, catalog
        return other

    def _run(self, prompts: list[list[int]], params: list[Any]) -> list[Any]:
        inputs = [{"prompt_token_ids": ids} for ids in prompts]
        return self.llm.generate(inputs, params, lora_request=self.lora, use_tqdm=False)

    def schema(self, shortlist: list[str] | None = None) -> str:
        """The guided-decoding JSON schema for the catalog, or for one row's shortlist of it."""
        return json.dumps(AnswerGrammar(self.catalog, shortlist).json_schema())

    def constrained(
        self, prompts: list[list[int]], top_k: int = 1, shortlists: list[list[str]] | None = None
    ) -> list[list[Answer]]:
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        params = []
        for row in range(len(prompts)):
            guided = StructuredOutputsParams(json=self.schema(shortlists[row] if shortlists else None))
            sampling = {"temperature": 0.0, "n": 1} if top_k == 1 else {"temperature": 0.8, "n": 4 * top_k}
            params.append(SamplingParams(max_tokens=256, logprobs=0, structured_outputs=guided, **sampling))
        results = []
        for output in self._run(prompts, params):
            ranked: dict[str, Answer] = {}
            for completion in output.outputs:
                api = reconstruct(parse_answer(completion.text), self.catalog).api
                if api is None:  # the grammar names catalog models only; an unfinished text has none
                    continue
                tokens = len(completion.token_ids)
                score = (completion.cumulative_logprob or 0.0) / max(tokens, 1)
                if api.model not in ranked or score > ranked[api.model].score:
                    fields = {key: getattr(api, key) for key in ANSWER_KEYS}
                    ranked[api.model] = Answer(fields, score, tokens, None, None)
            results.append(sorted(ranked.values(), key=lambda a: -a.score)[:top_k])
        return results

    def unconstrained(
        self, prompts: list[list[int]], max_new_tokens: int = 256, min_new_tokens: int = 0
    ) -> list[Generation]:
        from vllm import SamplingParams

        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, min_tokens=min_new_tokens)
        outputs = self._run(prompts, [params] * len(prompts))
        return [Generation(o.outputs[0].text, len(o.outputs[0].token_ids), None, None) for o in outputs]

    def sample(self, prompts: list[list[int]], spec: Sampling) -> list[list[str]]:
        from vllm import SamplingParams

        params = SamplingParams(
            n=spec.num_samples,
            temperature=spec.temperature,
            top_p=spec.top_p,
            max_tokens=spec.max_new_tokens,
            seed=spec.seed,
        )
        return [[c.text for c in o.outputs] for o in self._run(prompts, [params] * len(prompts))]

    def diverse_beams(self, prompts: list[list[int]], spec: DiverseBeams) -> list[list[str]]:
        from vllm.sampling_params import BeamSearchParams

        width = spec.num_beam_groups * spec.beams_per_group
        if spec.diversity_penalty and spec.num_beam_groups > 1:
            log.warning(
                "vLLM has no group-diverse beam search: running plain beam search of width %d "
                "(diversity_penalty %.2f not applied)",
                width,
                spec.diversity_penalty,
            )
        inputs = [{"prompt_token_ids": ids} for ids in prompts]
        outputs = self.llm.beam_search(
            inputs, BeamSearchParams(beam_width=width, max_tokens=spec.max_new_tokens), lora_request=self.lora
        )
        return [
            [
                self.tokenizer.decode(beam.tokens[len(ids) :], skip_special_tokens=True)
                for beam in output.sequences[:width]
            ]
            for ids, output in zip(prompts, outputs, strict=True)
        ]
