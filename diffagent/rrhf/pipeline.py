"""The sftA-train stages (paper section 3.2): SFT -> candidates -> reward rollouts -> RRHF.

Each stage is a `diffagent.stagecache.Stage`, keyed by the content of the DABench files it reads,
the fingerprint of the upstream stage's outputs and its own settings; so a rerun with another
`k` reuses SFT and candidates and redoes rollouts and RRHF, and an identical rerun is all Cached.
Where the work runs (workers, work pool) and where the data lives are not part of any key.

Layout of the run folder (a local path or an fsspec URL):
  sft/ (DiffAgent-SFT), candidates.parquet, rollouts/ (parts), render-cache/ (PNGs),
  rollouts.parquet, rrhf/ (DiffAgent-RRHF), retriever/ (the trained retriever, which the
  retrieval and hybrid selectors of RUN/sft and RUN/rrhf use), stages/<stage>.json (records),
  stages/results/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from diffagent.agent.sft import SFTParams
from diffagent.retriever.train import RetrieverConfig
from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.rollout_models import RolloutModelsSpec, rollout_spec
from diffagent.rrhf.stages import local_data
from diffagent.rrhf.train import RRHFParams
from diffagent.stagecache import Stage
from diffagent.storage import ArtifactStore, absolute
from diffagent.taskrunners import TaskRunnerSpec

# `--profile tiny`: small enough that the whole run finishes on a laptop CPU in a few minutes
# (prefect.yaml's demo deployment passes the same values).
TINY_SETTINGS: dict[str, Any] = {
    "sft": {"max_steps": 40, "learning_rate": 3e-3, "batch_size": 8},
    "candidates": {"num_samples": 2, "num_beam_groups": 2, "max_new_tokens": 96, "temperature": 1.0},
    "max_prompts": 4,
    "k": 2,
    "batch_size": 2,
    "retriever": {"epochs": 3},
    "rrhf": {
        "max_steps": 12,
        "learning_rate": 2e-3,
        "full": True,
        "max_length": 512,
        "max_prompt_length": 384,
    },
}


def profile_parameters(profile: str) -> dict[str, Any]:
    """The flow parameters a profile sets besides the base model (a copy)."""
    if profile not in ("default", "tiny"):
        raise ValueError(f"unknown profile {profile!r}; expected 'default' or 'tiny'")
    return json.loads(json.dumps(TINY_SETTINGS)) if profile == "tiny" else {}


def profile_settings(profile: str, base_model: str | None) -> dict[str, Any]:
    """The flow parameters a profile sets (a copy), base model included; tiny builds its models."""
    settings = profile_parameters(profile)
    if profile == "default":
        if base_model is None:
            raise ValueError("a base model is required outside the tiny profile")
        return {"base_model": base_model}
    from diffagent.tiny import ensure_tiny_models

    return {**settings, "base_model": base_model or str(ensure_tiny_models() / "llm")}


def data_files(data: str, names: tuple[str, ...]) -> dict[str, str]:
    store = ArtifactStore(data)
    return {f"data/{name}": store.url(name) for name in names}


@dataclass(frozen=True)
class SFTStage(Stage):
    data: str
    base_model: str  # hub id or folder (a folder's content is part of the key)
    params: SFTParams = field(default_factory=SFTParams)
    full: bool = False
    name: ClassVar[str] = "sft"
    outputs: ClassVar[tuple[str, ...]] = ("sft",)
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data")

    def input_files(self) -> dict[str, str]:
        files = data_files(self.data, ("catalog.parquet", "instructions.parquet", "splits/sft.parquet"))
        return {**files, "base_model": self.base_model}


@dataclass(frozen=True)
class CandidatesStage(Stage):
    data: str
    sft_fingerprint: str
    params: CandidateParams = field(default_factory=CandidateParams)
    max_prompts: int | None = None
    min_responses: int = 3
    base_models: dict[str, str] | None = None
    name: ClassVar[str] = "candidates"
    outputs: ClassVar[tuple[str, ...]] = ("candidates.parquet",)
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data")

    def input_files(self) -> dict[str, str]:
        names = ("catalog.parquet", "instructions.parquet", "splits/sft.parquet", "splits/rrhf.parquet")
        return data_files(self.data, names)


@dataclass(frozen=True)
class RolloutStage(Stage):
    data: str
    candidates_fingerprint: str
    models: RolloutModelsSpec
    k: int = 10
    batch_size: int = 4
    base_seed: int = 0
    workers: int = 0
    work_pool: str | None = None
    jobs_per_run: int = 8  # batches one work-pool run (or task-runner submission) carries
    task_runner: TaskRunnerSpec | None = None
    name: ClassVar[str] = "rollouts"
    outputs: ClassVar[tuple[str, ...]] = ("rollouts.parquet",)
    unkeyed: ClassVar[tuple[str, ...]] = (
        "root",
        "data",
        "workers",
        "work_pool",
        "jobs_per_run",
        "task_runner",
    )

    def settings(self) -> dict[str, Any]:
        # Where the catalog and the render cache are read from decides no pixel.
        models = {**self.models.to_json(), "catalog": None, "artifact_root": None}
        return {**super().settings(), "models": models}

    def input_files(self) -> dict[str, str]:
        return data_files(self.data, ("catalog.parquet",))


@dataclass(frozen=True)
class RRHFStage(Stage):
    sft_fingerprint: str
    rollouts_fingerprint: str
    params: RRHFParams = field(default_factory=RRHFParams)
    use_cpu: bool | None = None
    name: ClassVar[str] = "rrhf"
    outputs: ClassVar[tuple[str, ...]] = ("rrhf",)


@dataclass(frozen=True)
class RetrieverStage(Stage):
    data: str
    base_embedder: str | None = None  # hub id or folder; None: the shipped all-MiniLM-L6-v2
    config: RetrieverConfig = field(default_factory=RetrieverConfig)
    name: ClassVar[str] = "retriever"
    outputs: ClassVar[tuple[str, ...]] = ("retriever",)
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data")

    def input_files(self) -> dict[str, str]:
        return data_files(self.data, ("catalog.parquet", "splits/sft.parquet", "splits/rrhf.parquet"))


def retriever_stage(root: str, data: str, settings: dict[str, Any] | None) -> RetrieverStage:
    """The retriever stage from the flow's `retriever` settings (RetrieverConfig fields and
    `base_embedder`)."""
    settings = dict(settings or {})
    base_embedder = settings.pop("base_embedder", None)
    return RetrieverStage(root, data, base_embedder, RetrieverConfig(**settings))


def sft_stage(root: str, data: str, base_model: str, settings: dict[str, Any] | None) -> SFTStage:
    """The SFT stage from the flow's `sft` settings (SFTParams fields and `full`)."""
    settings = dict(settings or {})
    full = bool(settings.pop("full", False))
    return SFTStage(root, data, base_model, SFTParams(**settings), full)


def rollout_models_for(
    profile: str, data: str, root: str, overrides: dict[str, Any] | None, remote: bool
) -> RolloutModelsSpec:
    """The rollout models spec of a run: the render cache under the run folder (a rerun
    re-renders nothing); the catalog as a URL for remote workers, else a local copy of it."""
    catalog = absolute(data) if remote else str(local_data(data))
    return rollout_spec(profile, catalog, ArtifactStore(root).url("render-cache"), overrides)


# -- the stages' work ----------------------------------------------------------------------------
def run_sft(stage: SFTStage) -> dict[str, Any]:
    from diffagent.agent.selector import MANIFEST
    from diffagent.agent.sft import train_sft

    with stage.store.local_folder("sft") as folder:
        train_sft(local_data(stage.data), stage.base_model, folder, stage.full, stage.params)
        manifest = json.loads((folder / MANIFEST).read_text())
        # The agent names the DABench location, not the local copy it may have read.
        manifest["data"] = absolute(stage.data)
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return {"agent": stage.store.url("sft"), "train_loss": manifest["train_loss"]}


def run_retriever(stage: RetrieverStage) -> dict[str, Any]:
    from diffagent.retriever.train import train_retriever

    with stage.store.local_folder("retriever") as folder:
        manifest = train_retriever(local_data(stage.data), folder, stage.base_embedder, stage.config)
    return {
        "retriever": stage.store.url("retriever"),
        "validation": manifest["validation"]["fused"],
        "weights": manifest["weights"],
    }


def run_candidates(stage: CandidatesStage) -> dict[str, Any]:
    from diffagent.rrhf.stages import make_candidates

    with stage.store.local_file("candidates.parquet") as out:
        return make_candidates(
            stage.store.url("sft"),
            local_data(stage.data),
            out,
            stage.params,
            stage.max_prompts,
            stage.min_responses,
            base_models=stage.base_models,
        )


def run_rollouts(stage: RolloutStage, progress: Any = None, run_task: Any = None) -> dict[str, Any]:
    """Plan the batches (parts already written are skipped), dispatch, collect rollouts.parquet.
    `run_task`: the Prefect task a task runner submits (see `dispatch_rollouts`)."""
    from diffagent.rrhf.dispatch import dispatch_rollouts
    from diffagent.rrhf.rollout import collect_parts, plan_batches
    from diffagent.rrhf.stages import read_candidates

    store = stage.store
    items = read_candidates(store.url("candidates.parquet"))
    plan = (items, store.url("rollouts"), stage.batch_size, stage.k, stage.base_seed)
    jobs, finished = plan_batches(*plan)
    if progress is not None:
        progress("rollout: %d batches to run, %d already done", len(jobs), len(finished))
    dispatched = dispatch_rollouts(
        jobs,
        stage.models,
        stage.k,
        stage.base_seed,
        stage.workers,
        stage.work_pool,
        stage.jobs_per_run,
        stage.task_runner,
        run_task,
    )
    left, parts = plan_batches(*plan)
    if left:
        raise RuntimeError(f"{len(left)} rollout batches have no part file after dispatch")
    table = collect_parts(parts, store.url("rollouts.parquet"))
    return {
        "rows": table.num_rows,
        "prompts": len(items),
        "k": stage.k,
        "batches": len(parts),
        "rendered_batches": len(jobs),
        **dispatched,
    }


def run_rrhf(stage: RRHFStage) -> dict[str, Any]:
    from diffagent.rrhf.train import train_rrhf_agent

    store = stage.store
    manifest = train_rrhf_agent(
        store.url("sft"), store.url("rollouts.parquet"), store.url("rrhf"), stage.params, stage.use_cpu
    )
    return {"agent": store.url("rrhf"), "losses": manifest["losses"], "train_loss": manifest["train_loss"]}
