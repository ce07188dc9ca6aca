"""`diffagent civitai serve`: a local server speaking Civitai's API (the demo's embedded default)."""

from __future__ import annotations

import time
from pathlib import Path

import typer

civitai_app = typer.Typer(no_args_is_help=True, help="A local Civitai-speaking server.")


@civitai_app.command("serve")
def serve(
    port: int = typer.Option(8787, help="Port on 127.0.0.1."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
    models: Path | None = typer.Option(
        None, help="JSONL(.gz) of /models/{id} answers; default: bundled sample."
    ),
    hash_index: Path | None = typer.Option(None, help="JSONL(.gz) hash index of checkpoints."),
    fault_rate: float = typer.Option(0.0, help="Share of requests answered with an injected fault."),
    fault_seed: int = typer.Option(0, help="Seed of the fault draw."),
    modern_stats: bool = typer.Option(False, help="Serve 2023 ratings as today's thumbs-up counts."),
) -> None:
    """Serve the bundled sample (or given files) in today's API shapes until interrupted.

    The bundled sample comes with its model files (`/api/download/models/{id}`): tiny random
    weights in Civitai's layouts, made once under the tiny-models folder, hashed into the sample."""
    from diffagent.civitai.local_server import CivitaiServer, Faults
    from diffagent.civitai.source import CivitaiSource

    downloads, hub_files = None, None
    if models:
        source = CivitaiSource.from_files(models, hash_index, modern_stats=modern_stats)
    else:
        from diffagent.civitai.downloads import Downloads
        from diffagent.civitai.sample_files import facts_of, write_companion_files, write_sample_files
        from diffagent.tiny import ensure_tiny_models

        tiny_dir = ensure_tiny_models()
        served = write_sample_files(tiny_dir, tiny_dir / "sample-files")
        source = CivitaiSource.sample(facts=facts_of(served), modern_stats=modern_stats)
        downloads = Downloads(served)
        hub_files = write_companion_files(tiny_dir, tiny_dir / "sample-files")
    faults = Faults.mixed(fault_rate, seed=fault_seed) if fault_rate else Faults()
    with CivitaiServer(
        source, faults, host=host, port=port, downloads=downloads, hub_files=hub_files
    ) as server:
        typer.echo(f"Civitai API on {server.url} ({len(source.models)} models)", err=True)
        if hub_files:
            typer.echo(f"companion files as a hub on {server.root} (--hub-url)", err=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    app.add_typer(civitai_app, name="civitai")
