"""The evaluate flow's cached stages: selection (every selector answers every prompt) and
rendering (every system's images, scored), keyed like sftA-train's (`diffagent.stagecache`).

A failure while rendering reruns only rendering: the selection stage's answers are on disk
(`stages/answers.parquet`) under a key of the prompts, the agents' folders and the settings.
Layout under the evaluation's `out`: stages/answers.parquet, stages/selectors.json,
stages/scores.parquet, stages/renderer.json, stages/<stage>.json (records), render-cache/, images/.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa

from diffagent.stagecache import Stage, fingerprint
from schemas.evaluation import ANSWER_SCHEMA, SCORE_SCHEMA, AnswerRow, EvalPrompt, ScoreRow

AGENT_FOLDERS = ("sft", "rrhf", "retriever")


def prompts_fingerprint(prompts: list[EvalPrompt]) -> str:
    return fingerprint([p.model_dump(mode="json") for p in prompts])


@dataclass(frozen=True)
class SelectionStage(Stage):
    data: str
    agents: str
    prompts_fingerprint: str
    architectures: tuple[str, ...]
    batch_size: int = 1
    name: ClassVar[str] = "selection"
    # What decides the answers: the selectors (agents, retriever, answers) and how they are run.
    code: ClassVar[tuple[str, ...]] = (
        "diffagent.agent",
        "diffagent.answers",
        "diffagent.retriever",
        "diffagent.catalog",
        "diffagent.evaluate.agents",
        "diffagent.evaluate.run",
        "diffagent.evaluate.stages",
    )
    outputs: ClassVar[tuple[str, ...]] = ("stages/answers.parquet", "stages/selectors.json")
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data", "agents")

    def input_files(self) -> dict[str, str]:
        from diffagent.storage import ArtifactStore

        data, agents = ArtifactStore(self.data), ArtifactStore(self.agents)
        files = {f"data/{n}": data.url(n) for n in ("catalog.parquet", "splits/eval.parquet")}
        return {**files, **{f"agents/{n}": agents.url(n) for n in AGENT_FOLDERS}}


@dataclass(frozen=True)
class RenderStage(Stage):
    data: str
    prompts_fingerprint: str
    selection_fingerprint: str
    systems: tuple[str, ...]
    seeds: tuple[int, ...]
    weights: str
    size: int | None = None
    base_models: tuple[tuple[str, str], ...] | None = None
    name: ClassVar[str] = "render"
    code: ClassVar[tuple[str, ...]] = (
        "diffagent.render",
        "diffagent.score",
        "diffagent.store",
        "diffagent.evaluate.pipeline",
        "diffagent.evaluate.models",
        "diffagent.evaluate.steps",
        "diffagent.evaluate.stages",
    )
    outputs: ClassVar[tuple[str, ...]] = ("stages/scores.parquet", "stages/renderer.json")
    unkeyed: ClassVar[tuple[str, ...]] = ("root", "data")

    def input_files(self) -> dict[str, str]:
        from diffagent.storage import ArtifactStore

        return {"data/catalog.parquet": ArtifactStore(self.data).url("catalog.parquet")}


def run_selection(stage: SelectionStage, prompts: list[EvalPrompt]) -> dict[str, Any]:
    """Answer every prompt with every selector; write the answers and what the report says of the
    selectors: seconds to load the agents' weights (before any call, so in no selector's cold
    start) and the trained retriever's folder."""
    from diffagent.evaluate.agents import build_selectors, load_run_agents
    from diffagent.evaluate.run import collect_answers
    from diffagent.evaluate.systems import catalog_index

    began = time.perf_counter()
    loaded = load_run_agents(stage.agents, stage.data)
    load_s = {"SFT + RRHF": time.perf_counter() - began}
    architectures = list(stage.architectures)
    selectors = build_selectors(loaded, architectures)
    rows, _ = collect_answers(prompts, architectures, selectors, catalog_index(stage.data), stage.batch_size)
    retriever = loaded["rrhf"].retriever_source
    _write_rows(stage, "stages/answers.parquet", rows, ANSWER_SCHEMA)
    meta = {"load_s": load_s, "retriever": str(retriever) if retriever else None}
    stage.store.write_json("stages/selectors.json", meta)
    return {"answers": len(rows)}


def run_render(stage: RenderStage, prompts: list[EvalPrompt], answers: list[AnswerRow]) -> dict[str, Any]:
    """Render and score every system's images of every prompt (`steps.render_and_score_all`)."""
    from diffagent.evaluate.steps import render_and_score_all

    base_models = dict(stage.base_models) if stage.base_models else None
    rows, note = render_and_score_all(
        prompts,
        answers,
        stage.data,
        list(stage.systems),
        list(stage.seeds),
        stage.weights,
        stage.root,
        stage.size,
        base_models,
    )
    _write_rows(stage, "stages/scores.parquet", rows, SCORE_SCHEMA)
    stage.store.write_json("stages/renderer.json", {"renderer_note": note})
    return {"images": len(rows)}


def read_selection(stage: SelectionStage) -> tuple[list[AnswerRow], dict[str, Any]]:
    table = stage.store.read_table("stages/answers.parquet", ANSWER_SCHEMA)
    return [AnswerRow.model_validate(r) for r in table.to_pylist()], stage.store.read_json(
        "stages/selectors.json"
    )


def read_render(stage: RenderStage) -> tuple[list[ScoreRow], str]:
    table = stage.store.read_table("stages/scores.parquet", SCORE_SCHEMA)
    note = stage.store.read_json("stages/renderer.json")["renderer_note"]
    return [ScoreRow.model_validate(r) for r in table.to_pylist()], note


def _write_rows(stage: Stage, name: str, rows: list[Any], schema: pa.Schema) -> None:
    stage.store.write_table(name, pa.Table.from_pylist([r.model_dump() for r in rows], schema=schema))


def selection_stage(config: Any, prompts: list[EvalPrompt]) -> SelectionStage:
    """The selection stage of an `EvaluateConfig` run over `prompts`."""
    return SelectionStage(
        config.out,
        config.data,
        config.agents,
        prompts_fingerprint(prompts),
        tuple(config.architectures),
        config.batch_size,
    )


def render_stage(config: Any, prompts: list[EvalPrompt], selection_fingerprint: str) -> RenderStage:
    """The render stage of an `EvaluateConfig` run, after the selection whose outputs it reads."""
    base_models = tuple(sorted(config.base_models.items())) if config.base_models else None
    return RenderStage(
        config.out,
        config.data,
        prompts_fingerprint(prompts),
        selection_fingerprint,
        tuple(config.systems),
        tuple(config.seeds),
        config.weights,
        config.size,
        base_models,
    )
