"""The page at `/`: a plain HTML form (GET, so a result is a link) and server-rendered result cards.

The form goes through the same `SelectRequest` validation and micro-batcher as the API; a refused
prompt re-renders the form with the reason in an alert. JavaScript only copies exports.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

from pydantic import ValidationError

from diffagent.agent.selector import SELECTORS
from diffagent.exports import EXPORTERS, export, export_inputs
from diffagent.exports.inputs import civitai_page
from diffagent.serve.answering import Refused, answer, available_selectors, default_selector
from diffagent.serve.requests import MAX_PROMPT_CHARS, MAX_TOP_K, SelectRequest, describe_errors

EXPORT_LABELS = {"a1111": "A1111 infotext", "comfyui": "ComfyUI workflow", "diffusers": "diffusers snippet"}
EXPORT_LABELS["a1111-api"] = "A1111 API body"
assert set(EXPORT_LABELS) == set(EXPORTERS), "every export format needs a button label"


@cache
def _template() -> Template:
    return Template(files("diffagent.serve").joinpath("page.html").read_text(encoding="utf-8"))


def _definitions(pairs: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _link(text: str, model_id: int, version_id: int) -> str:
    return f'<a href="{escape(civitai_page(model_id, version_id))}" rel="noopener">{escape(text)}</a>'


def one_per_model(selections: list[Any]) -> list[tuple[Any, list[Any]]]:
    """The answers grouped by Civitai model, best first: each model's best-ranked version, with its
    other versions (a card per model, not two cards of one checkpoint's versions)."""
    groups: dict[int, tuple[Any, list[Any]]] = {}
    for selection in selections:
        if selection.api is None:
            continue
        key = selection.api.model_id
        if key in groups:
            groups[key][1].append(selection)
        else:
            groups[key] = (selection, [])
    return list(groups.values())


def card(
    rank: int,
    selection: Any,
    catalog: Any,
    request: SelectRequest,
    latency_ms: float,
    other_versions: Sequence[Any] = (),
) -> str:
    api = selection.api
    entry = catalog.by_model[api.model]
    preview = entry.get("preview_url")
    image = (
        f'<img src="{escape(preview)}" alt="Preview image of {escape(api.model)}" loading="lazy">'
        if preview
        else '<div class="no-preview" role="img" aria-label="No preview image">No preview</div>'
    )
    facts = [("Type", escape(api.type)), ("Base model", escape(api.base_model))]
    if api.base_checkpoint:
        base = catalog.by_model[api.base_checkpoint]
        facts.append(("Base checkpoint", _link(api.base_checkpoint, base["model_id"], base["version_id"])))
    score = "n/a" if selection.score is None else f"{selection.score:.3f}"
    facts += [("Score", score), ("Latency", f"{latency_ms:.0f} ms")]
    if other_versions:
        links = [_link(o.api.model, o.api.model_id, o.api.version_id) for o in other_versions]
        facts.append(("Other versions", ", ".join(links)))
    parameters = [
        ("Size", f"{api.width}x{api.height}"),
        ("Sampler", escape(api.sampling_method)),
        ("Steps", str(api.sampling_steps)),
        ("CFG scale", f"{api.cfg_scale:g}"),
    ]
    if api.type == "LORA":  # what the exports put in the LoRA call and the prompt
        strength = "n/a" if api.lora_weight is None else f"{api.lora_weight:g}"
        parameters += [
            ("LoRA strength", strength),
            ("Trigger words", escape(", ".join(api.trigger_words)) or "none"),
        ]
    return (
        f'<li class="card" aria-labelledby="card-{rank}"><article>{image}'
        f'<h3 id="card-{rank}">{rank}. {_link(api.model, api.model_id, api.version_id)}</h3>'
        f"{_definitions(facts)}"
        f'<p class="description">{escape(api.model_description)}</p>'
        f'<h4>Parameters</h4><div class="parameters">{_definitions(parameters)}</div>'
        f"{_exports(rank, api, catalog, request)}</article></li>"
    )


def _exports(rank: int, api: Any, catalog: Any, request: SelectRequest) -> str:
    try:
        inputs = export_inputs(api, catalog, request.prompt, request.negative_prompt, request.seed)
    except ValueError as error:  # a catalog without file names: the card shows why there are no exports
        return f'<p class="exports">No exports: {escape(str(error))}</p>'
    buttons, texts = [], []
    for name, label in EXPORT_LABELS.items():
        element = f"export-{rank}-{name}"
        buttons.append(
            f'<button type="button" data-copy="{element}" data-label="{escape(label)}">Copy {label}</button>'
        )
        texts.append(f'<h4>{label}</h4><pre id="{element}">{escape(export(name, inputs))}</pre>')
    return (
        f'<div class="exports">{"".join(buttons)}'
        f"<details><summary>Show exports</summary>{''.join(texts)}</details></div>"
    )


def _options(agent: Any, chosen: str | None) -> str:
    """The selector menu; the agent's default (measured best on rrhf when calibrated) is marked."""
    default = default_selector(agent)
    chosen = chosen or default
    marks = {s: (" selected" if s == chosen else "", " (default)" if s == default else "") for s in SELECTORS}
    return "".join(
        f'<option value="{s}"{marks[s][0]}>{s}{marks[s][1]}</option>' for s in available_selectors(agent)
    )


def _error(message: str) -> str:
    return f'<div class="error" role="alert"><strong>Not answered:</strong> {escape(message)}</div>'


async def render_page(serving: Any, batcher: Any, params: dict[str, str]) -> tuple[str, int]:
    """The page for the query `params` and its HTTP status (422 for a refused prompt)."""
    error, results, status = "", "", 200
    if "prompt" in params:
        form = {k: params[k] for k in ("prompt", "negative_prompt", "selector") if params.get(k)}
        form.setdefault("prompt", params["prompt"])
        if params.get("top_k"):
            form["top_k"] = params["top_k"]
        try:
            request = SelectRequest.model_validate(form, strict=False)
            # Cards are per model: ask for more answers, so other versions do not crowd out models.
            wider = request.model_copy(update={"top_k": min(MAX_TOP_K, request.top_k * 3)})
            response, catalog = await answer(serving, batcher, wider)
            groups = one_per_model(response.answers)[: request.top_k]
            cards = [
                card(rank, best, catalog, request, response.latency_ms, others)
                for rank, (best, others) in enumerate(groups, start=1)
            ]
            results = (
                f'<section aria-labelledby="results-title"><h2 id="results-title">Results</h2>'
                f'<p class="summary">{len(cards)} answer(s) from the {escape(response.selector)} selector'
                f"{' (the default)' if response.selector == default_selector(serving.agent) else ''} "
                f"in {response.latency_ms:.0f} ms, best first.</p>"
                f'<ol class="cards">{"".join(cards)}</ol></section>'
            )
        except ValidationError as invalid:
            error, status = _error(describe_errors(invalid.errors())), 422
        except Refused as refusal:
            error, status = _error(refusal.detail), refusal.status
    html = _template().substitute(
        title="DiffAgent" + (" — results" if results else ""),
        prompt=escape(params.get("prompt", "")),
        negative_prompt=escape(params.get("negative_prompt", "")),
        selector_options=_options(serving.agent, params.get("selector")),
        top_k=escape(params.get("top_k", "3")),
        max_top_k=MAX_TOP_K,
        max_chars=MAX_PROMPT_CHARS,
        error=error,
        results=results,
    )
    return html, status
