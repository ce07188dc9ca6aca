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
from typing import Any, NamedTuple

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


class Reply(NamedTuple):
    """A selector's answer to one instruction."""

    fields: dict[str, Any] | None  # the answer's fields; None when it cannot be read
    raw: str  # the answer as given (JSON text)
    ranked: list[str] | None = None  # models of its ranked candidates, best first; None: one answer


# (instructions) -> one reply per instruction, in order (a plain (fields, raw) pair is a Reply too).
SelectFn = Callable[[list[Instruction]], list[Reply | tuple[dict[str, Any] | None, str]]]
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
    latency_s: float  # this prompt's selection time, warm
    cold_start_s: float = 0.0  # the selector's first call, timed apart
    ranked: list[str] | None = None


# The cold call's instruction. It is no evaluated prompt, so no prompt's timing reuses what the
# cold call cached (the embedder keeps each query text's vector).
WARM_UP = Instruction(prompt="a photo of a lighthouse at dusk", negative_prompt="blurry")


def _ask(select: SelectFn, instructions: list[Instruction]) -> tuple[list[Reply], float]:
    began = time.perf_counter()
    results = select(instructions)
    took = time.perf_counter() - began
    if len(results) != len(instructions):
        raise ValueError(f"selector answered {len(results)} of {len(instructions)} prompts")
    return [Reply(*result) for result in results], took


def select_timed(
    select: SelectFn,
    prompts: Sequence[EvalPrompt],
    batch_size: int = 1,
    cold_start_s: float | None = None,
) -> list[tuple[Answer, str]]:
    """Answers in prompt order, each prompt timed on its own (batch_size=1, the paper's latency).

    The selector is first asked `WARM_UP` alone: that call pays what is paid once (a lazy index
    build, a retriever load, the first model call) and is recorded as every answer's
    `cold_start_s`, apart from the prompts' own latency. With batch_size > 1 the prompts are asked
    in batches and each prompt is charged an equal share of its batch's time (throughput, not one
    prompt's latency). `cold_start_s` given: the selector is warm already (it answered other
    prompts), so there is no warm-up call and that figure is recorded.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not prompts:
        return []
    cold_start = cold_start_s if cold_start_s is not None else _ask(select, [WARM_UP])[1]
    answers: list[tuple[Answer, str]] = []
    for start in tqdm(range(0, len(prompts), batch_size), desc="select", unit="batch", leave=False):
        batch = prompts[start : start + batch_size]
        instructions = [Instruction(prompt=p.prompt, negative_prompt=p.negative_prompt) for p in batch]
        replies, took = _ask(select, instructions)
        each = took / len(batch)
        answers += [(Answer(r.fields, each, cold_start, r.ranked), r.raw) for r in replies]
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
                cold_start_s=answer.cold_start_s,
                ranked=answer.ranked,
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
            parse_answer(r.raw), r.latency_s, r.cold_start_s, r.ranked
        )
        for r in rows
    }
