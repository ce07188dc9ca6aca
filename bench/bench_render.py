"""Render scheduling benchmark on CPU tiny pipelines: checkpoint-grouped vs arrival order.

An RRHF-like batch: P prompts x N candidate APIs (checkpoints and LoRAs on them) x K seeds, in
the order rollouts produce them (prompt by prompt). One pipeline slot, as on a GPU that holds one
SDXL pipeline. Prints jobs/s and model loads for both orders and their ratio.

    .venv/bin/python bench/bench_render.py [--prompts 3] [--seeds 2] [--steps 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from diffagent.profiles import tiny_settings
from diffagent.render import Renderer, RenderJob, RenderSettings, render_jobs
from diffagent.store.tiny_store import TinyModelStore
from diffagent.tiny.diffusion import write_tiny_pipelines
from schemas.t2i import T2IApi


def candidate_apis(steps: int) -> list[T2IApi]:
    def api(version: int, kind: str = "Checkpoint", base: int | None = None) -> T2IApi:
        return T2IApi(
            model=f"m{version}", type=kind, base_model="SD 1.5", base_checkpoint=f"b{base}" if base else None,
            width=256, height=256, sampling_method="Euler a", sampling_steps=steps, cfg_scale=7.0,
            model_id=version, version_id=version, base_checkpoint_version_id=base,
        )  # fmt: skip

    return [api(1), api(2), api(3), api(11, "LORA", 1), api(12, "LORA", 2)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--prompts", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_tiny_pipelines(root / "tiny")
        store = TinyModelStore(root / "tiny", root / "store")
        apis = candidate_apis(args.steps)
        jobs = [
            RenderJob(api, f"prompt {p}", "", seed)
            for p in range(args.prompts)
            for api in apis
            for seed in range(args.seeds)
        ]
        for api in apis:  # write the tiny weights up front so neither timing includes them
            store.resolve(api.version_id, api.type, api.base_model)
            if api.base_checkpoint_version_id:
                store.resolve(api.base_checkpoint_version_id, "Checkpoint", api.base_model)
        results = {}
        for name, grouped in (("naive", False), ("grouped", True)):
            renderer = Renderer(store, tiny_settings(root / "tiny", RenderSettings(max_pipelines=1)))
            results[name] = render_jobs(renderer, jobs, grouped=grouped, progress=False)
    print(f"{len(jobs)} jobs ({args.prompts} prompts x {len(apis)} APIs x {args.seeds} seeds), 256x256, "
          f"{args.steps} steps, 1 pipeline slot, {args.threads} thread(s)")  # fmt: skip
    print(f"{'order':<8} {'jobs/s':>8} {'model loads':>12} {'LoRA loads':>11} {'seconds':>8}")
    for name, report in results.items():
        print(
            f"{name:<8} {report.jobs_per_second:>8.2f} {report.model_loads:>12} "
            f"{report.lora_loads:>11} {report.seconds:>8.1f}"
        )
    naive, grouped = results["naive"], results["grouped"]
    print(f"grouped/naive: {grouped.jobs_per_second / naive.jobs_per_second:.2f}x jobs/s, "
          f"{naive.model_loads / max(grouped.model_loads, 1):.1f}x fewer model loads")  # fmt: skip


if __name__ == "__main__":
    main()
