"""The evaluation steps as plain functions: answers -> render plans -> images -> scores.

Selection and rendering are passed in as callables so the same steps run with the real agent,
renderer and scorers (tiny or full size); `diffagent.evaluate.agents` adapts the real agent.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm.auto import tqdm

from diffagent.catalog import Catalog
from diffagent.evaluate.systems import (
    SYSTEMS,
    RenderPlan,
    answer_parameters,
    check_answer,
    parse_answer,
    plan_render,
)
from diffagent.render.cache import png_bytes
from diffagent.score.unified import METRICS, unified_image_scores
from diffagent.storage import ArtifactStore
from schemas.evaluation import AnswerRow, EvalPrompt, ScoreRow
from schemas.t2i import Instruction, T2IApi

# (instructions) -> one (answer fields or None, raw answer text) per instruction, in order.
SelectFn = Callable[[list[Instruction]], list[tuple[dict[str, Any] | None, str]]]
# (api, prompt, negative prompt, seeds) -> one image per seed.
RenderFn = Callable[[T2IApi, str, str, Sequence[int]], list[Image.Image]]
# (prompts, images) -> {metric: one raw score per image}
ScoreFn = Callable[[list[str], list[Image.Image]], Mapping[str, Sequence[float]]]
AnswerKey = tuple[str, str, str, bool]  # (architecture, prompt key, selector, constrained)


def prompt_key(prompt: EvalPrompt) -> str:
    return f"{prompt.dataset}/{prompt.prompt_id}"


@dataclass
class Answer:
    fields: dict[str, Any] | None
    latency_s: float


def select_timed(
    select: SelectFn, prompts: Sequence[EvalPrompt], batch_size: int = 1
) -> list[tuple[Answer, str]]:
    """Answers in prompt order; each batch's wall time is shared equally by its prompts.

    batch_size=1 measures what the paper reports (one prompt at a time); larger batches measure
    throughput-bound latency.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    answers: list[tuple[Answer, str]] = []
    for start in tqdm(range(0, len(prompts), batch_size), desc="select", unit="batch", leave=False):
        batch = prompts[start : start + batch_size]
        began = time.perf_counter()
        results = select([Instruction(prompt=p.prompt, negative_prompt=p.negative_prompt) for p in batch])
        each = (time.perf_counter() - began) / len(batch)
        if len(results) != len(batch):
            raise ValueError(f"selector answered {len(results)} of {len(batch)} prompts")
        answers += [(Answer(fields, each), raw) for fields, raw in results]
    return answers


def answer_rows(
    architecture: str,
    prompts: Sequence[EvalPrompt],
    answers: Sequence[tuple[Answer, str]],
    selector: str,
    constrained: bool,
    catalog: Catalog,
) -> list[AnswerRow]:
    """Table 1's rows: each answer checked against the catalog for `architecture`."""
    rows = []
    for prompt, (answer, raw) in zip(prompts, answers, strict=True):
        reason = check_answer(answer.fields, catalog, architecture)
        model = (answer.fields or {}).get("model")
        rows.append(
            AnswerRow(
                architecture=architecture,
                dataset=prompt.dataset,
                prompt_id=prompt.prompt_id,
                selector=selector,
                constrained=constrained,
                model=model if isinstance(model, str) else None,
                hallucinated=bool(reason),
                reason=reason,
                params_fixed=not reason and answer_parameters(answer.fields, architecture)[3],
                latency_s=answer.latency_s,
                raw=raw,
            )
        )
    return rows


@dataclass
class PlannedRender:
    architecture: str
    prompt: EvalPrompt
    system: str
    plan: RenderPlan
    latency_s: float


def plan_systems(
    architecture: str,
    prompts: Sequence[EvalPrompt],
    answers: Mapping[AnswerKey, Answer],
    systems: Sequence[str],
    catalog: Catalog,
    baseline: T2IApi,
    size: tuple[int, int],
) -> list[PlannedRender]:
    """What every system renders for every prompt of one architecture."""
    planned = []
    for prompt in prompts:
        for name in systems:
            system = SYSTEMS[name]
            answer = None
            if system.selector is not None:
                key = (architecture, prompt_key(prompt), system.selector, system.constrained)
                if key not in answers:
                    raise ValueError(f"system {name!r} needs the {system.selector} answers; none for {key}")
                answer = answers[key]
            plan = plan_render(system, answer.fields if answer else None, catalog, baseline, size)
            planned.append(
                PlannedRender(architecture, prompt, name, plan, answer.latency_s if answer else 0.0)
            )
    return planned


def image_key(api: T2IApi, prompt: str, negative_prompt: str, seed: int) -> str:
    """Names an image by what decides its pixels, so identical renders (a fallback is the
    baseline's image) are made once and a rerun reuses what exists."""
    render_fields = api.model_dump(exclude={"model_description"})
    payload = json.dumps([render_fields, prompt, negative_prompt, seed], sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def render_and_score(
    planned: Sequence[PlannedRender],
    seeds: Sequence[int],
    render: RenderFn,
    score: ScoreFn,
    image_dir: str | Path,
) -> list[ScoreRow]:
    """Render each distinct (API, prompt, seed) once, score every image, and normalise the unified
    metric over all images of all systems on the same prompt (the evaluation's declared group).
    `image_dir` is a folder or an fsspec URL."""
    if not seeds:
        raise ValueError("need at least one seed")
    images_store = ArtifactStore(str(image_dir))
    by_prompt: dict[tuple[str, str], list[PlannedRender]] = {}
    for item in planned:
        by_prompt.setdefault((item.architecture, prompt_key(item.prompt)), []).append(item)
    rows: list[ScoreRow] = []
    for items in tqdm(by_prompt.values(), desc="render + score", unit="prompt"):
        prompt = items[0].prompt
        paths: dict[str, str] = {}
        for item in items:
            api, text, negative = item.plan.api, prompt.prompt, prompt.negative_prompt
            missing = [
                s for s in seeds if not images_store.exists(f"{image_key(api, text, negative, s)}.png")
            ]
            if missing:
                images = render(item.plan.api, prompt.prompt, prompt.negative_prompt, missing)
                if len(images) != len(missing):
                    raise ValueError(f"renderer gave {len(images)} images for {len(missing)} seeds")
                for seed, image in zip(missing, images, strict=True):
                    key = image_key(item.plan.api, prompt.prompt, prompt.negative_prompt, seed)
                    images_store.write_bytes(f"{key}.png", png_bytes(image))  # atomic on a local disk
            for seed in seeds:
                key = image_key(item.plan.api, prompt.prompt, prompt.negative_prompt, seed)
                paths[key] = f"{key}.png"
        keys = list(paths)
        images = [Image.open(io.BytesIO(images_store.read_bytes(paths[k]))).convert("RGB") for k in keys]
        raw = {
            m: [float(v) for v in values]
            for m, values in score([prompt.prompt] * len(images), images).items()
        }
        per_key = {k: {m: raw[m][i] for m in METRICS} for i, k in enumerate(keys)}
        # One entry per (system, seed): duplicates of an image do not change a min-max group.
        entries = [
            (item, seed, image_key(item.plan.api, prompt.prompt, prompt.negative_prompt, seed))
            for item in items
            for seed in seeds
        ]
        unified = unified_image_scores({m: [per_key[k][m] for _, _, k in entries] for m in METRICS})
        for (item, seed, key), value in zip(entries, unified, strict=True):
            api = item.plan.api
            rows.append(
                ScoreRow(
                    architecture=item.architecture,
                    dataset=prompt.dataset,
                    prompt_id=prompt.prompt_id,
                    prompt=prompt.prompt,
                    system=item.system,
                    seed=seed,
                    model=api.model,
                    version_id=api.version_id,
                    sampling_method=api.sampling_method,
                    sampling_steps=api.sampling_steps,
                    cfg_scale=api.cfg_scale,
                    width=api.width,
                    height=api.height,
                    fallback=item.plan.fallback,
                    **per_key[key],
                    unified=value,
                    latency_s=item.latency_s,
                    image_path=images_store.url(paths[key]),
                )
            )
    return rows


def answers_from_rows(rows: Sequence[AnswerRow]) -> dict[AnswerKey, Answer]:
    """The answers the systems render, rebuilt from answers.parquet rows (fields parsed from `raw`)."""
    return {
        (r.architecture, f"{r.dataset}/{r.prompt_id}", r.selector, r.constrained): Answer(
            parse_answer(r.raw), r.latency_s
        )
        for r in rows
    }
