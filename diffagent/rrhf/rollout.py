"""Reward rollout: render every response k times and score it with the unified metric (paper Eq. 5).

s_i = mean over response i's k images of the unified score, where each raw metric is min-max
normalised over *all images of the candidates of one prompt* (our stated choice; a parameter of
`diffagent.score.unified`). The k seeds are fixed per prompt and shared by its responses, so the
responses of a prompt are compared on the same noise.

Work is cut into batches of whole prompts (normalisation needs all of a prompt's images together).
Each finished batch is written to `rollouts/part-<batch>-<digest>.parquet` (a local path or an
fsspec URL; locally written to a temporary name, then renamed), so a killed rollout resumes by
skipping the parts already there; the digest covers the batch's content, so a changed batch is
never mistaken for a done one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from PIL import Image

from diffagent.score.unified import METRICS, unified_image_scores
from diffagent.storage import at
from schemas.rrhf import ROLLOUT_SCHEMA
from schemas.t2i import T2IApi


class Renderer(Protocol):
    def render(
        self, api: T2IApi, prompt: str, negative_prompt: str, seeds: Sequence[int]
    ) -> list[Image.Image]: ...


class Scorer(Protocol):
    def score(self, prompts: Sequence[str], images: Sequence[Image.Image]) -> list[float]: ...


@dataclass
class PromptResponses:
    """One prompt and its n reconstructed responses (text the policy is trained on + the API)."""

    prompt_id: str
    prompt: str
    negative_prompt: str
    responses: list[str]
    apis: list[T2IApi]

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "apis": [api.model_dump(mode="json") for api in self.apis]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptResponses:
        return cls(**{**data, "apis": [T2IApi.model_validate(api) for api in data["apis"]]})


def prompt_seeds(prompt_id: str, k: int, base_seed: int = 0) -> list[int]:
    """k seeds that depend only on the prompt (and a base seed): same noise for all its responses."""
    digest = hashlib.sha256(f"{base_seed}:{prompt_id}".encode()).digest()
    start = int.from_bytes(digest[:4], "big") % (2**31 - k)
    return list(range(start, start + k))


def rewards_from_image_scores(
    raw: Mapping[str, Sequence[float]], response_of_image: Sequence[int], metrics: Sequence[str] = METRICS
) -> tuple[list[float], dict[int, float]]:
    """Unified score per image (one normalisation group: these images) and s_i per response index."""
    unified = unified_image_scores(raw, None, metrics)
    per_response: dict[int, list[float]] = {}
    for value, index in zip(unified, response_of_image, strict=True):
        per_response.setdefault(index, []).append(value)
    return unified, {index: sum(v) / len(v) for index, v in per_response.items()}


def rollout_prompt(
    item: PromptResponses,
    renderer: Renderer,
    scorers: Mapping[str, Scorer],
    k: int,
    base_seed: int = 0,
) -> list[dict[str, Any]]:
    """Render and score every response of one prompt: one output row per response."""
    if k < 1:
        raise ValueError(f"k (renders per response) must be >= 1, got {k}")
    seeds = prompt_seeds(item.prompt_id, k, base_seed)
    images: list[Image.Image] = []
    owners: list[int] = []
    for index, api in enumerate(item.apis):
        rendered = renderer.render(api, item.prompt, item.negative_prompt, seeds)
        if len(rendered) != k:
            raise ValueError(f"renderer returned {len(rendered)} images for {k} seeds ({api.model!r})")
        images += rendered
        owners += [index] * k
    prompts = [item.prompt] * len(images)
    raw = {metric: [float(v) for v in scorer.score(prompts, images)] for metric, scorer in scorers.items()}
    unified, rewards = rewards_from_image_scores(raw, owners, tuple(scorers))
    rows = []
    for index, (text, api) in enumerate(zip(item.responses, item.apis, strict=True)):
        part = slice(index * k, (index + 1) * k)
        rows.append(
            {
                "prompt_id": item.prompt_id,
                "prompt": item.prompt,
                "negative_prompt": item.negative_prompt,
                "response_index": index,
                "response_text": text,
                "api_json": api.model_dump_json(),
                "seeds": seeds,
                "image_scores": unified[part],
                "raw_scores_json": json.dumps({m: values[part] for m, values in raw.items()}),
                "reward": rewards[index],
            }
        )
    return rows


def batch_digest(batch: Sequence[PromptResponses], k: int, base_seed: int) -> str:
    payload = json.dumps([item.to_json() for item in batch] + [k, base_seed], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


def part_path(parts_dir: str | Path, index: int, digest: str) -> str:
    return f"{str(parts_dir).rstrip('/')}/part-{index:05d}-{digest}.parquet"


def write_part(rows: list[dict[str, Any]], out: str | Path) -> str:
    """Atomic on a local disk (temporary name, then rename): a killed process never leaves a half
    part that looks finished; an object store writes whole objects anyway."""
    store, name = at(out)
    store.write_table(name, pa.Table.from_pylist(rows, schema=ROLLOUT_SCHEMA))
    return str(out)


def rollout_batch(
    batch: Sequence[PromptResponses],
    renderer: Renderer,
    scorers: Mapping[str, Scorer],
    k: int,
    out: str | Path,
    base_seed: int = 0,
) -> str:
    """Roll out one batch of prompts and write its part file."""
    rows = [row for item in batch for row in rollout_prompt(item, renderer, scorers, k, base_seed)]
    return write_part(rows, out)


@dataclass
class BatchJob:
    """A batch to roll out and where its part goes (what a remote worker needs, as JSON)."""

    index: int
    out: str
    items: list[dict[str, Any]]


def batches_of(items: Sequence[PromptResponses], batch_size: int) -> list[list[PromptResponses]]:
    """Consecutive batches of `batch_size` whole prompts (the last one may be shorter)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return [list(items[start : start + batch_size]) for start in range(0, len(items), batch_size)]


def plan_batches(
    items: Sequence[PromptResponses], parts_dir: str | Path, batch_size: int, k: int, base_seed: int = 0
) -> tuple[list[BatchJob], list[str]]:
    """(jobs still to do, parts already done). Resuming = planning again: done parts are skipped."""
    todo, done = [], []
    for index, batch in enumerate(batches_of(items, batch_size)):
        path = part_path(parts_dir, index, batch_digest(batch, k, base_seed))
        store, name = at(path)
        if store.exists(name):
            done.append(path)
        else:
            todo.append(BatchJob(index, path, [item.to_json() for item in batch]))
    return todo, done


def run_jobs_in_process(
    jobs: Sequence[BatchJob],
    load_models: Callable[[], tuple[Renderer, Mapping[str, Scorer]]],
    k: int,
    base_seed: int = 0,
    progress: bool = True,
) -> list[str]:
    """Run batch jobs here, loading the renderer and scorers once."""
    from tqdm import tqdm

    if not jobs:
        return []
    renderer, scorers = load_models()
    written = []
    for job in tqdm(jobs, desc="rollout", unit="batch", disable=not progress):
        items = [PromptResponses.from_json(item) for item in job.items]
        written.append(rollout_batch(items, renderer, scorers, k, job.out, base_seed))
    return written


def collect_parts(parts: Sequence[str | Path], out: str | Path) -> pa.Table:
    """Concatenate part files (in batch order) into `out` (rollouts.parquet)."""
    tables = []
    for part in sorted(str(p) for p in parts):
        store, name = at(part)
        tables.append(store.read_table(name, ROLLOUT_SCHEMA))
    table = pa.concat_tables(tables) if tables else ROLLOUT_SCHEMA.empty_table()
    store, name = at(out)
    store.write_table(name, table)
    return table


def rrhf_examples(table: pa.Table) -> list[dict[str, Any]]:
    """Group rollout rows per prompt into RRHF examples {prompt_id, responses, rewards}."""
    grouped: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        example = grouped.setdefault(
            row["prompt_id"],
            {
                "prompt_id": row["prompt_id"],
                "prompt": row["prompt"],
                "negative_prompt": row["negative_prompt"],
                "responses": [],
                "rewards": [],
            },
        )
        example["responses"].append(row["response_text"])
        example["rewards"].append(row["reward"])
    return list(grouped.values())


SCORER_FOLDERS = {"clip_score": "clip", "image_reward": "image_reward", "hps_v2": "hps"}


def load_scorers_from_folders(
    folders: Mapping[str, str | Path], device: str | None = None
) -> dict[str, Scorer]:
    """The three unified-metric scorers from scorer folders (scorer.json layout, e.g. the tiny ones),
    keyed by metric name: {"clip_score": dir, "image_reward": dir, "hps_v2": dir}."""
    from diffagent.score.clip_score import ClipScorer
    from diffagent.score.hps import HpsV2Scorer
    from diffagent.score.image_reward import ImageRewardScorer

    classes = {"clip_score": ClipScorer, "image_reward": ImageRewardScorer, "hps_v2": HpsV2Scorer}
    unknown = sorted(set(folders) - set(classes))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; expected some of {sorted(classes)}")
    return {
        metric: classes[metric].from_folder(Path(folder), device=device) for metric, folder in folders.items()
    }
