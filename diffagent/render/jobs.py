"""Batches of (API, prompt, seed) jobs, ordered so each checkpoint loads once.

RRHF renders n candidate APIs x k seeds per prompt, evaluation renders systems x prompts x seeds:
in arrival order the same checkpoints come back again and again, and with a bounded pipeline
cache every return is a reload. Grouping by checkpoint (then LoRA, then prompt) loads each once;
jobs that differ only by seed become one batched pipeline call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from PIL import Image
from tqdm import tqdm

from diffagent.render.renderer import Renderer
from schemas.t2i import T2IApi


@dataclass(frozen=True)
class RenderJob:
    api: T2IApi
    prompt: str
    negative_prompt: str
    seed: int


def checkpoint_of(api: T2IApi) -> int:
    """The checkpoint version a job's pipeline is built from (a LoRA's base checkpoint)."""
    if api.type == "LORA":
        if api.base_checkpoint_version_id is None:
            raise ValueError(
                f"LoRA {api.model!r} (version {api.version_id}) has no base_checkpoint_version_id"
            )
        return api.base_checkpoint_version_id
    return api.version_id


def _call_key(job: RenderJob) -> tuple[str, str, str]:
    return (job.api.model_dump_json(), job.prompt, job.negative_prompt)


def order_jobs(jobs: Sequence[RenderJob]) -> list[int]:
    """Job indices grouped by checkpoint, then LoRA, then (API, prompt); groups keep first-seen order."""
    first_seen: dict[object, int] = {}

    def rank(value: object) -> int:
        return first_seen.setdefault(value, len(first_seen))

    ranks = []
    for index, job in enumerate(jobs):
        checkpoint = rank(("checkpoint", job.api.base_model, checkpoint_of(job.api)))
        lora = rank(("lora", job.api.version_id if job.api.type == "LORA" else None))
        ranks.append((checkpoint, lora, rank(_call_key(job)), index))
    return [entry[-1] for entry in sorted(ranks)]


@dataclass
class BatchReport:
    images: list[Image.Image]  # aligned with the input jobs
    model_loads: int
    lora_loads: int
    rendered: int
    cached: int
    seconds: float
    order: list[int] = field(default_factory=list)

    @property
    def jobs_per_second(self) -> float:
        return len(self.images) / self.seconds if self.seconds > 0 else float("inf")


def render_jobs(
    renderer: Renderer, jobs: Sequence[RenderJob], grouped: bool = True, progress: bool = True
) -> BatchReport:
    """Render every job; `grouped=False` keeps arrival order (the naive baseline the benchmark compares)."""
    order = order_jobs(jobs) if grouped else list(range(len(jobs)))
    loads, lora_loads = renderer.pipelines.loads, renderer.pipelines.lora_loads
    rendered, cached = renderer.stats.rendered, renderer.stats.cached
    started = time.perf_counter()
    images: list[Image.Image | None] = [None] * len(jobs)
    # Consecutive jobs with the same API and prompt become one call with several seeds.
    runs: list[list[int]] = []
    for index in order:
        if runs and _call_key(jobs[runs[-1][0]]) == _call_key(jobs[index]):
            runs[-1].append(index)
        else:
            runs.append([index])
    for run in tqdm(runs, desc="render", unit="call", disable=not progress):
        first = jobs[run[0]]
        out = renderer.render(first.api, first.prompt, first.negative_prompt, [jobs[i].seed for i in run])
        for index, image in zip(run, out, strict=True):
            images[index] = image
    return BatchReport(
        images=[image for image in images if image is not None],
        model_loads=renderer.pipelines.loads - loads,
        lora_loads=renderer.pipelines.lora_loads - lora_loads,
        rendered=renderer.stats.rendered - rendered,
        cached=renderer.stats.cached - cached,
        seconds=time.perf_counter() - started,
        order=order,
    )
