"""The sftA-train stages (paper section 3.2): SFT -> candidates -> reward rollouts -> RRHF.

Each stage is a `diffagent.stagecache.Stage`, keyed by the content of the DABench files it reads,
the fingerprint of the upstream stage's outputs and its own settings; so a rerun with another
`k` reuses SFT and candidates and redoes rollouts and RRHF, and an identical rerun is all Cached.
Where the work runs (workers, work pool) and where the data lives are not part of any key: with
a work pool, the stages that need a GPU run as `sfta-stage` runs there (`run_stage_on`, their
fields sent as JSON by `stage_to_json`). What each stage does is `diffagent.rrhf.stage_work`.

Layout of the run folder (a local path or an fsspec URL):
  sft/ (DiffAgent-SFT), candidates.parquet, rollouts/ (parts), render-cache/ (PNGs),
  rollouts.parquet, rrhf/ (DiffAgent-RRHF), retriever/ (the trained retriever, which the
  retrieval and hybrid selectors of RUN/sft and RUN/rrhf use), stages/<stage>.json (records),
  stages/results/.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from diffagent.agent.sft import SFTParams
from diffagent.config.sfta import RetrieverSettings, SFTSettings
from diffagent.retriever.config import RetrieverConfig
from diffagent.rrhf.candidates import CandidateParams
from diffagent.rrhf.rollout_models import RolloutModelsSpec, rollout_spec
from diffagent.rrhf.stages import local_data
from diffagent.rrhf.train import RRHFParams
from diffagent.stagecache import Stage, cached_record, run_stage
from diffagent.storage import ArtifactStore, absolute
from diffagent.taskrunners import TaskRunnerSpec


def resolved_base_model(base_model: str | None, weights: str) -> str:
    """The base LLM a run starts from: the one given, else (tiny weights only) the tiny LLM."""
    if base_model is not None:
        return base_model
    if weights != "tiny":
        raise ValueError("a base model is required outside the tiny profile")
    from diffagent.tiny import ensure_tiny_models

    return str(ensure_tiny_models() / "llm")


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
    code: ClassVar[tuple[str, ...]] = ("diffagent.agent.sft", "diffagent.agent.conversation")

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
    # Decoding (every agent module but SFT training), reconstruction and the answer rules.
    code: ClassVar[tuple[str, ...]] = (
        "diffagent.rrhf.candidates",
        "diffagent.rrhf.reconstruct",
        "diffagent.rrhf.stages",
        "diffagent.answers",
        "diffagent.catalog",
        *(
            f"diffagent.agent.{module}"
            for module in (
                "backend",
                "constrained",
                "conversation",
                "diverse_beam",
                "fastforward",
                "generate",
                "grammar",
                "selector",
                "vllm_backend",
            )
        ),
    )

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
    # Rendering and scoring; how batches are dispatched (rrhf.dispatch, rrhf.plan) decides no value.
    code: ClassVar[tuple[str, ...]] = (
        "diffagent.rrhf.rollout",
        "diffagent.rrhf.rollout_models",
        "diffagent.render",
        "diffagent.score",
        "diffagent.store",
    )
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
    # The trainer, its loss and the examples it builds (tokenised as SFT, CE targets by reconstruct).
    code: ClassVar[tuple[str, ...]] = (
        "diffagent.rrhf.train",
        "diffagent.rrhf.rrhf_trainer",
        "diffagent.rrhf.rrhf_config",
        "diffagent.rrhf.loss",
        "diffagent.rrhf.reconstruct",
        "diffagent.agent.conversation",
    )


@dataclass(frozen=True)
class RetrieverStage(Stage):
    data: str
    base_embedder: str | None = None  # hub id or folder; None: the shipped all-MiniLM-L6-v2
    config: RetrieverConfig = field(default_factory=RetrieverConfig)
    name: ClassVar[str] = "retriever"
    outputs: ClassVar[tuple[str, ...]] = ("retriever",)
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data")
    code: ClassVar[tuple[str, ...]] = ("diffagent.retriever",)

    def input_files(self) -> dict[str, str]:
        return data_files(self.data, ("catalog.parquet", "splits/sft.parquet", "splits/rrhf.parquet"))


def retriever_stage(root: str, data: str, settings: RetrieverSettings) -> RetrieverStage:
    """The retriever stage from the config's `retriever` part."""
    return RetrieverStage(root, data, settings.base_embedder, settings.config())


def sft_stage(root: str, data: str, base_model: str, settings: SFTSettings) -> SFTStage:
    """The SFT stage from the config's `sft` part."""
    return SFTStage(root, data, base_model, settings.params(), settings.full)


def rollout_models_for(
    profile: str, data: str, root: str, overrides: dict[str, Any] | None, remote: bool
) -> RolloutModelsSpec:
    """The rollout models spec of a run: the render cache under the run folder (a rerun
    re-renders nothing); the catalog as a URL for remote workers, else a local copy of it."""
    catalog = absolute(data) if remote else str(local_data(data))
    return rollout_spec(profile, catalog, ArtifactStore(root).url("render-cache"), overrides)


# -- where a stage runs ----------------------------------------------------------------------------
STAGE_DEPLOYMENT = "sfta-stage/sfta-stage-{pool}"
# The stages that train or run the LLM (or the retriever's embedder): with a work pool, each runs
# as one `sfta-stage` run there, so the parent (on the `cpu` pool) holds no GPU work of its own.
POOL_STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (RetrieverStage, SFTStage, CandidatesStage, RRHFStage)
}


def stage_to_json(stage: Stage) -> dict[str, Any]:
    """A pool stage's fields as JSON-able values (deployment parameters); `stage_from_json` inverts it."""
    if POOL_STAGES.get(stage.name) is not type(stage):
        raise ValueError(
            f"stage {stage.name!r} does not run as an sfta-stage run; expected {sorted(POOL_STAGES)}"
        )
    return dataclasses.asdict(stage)


def stage_from_json(name: str, fields: dict[str, Any]) -> Stage:
    """The stage named `name` from `stage_to_json`'s fields (values kept as given, so the key is
    the one the sender computed)."""
    if name not in POOL_STAGES:
        raise ValueError(f"unknown stage {name!r}; expected one of {sorted(POOL_STAGES)}")
    return _from_json(POOL_STAGES[name], fields)


def _from_json(kind: Any, value: Any) -> Any:
    """`value` as `kind`: a dataclass (or an optional one) rebuilt field by field, else as is."""
    target = next((t for t in (kind, *typing.get_args(kind)) if dataclasses.is_dataclass(t)), None)
    if target is None or value is None:
        return value
    hints = typing.get_type_hints(target)
    unknown = sorted(set(value) - {f.name for f in dataclasses.fields(target)})
    if unknown:
        raise ValueError(f"unknown {target.__name__} fields {unknown}")
    return target(**{name: _from_json(hints[name], item) for name, item in value.items()})


def run_stage_on(task: Any, stage: Stage, refresh: bool, work_pool: str | None) -> dict[str, Any]:
    """The stage's record: `task` here (`stagecache.run_stage`), or with a work pool one run of
    the `sfta-stage` deployment on it, waited for; outputs already in the stage cache start no
    run. Either way the record is the one the stage wrote, `cached` saying whether it ran now."""
    if not work_pool:
        return run_stage(task, stage, refresh)
    from diffagent.workpool import run_deployment_and_wait

    record = None if refresh else cached_record(stage)
    if record is not None:
        return {**record, "cached": True}
    parameters = {"stage": stage.name, "fields": stage_to_json(stage), "refresh_cache": refresh}
    [finished] = run_deployment_and_wait(STAGE_DEPLOYMENT.format(pool=work_pool), [parameters])
    record = cached_record(stage)
    if record is None:
        raise RuntimeError(
            f"{finished.name} ran stage {stage.name!r} but left no record of key {stage.key()}"
        )
    return {**record, "cached": False}
