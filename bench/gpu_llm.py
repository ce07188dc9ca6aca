"""The LLM part of bench/gpu_check.py: a random-weight agent's catalog-constrained selection
(diffagent.agent with the transformers backend; vLLM when installed) on a synthetic catalog."""

from __future__ import annotations

import statistics
from pathlib import Path

import torch

from bench.gpu_models import PROMPTS, llm, timed


def synthetic_catalog(size: int):
    """`size` Checkpoints and LoRAs over SD 1.5 and SDXL, named like Civitai models."""
    from diffagent.catalog import Catalog
    from schemas.dabench import CatalogEntry

    def entry(i: int) -> CatalogEntry:
        kind, base = ("Checkpoint", "LORA")[i % 2], ("SD 1.5", "SDXL 1.0")[(i // 2) % 2]
        return CatalogEntry(
            model=f"model {i} v{i % 7}",
            model_id=i + 1,
            version_id=10 * (i + 1),
            type=kind,
            base_model=base,
            model_description=f"a {base} {kind} for style {i}",
            description_source="fallback",
            trained_words=[],
            tags=["style"],
            model_name=f"model {i}",
            version_name="v1",
            download_count=1000 - i,
            thumbs_up_count=1,
            rating=5.0,
            rating_count=1,
            file_name=f"model{i}.safetensors",
            sha256="0" * 64,
            download_url="",
            sample_count=1,
        )

    return Catalog.from_entries([entry(i) for i in range(max(size, 4))])


def check_llm(work: Path, plan: dict, device: str, full: bool) -> dict:
    import importlib.util

    from transformers import AutoTokenizer

    from diffagent.agent.generate import TransformersBackend
    from diffagent.agent.selector import Agent
    from diffagent.tiny.llm import write_tiny_llm

    tokenizer = AutoTokenizer.from_pretrained(write_tiny_llm(work / "llm"))
    catalog = synthetic_catalog(plan["catalog"])
    model = llm(tokenizer, full, device)
    parameters = sum(p.numel() for p in model.parameters())
    result = {"parameters": parameters, "catalog_models": len(catalog)}
    result["transformers"] = _selection_speed(
        Agent(catalog, TransformersBackend(model, tokenizer, catalog)), plan, device
    )
    if importlib.util.find_spec("vllm") is None or not device.startswith("cuda"):
        result["vllm"] = "not installed" if device.startswith("cuda") else "needs CUDA"
        return result
    from diffagent.agent.vllm_backend import VLLMBackend

    model.save_pretrained(work / "llm-7b")
    del model
    torch.cuda.empty_cache()
    try:  # vLLM has never run on this project's machines: a failure is reported, not fatal
        backend = VLLMBackend(str(work / "llm-7b"), tokenizer, catalog, gpu_memory_utilization=0.5)
        result["vllm"] = _selection_speed(Agent(catalog, backend), plan, device)
    except Exception as error:  # noqa: BLE001 - recorded in the report with its type
        result["vllm"] = {"error": f"{type(error).__name__}: {error}"}
    return result


def _selection_speed(agent, plan: dict, device: str) -> dict:
    agent.select([PROMPTS[0]])  # warm-up
    latencies = [
        timed(lambda i=i: agent.select([PROMPTS[i % len(PROMPTS)]]), device)
        for i in range(plan["llm_requests"])
    ]
    batch = [PROMPTS[i % len(PROMPTS)] + f" #{i}" for i in range(plan["llm_batch"])]
    answers: list = []
    seconds = timed(lambda: answers.extend(agent.select(batch)), device)
    valid = all(row and row[0].api is not None for row in answers)
    return {
        "p50_latency_s": round(statistics.median(latencies), 4),
        "batch": len(batch),
        "answers_per_s": round(len(batch) / seconds, 3),
        "all_answers_in_catalog": valid,
    }
