"""What a reward rollout will cost, counted before anything renders (`diffagent train sfta --plan`
and the sftA-train flow's first artifact).

Counts, for P prompts with n_i responses each, k renders per response, S scorers, batches of B
prompts and runs of J batches:
  responses = sum n_i;  renders = k * responses;  scorer calls = S * renders (each image, each scorer)
  batches = ceil(P / B);  runs = ceil(batches / J)
  scorer loads = S * runs (each run builds its scorers once)
  pipeline loads = sum over runs of the distinct checkpoints the run renders (exact when the
    candidates are known; before that, at most min(responses of the run, checkpoints available))
  GPU hours = (renders * (render_s + score_s) + model loads * load_s) / 3600, given measured costs.
A run here is one work-pool run (or one task-runner submission); `jobs_per_run = 1` is the
per-job dispatch the batched one replaces.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from diffagent.score.unified import METRICS

if TYPE_CHECKING:
    from diffagent.config.sfta import SftaTrainConfig
    from diffagent.rrhf.candidates import CandidateParams


@dataclass(frozen=True)
class ImageCosts:
    """Measured costs on the target GPU (e.g. from bench/gpu_check.py), in seconds."""

    render_s: float  # one rendered image (all its steps)
    score_s: float = 0.0  # one image through all the scorers
    load_s: float = 0.0  # one model load (a pipeline or a scorer)

    def __post_init__(self) -> None:
        if min(self.render_s, self.score_s, self.load_s) < 0:
            raise ValueError(f"image costs must be >= 0, got {self}")


@dataclass(frozen=True)
class RolloutPlan:
    prompts: int
    responses: int
    renders: int
    scorer_calls: int
    batches: int
    runs: int
    scorer_loads: int
    pipeline_loads: int
    exact: bool  # False: responses and pipeline loads are upper bounds (no candidates yet)
    gpu_hours: float | None = None
    # The policy's training cost, measured by the run's RRHF stage (None before it has run).
    policy_parameters: int | None = None
    rrhf_s_per_step: float | None = None
    rrhf_peak_memory_gb: float | None = None

    @property
    def model_loads(self) -> int:
        return self.scorer_loads + self.pipeline_loads

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "model_loads": self.model_loads}


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def pipelines_bound(responses_per_run: Sequence[int], checkpoints: int) -> list[int]:
    """Distinct checkpoints a run can render at most: one per response, at most all of them."""
    return [min(n, checkpoints) for n in responses_per_run]


def runs_of(batches: int, jobs_per_run: int) -> list[range]:
    """Batch indices of each run (consecutive groups of `jobs_per_run`)."""
    if jobs_per_run < 1:
        raise ValueError(f"jobs_per_run must be >= 1, got {jobs_per_run}")
    return [range(start, min(start + jobs_per_run, batches)) for start in range(0, batches, jobs_per_run)]


def count_plan(
    responses_per_prompt: Sequence[int],
    k: int,
    batch_size: int,
    jobs_per_run: int,
    pipelines_per_run: Sequence[int] | None = None,
    checkpoints: int | None = None,
    scorers: int = len(METRICS),
    costs: ImageCosts | None = None,
) -> RolloutPlan:
    """The counts of a rollout. `pipelines_per_run`: the distinct checkpoints of each run when
    known (exact); otherwise bounded by `checkpoints` (the ones available) per run."""
    if k < 1 or batch_size < 1:
        raise ValueError(f"k and batch_size must be >= 1, got k={k}, batch_size={batch_size}")
    prompts, responses = len(responses_per_prompt), sum(responses_per_prompt)
    batches = ceil_div(prompts, batch_size)
    runs = runs_of(batches, jobs_per_run)
    if pipelines_per_run is None:
        per_batch = [sum(responses_per_prompt[b * batch_size : (b + 1) * batch_size]) for b in range(batches)]
        per_run = [sum(per_batch[b] for b in run) for run in runs]
        pipelines_per_run = pipelines_bound(per_run, checkpoints if checkpoints is not None else math.inf)
        exact = False
    else:
        if len(pipelines_per_run) != len(runs):
            raise ValueError(f"{len(pipelines_per_run)} pipeline counts for {len(runs)} runs")
        exact = True
    renders = k * responses
    plan = RolloutPlan(
        prompts=prompts,
        responses=responses,
        renders=renders,
        scorer_calls=scorers * renders,
        batches=batches,
        runs=len(runs),
        scorer_loads=scorers * len(runs),
        pipeline_loads=int(sum(pipelines_per_run)),
        exact=exact,
    )
    if costs is None:
        return plan
    seconds = renders * (costs.render_s + costs.score_s) + plan.model_loads * costs.load_s
    return replace(plan, gpu_hours=seconds / 3600)


def plan_markdown(plan: RolloutPlan, title: str = "Rollout plan") -> str:
    """A markdown table of the plan (the flow's artifact, the CLI's printout)."""
    bound = "" if plan.exact else " (at most)"
    rows = [
        ("prompts", plan.prompts),
        (f"responses{bound}", plan.responses),
        (f"renders{bound}", plan.renders),
        (f"scorer calls{bound}", plan.scorer_calls),
        ("batches (part files)", plan.batches),
        ("runs", plan.runs),
        ("scorer loads", plan.scorer_loads),
        (f"pipeline loads{bound}", plan.pipeline_loads),
        (f"model loads{bound}", plan.model_loads),
        ("GPU hours", "-" if plan.gpu_hours is None else f"{plan.gpu_hours:.2f}"),
        ("policy parameters (measured)", _or_dash(plan.policy_parameters, "{:,}")),
        ("RRHF seconds per step (measured)", _or_dash(plan.rrhf_s_per_step, "{:.2f}")),
        ("RRHF peak memory, GB (measured)", _or_dash(plan.rrhf_peak_memory_gb, "{:.2f}")),
    ]
    lines = [f"### {title}", "", "| count | value |", "|---|---|"]
    return "\n".join(lines + [f"| {name} | {value} |" for name, value in rows])


def _or_dash(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


class PeakMemory:
    """The process's peak resident memory (and CUDA's peak allocation) while the block runs, in GB,
    sampled every `interval_s` by a thread (the RSS high-water mark of the OS is the whole
    process's life, not the block's)."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s, self.rss_gb, self.cuda_gb = interval_s, 0.0, None
        self._stop: Any = None

    def _sample(self) -> None:
        import psutil

        process = psutil.Process()
        while True:
            self.rss_gb = max(self.rss_gb, process.memory_info().rss / 1e9)
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> PeakMemory:
        import threading

        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        import torch

        self._stop.set()
        self._thread.join()
        if torch.cuda.is_available():
            self.cuda_gb = torch.cuda.max_memory_allocated() / 1e9


def policy_cost(manifest: dict[str, Any], peak: PeakMemory) -> dict[str, Any]:
    """What the RRHF stage record keeps of the policy's training cost: parameters, steps, seconds
    per optimizer step (the trainer's runtime, model loading excluded) and peak memory."""
    steps, runtime = manifest.get("steps"), manifest.get("train_runtime_s")
    return {
        "policy_parameters": manifest.get("policy_parameters"),
        "steps": steps,
        "s_per_step": round(runtime / steps, 3) if steps and runtime else None,
        "peak_rss_gb": round(peak.rss_gb, 3),
        "peak_cuda_gb": None if peak.cuda_gb is None else round(peak.cuda_gb, 3),
    }


def measured_cost(run: Any) -> dict[str, Any]:
    """The plan's measured fields from the run folder's RRHF stage record, when RRHF has run."""
    record = run.read_json("stages/rrhf.json") if run.exists("stages/rrhf.json") else None
    cost = ((record or {}).get("counts") or {}).get("policy") or {}
    memory = cost.get("peak_cuda_gb") or cost.get("peak_rss_gb")
    return {
        "policy_parameters": cost.get("policy_parameters"),
        "rrhf_s_per_step": cost.get("s_per_step"),
        "rrhf_peak_memory_gb": memory,
    }


# -- the plan of a run folder ---------------------------------------------------------------------
def checkpoint_key(api: Any) -> tuple[str, int]:
    """The pipeline an API renders on (a LoRA on its base): the renderer's own rule."""
    from diffagent.render.jobs import checkpoint_of

    return (api.base_model, checkpoint_of(api))


def run_plan(config: SftaTrainConfig) -> tuple[RolloutPlan, str]:
    """`plan_for_run` with a run's settings."""
    candidates = config.candidates
    return plan_for_run(
        config.data,
        config.out,
        config.rollout.k,
        config.rollout.batch_size,
        config.jobs_per_run,
        candidates.max_prompts,
        candidates.params(),
        candidates.min_responses,
        ImageCosts(**config.image_costs) if config.image_costs else None,
    )


def plan_for_run(
    data: str,
    out: str,
    k: int,
    batch_size: int,
    jobs_per_run: int,
    max_prompts: int | None = None,
    candidates: CandidateParams | dict[str, Any] | None = None,
    min_responses: int = 3,
    costs: ImageCosts | None = None,
) -> tuple[RolloutPlan, str]:
    """(plan, what it was counted from). Exact from the run folder's candidates.parquet when one
    is there (a rerun); otherwise bounds from the rrhf split and the candidate settings (each
    prompt gets at most num_samples + groups x beams responses plus the reference)."""
    from diffagent.rrhf.candidates import CandidateParams
    from diffagent.rrhf.dispatch import group_jobs
    from diffagent.rrhf.rollout import BatchJob, batches_of
    from diffagent.rrhf.stages import read_candidates, rrhf_rows
    from diffagent.storage import ArtifactStore

    run = ArtifactStore(out)
    if run.exists("candidates.parquet"):
        items = read_candidates(run.url("candidates.parquet"))
        batches = batches_of(items, batch_size)
        jobs = [BatchJob(i, "", [item.to_json() for item in batch]) for i, batch in enumerate(batches)]
        pipelines = [
            len({checkpoint_key(api) for job in group for item in job.items for api in _apis(item)})
            for group in group_jobs(jobs, jobs_per_run)
        ]
        responses = [len(item.responses) for item in items]
        plan = count_plan(responses, k, batch_size, jobs_per_run, pipelines, costs=costs)
        return replace(plan, **measured_cost(run)), run.url("candidates.parquet")
    params = candidates if isinstance(candidates, CandidateParams) else CandidateParams(**(candidates or {}))
    per_prompt = max(min_responses, params.num_samples + params.num_beam_groups * params.beams_per_group + 1)
    prompts = len(rrhf_rows(data, max_prompts))
    catalog = ArtifactStore(data).read_table("catalog.parquet").select(["type", "version_id", "base_model"])
    rows = catalog.to_pylist()
    # Every checkpoint of the catalog, and each architecture's base model (BASE_MODEL_VERSION_ID).
    checkpoints = len({r["version_id"] for r in rows if r["type"] != "LORA"})
    checkpoints += len({r["base_model"] for r in rows})
    plan = count_plan(
        [per_prompt] * prompts, k, batch_size, jobs_per_run, checkpoints=checkpoints, costs=costs
    )
    source = f"{ArtifactStore(data).url('splits/rrhf.parquet')} (no candidates yet: bounds)"
    return replace(plan, **measured_cost(run)), source


def _apis(item: dict[str, Any]) -> list[Any]:
    from schemas.t2i import T2IApi

    return [T2IApi.model_validate(api) for api in item["apis"]]
