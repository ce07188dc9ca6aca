"""`diffagent` command line. Each command group lives in `diffagent/commands/<group>.py`.

Groups register themselves here so that each can grow without touching the others, and heavy
imports (torch, transformers) stay inside the commands that need them: `diffagent --help` is fast.
"""

from __future__ import annotations

import importlib

import typer

from diffagent.commands.errors import OneLineErrorGroup

# Every error a user can cause ends as one line and exit 2 (`commands/errors.py`).
app = typer.Typer(
    cls=OneLineErrorGroup, no_args_is_help=True, add_completion=False, help=__doc__.splitlines()[0]
)
train_app = typer.Typer(no_args_is_help=True, help="Train agents: SFT, and SFT + RRHF alignment.")
app.add_typer(train_app, name="train")

# Modules under diffagent.commands; a module listed here but absent is skipped, so that a
# partial install (say, without the GPU extras) still offers the rest.
COMMAND_MODULES = (
    "dabench",
    "civitai",
    "tiny",
    "models",
    "agent",
    "chooser",
    "retriever",
    "render",
    "sfta",
    "evaluate",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"diffagent.commands.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"diffagent.commands.{name}":
                continue
            raise
        module.register(app, train_app)


_register_all()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
