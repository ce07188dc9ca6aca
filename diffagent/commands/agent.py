"""`diffagent select`, `diffagent serve` and `diffagent train sft`: the agent on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from diffagent.commands.errors import USER_ERRORS, fail


def _dump(answers: list, top_k: int | None) -> str:
    items = [a.model_dump(mode="json") for a in answers]
    return json.dumps(items if top_k else items[0], ensure_ascii=False)


def _write_exports(
    format: str, instructions: list[dict], results: list, catalog, seed: int, as_lines: bool
) -> None:
    """Exports a shell can pipe. One answer: the export itself (the ComfyUI workflow or A1111 API
    body as a JSON object, the infotext or script as text). `as_lines` (--top-k, --batch): one
    JSON line per answer, `{"prompt", "rank", "export"}`, the export an object or a string."""
    from diffagent.exports import export_inputs, export_object

    made = []
    for item, answers in zip(instructions, results, strict=True):
        for rank, answer in enumerate(answers, start=1):
            if answer.api is None:
                raise ValueError(f"answer {rank} for {item['prompt']!r} names no catalog model to export")
            inputs = export_inputs(answer.api, catalog, item["prompt"], item["negative_prompt"], seed)
            made.append((item["prompt"], rank, export_object(format, inputs)))
    if not as_lines:
        export = made[0][2]
        text = export if isinstance(export, str) else json.dumps(export, indent=2, ensure_ascii=False)
        sys.stdout.write(text.rstrip("\n") + "\n")
        return
    for prompt, rank, export in made:
        line = {"prompt": prompt, "rank": rank, "export": export}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


def _quiet_progress_bars() -> None:
    """One prompt's answer is what a shell pipes or a person reads: loading bars are noise there."""
    import huggingface_hub.utils
    import transformers.utils.logging

    transformers.utils.logging.disable_progress_bar()
    huggingface_hub.utils.disable_progress_bars()


def select(
    prompt: str = typer.Argument(None, help="The text-to-image prompt (omit with --batch)."),
    agent: str = typer.Option(
        None, help="Agent folder or URL from `diffagent train sft` (not needed for retrieval)."
    ),
    catalog: str = typer.Option(..., help="DABench folder or catalog.parquet: a path or fsspec URL."),
    selector: str = typer.Option(
        None, help="llm | retrieval | hybrid (default: llm with --agent, else retrieval)."
    ),
    top_k: int = typer.Option(None, "--top-k", help="Return K ranked answers (a JSON list, best first)."),
    negative_prompt: str = typer.Option("", "--negative-prompt", help="What the image should not show."),
    batch: Path = typer.Option(None, help="JSONL with `prompt` (and optional `negative_prompt`) per line."),
    unconstrained: bool = typer.Option(
        False, help="Plain generation (the paper's path), to measure hallucination."
    ),
    backend: str = typer.Option("transformers", help="transformers, or vllm (GPU, `diffagent[vllm]`)."),
    retriever: str = typer.Option(
        None, help="Trained retriever folder or URL (`diffagent train retriever`; default: RUN/retriever)."
    ),
    format: str = typer.Option(
        "json",
        "--format",
        help="json | a1111 (infotext) | a1111-api (POST /sdapi/v1/txt2img body) | comfyui (API workflow, "
        'send as {"prompt": ...}) | diffusers (script). One answer prints the export itself; with '
        "--top-k or --batch, one JSON line per answer with the export in `export`.",
    ),
    seed: int = typer.Option(0, help="The seed written into the exports."),
    fetch: bool = typer.Option(
        False, help="Also download the answers' files and lay them out (--layout, --into); JSON on stderr."
    ),
    layout: str = typer.Option(None, help="With --fetch: comfyui | a1111 | forge | diffusers."),
    into: Path = typer.Option(None, help="With --fetch: the tool's folder."),
) -> None:
    """Answer a prompt (or a JSONL batch, one answer per line in input order) with a catalog T2I API."""
    from diffagent.agent.selector import SELECTORS, default_selector, load_agent
    from diffagent.exports import FORMATS

    if format not in FORMATS:
        fail(f"unknown --format {format!r}; expected one of {FORMATS}")
    if selector is not None and selector not in SELECTORS:
        fail(f"unknown selector {selector!r}; expected one of {SELECTORS}")
    if (prompt is None) == (batch is None):
        fail("give either a PROMPT or --batch FILE")
    if top_k is not None and top_k < 1:
        fail(f"--top-k must be at least 1, got {top_k}")
    if fetch and (layout is None or into is None):
        fail("--fetch needs --layout and --into")
    instructions = []
    if batch is not None:
        for number, line in enumerate(batch.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                fail(f"{batch}:{number} is not JSON: {error}")
            if not isinstance(row, dict) or not isinstance(row.get("prompt"), str):
                fail(f"{batch}:{number} needs a string `prompt`")
            instructions.append(
                {"prompt": row["prompt"], "negative_prompt": row.get("negative_prompt") or ""}
            )
    else:
        instructions.append({"prompt": prompt, "negative_prompt": negative_prompt})
    for number, item in enumerate(instructions, start=1):
        if not item["prompt"].strip():
            fail(f"prompt {number} is empty or only whitespace")
    if selector not in (None, "retrieval") and agent is None:
        fail(f"--selector {selector} needs --agent; only --selector retrieval works without one")
    if batch is None:
        _quiet_progress_bars()
    try:
        loaded = load_agent(
            agent if selector != "retrieval" else None, catalog, backend=backend, retriever=retriever
        )
        defaulted, selector = selector is None, selector or default_selector(loaded)
        results = loaded.select(
            instructions, top_k=top_k or 1, constrained=not unconstrained, selector=selector
        )
    except USER_ERRORS as error:
        fail(error)
    typer.echo(f"selector: {selector}" + (" (the agent's default)" if defaulted else ""), err=True)
    if fetch:
        from diffagent.commands.models import fetch_for_answers

        fetch_for_answers([a.api for answers in results for a in answers if a.api], catalog, layout, into)
    if format != "json":
        try:
            as_lines = top_k is not None or batch is not None
            _write_exports(format, instructions, results, loaded.catalog, seed, as_lines)
        except ValueError as error:
            fail(error)
        return
    for answers in results:
        sys.stdout.write(_dump(answers, top_k) + "\n")


def serve(
    catalog: str = typer.Option(..., help="DABench folder or catalog.parquet: a path or fsspec URL."),
    agent: str = typer.Option(
        None, help="Agent folder or URL; without it only the retrieval selector is served."
    ),
    port: int = typer.Option(8000),
    host: str = typer.Option("127.0.0.1"),
    batch_window_ms: float = typer.Option(
        0.0,
        help="How long a batch waits for more requests (0: it takes what is queued; under load "
        "requests queue while the previous batch runs).",
    ),
    backend: str = typer.Option("transformers", help="transformers, or vllm (GPU, `diffagent[vllm]`)."),
    retriever: str = typer.Option(None, help="Trained retriever folder or URL (default: RUN/retriever)."),
    max_batch: int = typer.Option(32, help="Most requests answered by one batched call."),
    max_body_bytes: int = typer.Option(64 * 1024, help="Larger request bodies get 413 before they are read."),
    follow_interval_s: float = typer.Option(
        30.0, help="How often to check DIR/latest.json for a new catalog version (0: never)."
    ),
    graceful_timeout_s: float = typer.Option(
        30.0, help="On SIGTERM, how long in-flight requests may finish."
    ),
    access_log: bool = typer.Option(True, help="Log one line per request (uvicorn's access log)."),
) -> None:
    """Serve the page at /, POST /v1/select, /health and /metrics over HTTP (OpenAPI at /docs).

    With a DABench folder as --catalog, the server follows its latest.json: a newly published
    version is loaded in the background and swapped in without failing a request."""
    import uvicorn

    from diffagent.agent.selector import load_agent
    from diffagent.serve import create_app
    from diffagent.serve.hotswap import resolve_catalog

    try:
        # Hot swap follows a local DABench folder; a URL catalog is served as loaded.
        local = None if "://" in catalog else Path(catalog)
        catalog_path, version = resolve_catalog(local) if local is not None else (catalog, None)
        loaded = load_agent(agent, catalog_path, backend=backend, retriever=retriever)
    except (*USER_ERRORS, KeyError) as error:  # KeyError: a latest.json without version/path
        fail(error)
    app = create_app(
        loaded,
        batch_window_s=batch_window_ms / 1000,
        max_batch=max_batch,
        max_body_bytes=max_body_bytes,
        follow=local if local is not None and local.is_dir() and follow_interval_s > 0 else None,
        follow_interval_s=follow_interval_s,
        catalog_version=version,
        agent_dir=agent,
    )
    uvicorn.run(
        app, host=host, port=port, timeout_graceful_shutdown=graceful_timeout_s, access_log=access_log
    )


def _sft_option(name: str, flag: str) -> typer.models.OptionInfo:
    """A CLI option whose default and help are the `SFTParams` field's own."""
    from diffagent.agent.sft import SFTParams
    from diffagent.commands.options import field_option

    return field_option(SFTParams, name, flag)


def sft(
    data: str = typer.Option(..., help="DABench folder or URL (catalog.parquet, splits/sft.parquet)."),
    base_model: str = typer.Option(
        ...,
        help="smollm2-135m-instruct (the packaged GGUF), a .gguf file, a model folder or a Hugging Face id.",
    ),
    out: Path = typer.Option(..., help="Agent folder to write."),
    max_steps: int = _sft_option("max_steps", "--max-steps"),
    epochs: float = _sft_option("epochs", "--epochs"),
    learning_rate: float = _sft_option("learning_rate", "--learning-rate"),
    batch_size: int = _sft_option("batch_size", "--batch-size"),
    full: bool = typer.Option(False, help="Full fine-tuning instead of a LoRA adapter (as sft.full)."),
    max_minutes: float = _sft_option("max_minutes", "--max-minutes"),
    max_prompt_tokens: int = _sft_option("max_prompt_tokens", "--max-prompt-tokens"),
    group_by_length: bool = _sft_option("group_by_length", "--group-by-length/--no-group-by-length"),
    checkpoint_steps: int = _sft_option("checkpoint_steps", "--checkpoint-steps"),
    resume: bool = typer.Option(False, help="Continue from the last checkpoint in OUT/checkpoints."),
) -> None:
    """SFT (stage 1 of SFTA): trl SFTTrainer, loss on the answer only."""
    from diffagent.agent.sft import SFTParams, train_sft

    if max_minutes is not None and max_minutes <= 0:
        fail(f"--max-minutes must be more than 0, got {max_minutes}")
    if checkpoint_steps < 1:
        fail(f"--checkpoint-steps must be at least 1, got {checkpoint_steps}")
    params = SFTParams(
        max_steps=max_steps,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_minutes=max_minutes,
        max_prompt_tokens=max_prompt_tokens,
        group_by_length=group_by_length,
        checkpoint_steps=checkpoint_steps,
    )
    try:
        written = train_sft(data, base_model, out, full=full, params=params, resume=resume)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(json.dumps(json.loads((written / "manifest.json").read_text()), indent=2))


def calibrate(
    agent: Path = typer.Option(..., help="Agent folder (from `train sft`) whose manifest is updated."),
    data: str = typer.Option(..., help="DABench folder: its rrhf split is measured."),
    retriever: str = typer.Option(None, help="Trained retriever folder (default: RUN/retriever)."),
    max_prompts: int = typer.Option(None, "--max-prompts", help="Measure on the first N rrhf prompts."),
) -> None:
    """Tune the hybrid on rrhf and record the best-measured selector as the agent's default."""
    from diffagent.agent.calibrate import calibrate as run_calibration

    try:
        record = run_calibration(agent, data, retriever=retriever, max_prompts=max_prompts)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(json.dumps(record, indent=2))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.command("select")(select)
    app.command("calibrate")(calibrate)
    app.command("serve")(serve)
    train_app.command("sft")(sft)
