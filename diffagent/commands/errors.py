"""One-line CLI errors: every user error ends as `error: <what, naming the bad value>` and exit 2.

`OneLineErrorGroup` is the top-level command class: usage errors (a bad option value, a missing
argument) and user errors raised by a command (ValueError, pydantic's ValidationError, a missing
file, a missing optional extra) print one line instead of a usage panel, a pydantic dump or a
traceback. DIFFAGENT_DEBUG=1 re-raises them, for a traceback when one is wanted.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

try:  # typer 0.2x vendors click as `typer._click`: its exceptions are not click's own
    from typer._click.exceptions import ClickException, NoArgsIsHelpError
except ImportError:  # older typer runs on click itself
    from click.exceptions import ClickException, NoArgsIsHelpError

USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, ImportError)
MAX_CHARS = 400


def one_line(error: BaseException | str) -> str:
    """The error as one line: pydantic errors as `field: message (got value)` joined by "; "."""
    if isinstance(error, ValidationError):
        parts = []
        for item in error.errors():
            where = ".".join(str(part) for part in item["loc"]) or "value"
            parts.append(f"{where}: {item['msg']} (got {item.get('input')!r})")
        text = f"{error.title}: " + "; ".join(parts)
    elif isinstance(error, ClickException):
        text = error.format_message()
    else:
        text = str(error) or type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 3] + "..."


def given_value(error: BaseException, argv: list[str]) -> str | None:
    """The text the user gave for the option a BadParameter is about (`--opt V` or `--opt=V`),
    since the conversion errors of typer do not quote it."""
    param = getattr(error, "param", None)
    for name in getattr(param, "opts", None) or []:
        for index, arg in enumerate(argv):
            if arg == name and index + 1 < len(argv):
                return argv[index + 1]
            if arg.startswith(f"{name}="):
                return arg.split("=", 1)[1]
    return None


def fail(message: BaseException | str) -> NoReturn:
    """Print `error: <message>` on stderr and exit 2."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(code=2)


class OneLineErrorGroup(TyperGroup):
    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode or os.environ.get("DIFFAGENT_DEBUG"):
            return super().main(*args, standalone_mode=standalone_mode, **kwargs)
        argv = [str(a) for a in (kwargs.get("args") or (args[0] if args else None) or sys.argv[1:])]
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as error:  # `diffagent` alone: the help text
            error.show()
            sys.exit(error.exit_code)
        except ClickException as error:
            value = given_value(error, argv)
            shown = one_line(error)
            if value is not None and repr(value) not in shown and value not in shown:
                shown += f" (got {value!r})"
            typer.echo(f"error: {shown}", err=True)
            sys.exit(2)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        except USER_ERRORS as error:
            typer.echo(f"error: {one_line(error)}", err=True)
            sys.exit(2)
        sys.exit(result if isinstance(result, int) else 0)
