"""The prepared GPU check (issue 13): one run, one JSON report, under 10 minutes on one H100/H200.

    python bench/gpu_check.py [--out report.json]     # CUDA: the real shapes
    python bench/gpu_check.py --smoke                 # any machine: tiny shapes, seconds

Every model has random weights built from configs (bench/gpu_models.py; nothing is downloaded):
- renders: SD 1.5-shaped at 512 px and SDXL-shaped at 1024 px, 20 steps, batch 1 and 8, through
  our Renderer (diffagent.render, the base model loaded from a diffusers folder) and through the
  bare diffusers pipeline call on the same folder; `ratio` = ours / bare seconds (1.0: no overhead);
- scorers: images/s of CLIP score (ViT-B-32), ImageReward (ViT-L/16 + BERT-base) and HPS v2
  (ViT-H-14) through diffagent.score;
- llm: a Llama-2-7B-shaped agent's catalog-constrained selection (diffagent.agent, transformers
  backend): p50 latency of one request and answers/s of a batch; vLLM when it is installed;
- rollout: one rollout batch end to end (diffagent.rrhf.rollout.rollout_batch: render k seeds of
  each response, score, unified rewards, part file);
- families: every architecture of the table (z-image, qwen-image, flux2, sd3, chroma, auraflow, ...)
  renders a tiny single-file Checkpoint and a LoRA in its real layouts, in its CUDA dtype, through
  our Renderer (bench/gpu_families.py): non-blank images, the LoRA changes the image.
`--smoke` uses the tiny test models at 64 px, 2 steps, batches 1 and 2 (what tests/render runs).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.gpu_families import check_families
from bench.gpu_llm import check_llm
from bench.gpu_models import PROMPTS, timed, write_pipeline

REPORT_KEYS = ("device", "smoke", "versions", "renders", "scorers", "rollout", "llm", "families", "seconds")


def shapes(smoke: bool) -> dict:
    """What each part runs at: the issue's shapes, or the smoke run's."""
    if smoke:
        return {
            "sides": {"sd1": 256, "sdxl": 256},
            "render_size": 64,
            "steps": 2,
            "batches": (1, 2),
            "score_images": 4,
            "catalog": 12,
            "llm_requests": 2,
            "llm_batch": 2,
            "rollout": (1, 2, 1),
        }
    return {
        "sides": {"sd1": 512, "sdxl": 1024},
        "render_size": None,
        "steps": 20,
        "batches": (1, 8),
        "score_images": 64,
        "catalog": 200,
        "llm_requests": 8,
        "llm_batch": 16,
        "rollout": (2, 3, 2),
    }


def base_api(base_model: str, side: int, steps: int, sampler: str = "Euler a"):
    from schemas.t2i import BASE_MODEL_VERSION_ID, T2IApi

    return T2IApi(
        model=base_model,
        type="Checkpoint",
        base_model=base_model,
        model_id=BASE_MODEL_VERSION_ID,
        version_id=BASE_MODEL_VERSION_ID,
        width=side,
        height=side,
        sampling_method=sampler,
        sampling_steps=steps,
        cfg_scale=7.0,
    )


def _compare(renderer, bare, api, batch: int, device: str) -> tuple[float, float]:
    """(ours, bare) seconds for one batch of `api`, each after a warm-up at that batch size."""
    seeds = list(range(batch))

    def ours():
        return renderer.render(api, PROMPTS[0], "", seeds)

    def plain():
        generators = [torch.Generator("cpu").manual_seed(seed) for seed in seeds]
        width, height, steps = renderer.render_shape(api)  # what ours renders (smoke: capped)
        size = {"width": width, "height": height, "num_inference_steps": steps}
        return bare(
            PROMPTS[0],
            guidance_scale=api.cfg_scale,
            num_images_per_prompt=batch,
            generator=generators,
            **size,
        )

    ours(), plain()  # kernels, allocator
    return timed(ours, device), timed(plain, device)


def check_renders(work: Path, plan: dict, device: str, full: bool) -> tuple[list[dict], object]:
    """Ours vs bare diffusers per architecture and batch; returns the rows and the SD 1.5
    renderer (the rollout reuses it)."""
    from diffagent.profiles import load_renderer
    from diffagent.render import RenderSettings
    from diffagent.render.pipelines import pipeline_class, render_dtype

    rows, kept = [], None
    for architecture, base_model, prefix in (("sd1", "SD 1.5", "sd15"), ("sdxl", "SDXL 1.0", "sdxl")):
        folder = write_pipeline(architecture, work / architecture, full, device)
        settings = RenderSettings(
            render_device=device,
            max_pipelines=1,
            render_size=plan["render_size"],
            **{f"{prefix}_base": str(folder)},
        )
        renderer = load_renderer("default", device=device, settings=settings)
        bare = pipeline_class(base_model).from_pretrained(
            folder, dtype=render_dtype(settings, device, architecture)
        )
        bare = bare.to(device)
        bare.set_progress_bar_config(disable=True)
        side, steps = plan["sides"][architecture], plan["steps"]
        first = base_api(base_model, side, 1)
        load_s = timed(functools.partial(renderer.render, first, PROMPTS[0], "", [0]), device)
        for batch in plan["batches"]:
            ours_s, bare_s = _compare(renderer, bare, base_api(base_model, side, steps), batch, device)
            rows.append(
                {
                    "architecture": architecture,
                    "side": plan["render_size"] or side,
                    "steps": steps,
                    "batch": batch,
                    "first_call_with_load_s": round(load_s, 3),
                    "ours_s": round(ours_s, 4),
                    "bare_s": round(bare_s, 4),
                    "ratio": round(ours_s / bare_s, 4),
                    "ours_images_per_s": round(batch / ours_s, 3),
                }
            )
        del bare
        kept = renderer if architecture == "sd1" else kept
        del renderer
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return rows, kept


def check_scorers(work: Path, plan: dict, device: str, full: bool):
    from diffagent.score.scorers import load_tiny_scorers
    from diffagent.tiny.scorers import write_full_shape_scorers, write_tiny_scorers

    folder = work / "scorers"
    (write_full_shape_scorers if full else write_tiny_scorers)(folder)
    scorers = load_tiny_scorers(folder, device)  # loads any folders in the scorer layout
    rng = np.random.default_rng(0)
    count = plan["score_images"]
    images = [Image.fromarray(rng.integers(0, 255, (512, 512, 3), dtype=np.uint8)) for _ in range(count)]
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(count)]
    result = {}
    for scorer in scorers.scorers:
        scorer.score(prompts[:2], images[:2])  # warm-up
        seconds = timed(lambda scorer=scorer: scorer.score(prompts, images), device)
        result[scorer.name] = {"images": count, "images_per_s": round(count / seconds, 2)}
    return result, scorers


def check_rollout(work: Path, plan: dict, renderer, scorers, device: str) -> dict:
    from diffagent.rrhf.rollout import PromptResponses, rollout_batch

    prompts, responses, k = plan["rollout"]
    samplers = ["Euler a", "DPM++ 2M Karras", "DDIM"][:responses]
    side = plan["sides"]["sd1"]
    items = []
    for p in range(prompts):
        apis = [base_api("SD 1.5", side, plan["steps"], sampler) for sampler in samplers]
        texts = [api.model_dump_json() for api in apis]
        items.append(PromptResponses(f"p{p}", PROMPTS[p % len(PROMPTS)], "", texts, apis))
    out = work / "rollouts" / "part-00000.parquet"
    by_metric = {scorer.name: scorer for scorer in scorers.scorers}
    seconds = timed(lambda: rollout_batch(items, renderer, by_metric, k, out), device)
    import pyarrow.parquet as pq

    rewards = pq.read_table(out).column("reward").to_pylist()
    images = prompts * responses * k
    return {
        "prompts": prompts,
        "responses": responses,
        "k": k,
        "images": images,
        "seconds": round(seconds, 3),
        "images_per_s": round(images / seconds, 3),
        "rows": len(rewards),
        "rewards_finite": all(np.isfinite(rewards)),
    }


def run_check(smoke: bool, work: Path) -> dict:
    import diffusers
    import transformers

    cuda = torch.cuda.is_available()
    if not smoke and not cuda:
        raise SystemExit("the real-shape check needs CUDA; on a CPU run it with --smoke")
    device = "cuda" if cuda and not smoke else "cpu"
    plan, full, started = shapes(smoke), not smoke, time.perf_counter()
    report: dict = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu", "smoke": smoke}
    report["versions"] = {
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "transformers": transformers.__version__,
    }
    report["renders"], renderer = check_renders(work, plan, device, full)
    report["scorers"], scorers = check_scorers(work, plan, device, full)
    report["rollout"] = check_rollout(work, plan, renderer, scorers, device)
    del renderer, scorers
    if device == "cuda":
        torch.cuda.empty_cache()
    report["llm"] = check_llm(work, plan, device, full)
    report["families"] = check_families(work, device, smoke)
    report["seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny shapes on CPU, seconds")
    parser.add_argument("--out", type=Path, help="also write the JSON report here")
    parser.add_argument("--work-dir", type=Path, help="where the random models go (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        report = run_check(args.smoke, Path(tmp))
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench.` imports from a checkout
    main()
