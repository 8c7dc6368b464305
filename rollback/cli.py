"""Command line: parse, delegate, render, map errors to exit codes.

Commands import their heavy modules (GitPython, questionary, the snapshot providers) inside
the command function, so ``rollback --version`` and ``--help`` do not pay for them.
"""

from __future__ import annotations

import sys

import typer

from rollback import __version__
from rollback.errors import ExitCode, RollbackError

app = typer.Typer(
    name="rollback",
    help="Roll code (git) and data (snapshots) back together, safely.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


class State:
    registered = False


def _version(value: bool) -> None:
    if value:
        print(f"rollback {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    """Roll code (git) and data (snapshots) back together, safely."""
    # --debug is read from argv by run(), so that errors while parsing honour it too
    del debug
    if ctx.invoked_subcommand is None:
        # plain `rollback` in a repository at a terminal is the wizard; elsewhere, the help
        if _in_repository() and sys.stdin.isatty() and sys.stdout.isatty():
            from rollback.ui.commands.wizard import start_wizard
            from rollback.ui.wizard.prompts import WizardFlags

            start_wizard(None, WizardFlags())
            return
        typer.echo(ctx.get_help())


def _in_repository() -> bool:
    """Is the current folder inside a git work tree? (no git process, no GitPython)"""
    from pathlib import Path

    here = Path.cwd()
    return any((folder / ".git").exists() for folder in (here, *here.parents))


def _register() -> None:
    """Attach the command modules. Each module imports only typer at import time."""
    if State.registered:
        return
    from rollback.ui.commands import register

    register(app)
    State.registered = True


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rollback`` console script."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # fast path: no command modules, no GitPython
        print(f"rollback {__version__}")
        sys.exit(0)
    sys.exit(run(args))


def _click_exceptions() -> tuple[type[Exception], type[Exception], type[Exception]]:
    """(Abort, Exit, ClickException) as typer raises them.

    typer is pinned below 0.20, which raises click's own classes; 0.20+ vendors click as
    ``typer._click`` with classes that are not click's (catching click's there turned every
    usage error into "unexpected error", exit 4: tests/test_cli_click_errors.py).
    """
    import click

    return click.exceptions.Abort, click.exceptions.Exit, click.exceptions.ClickException


def run(args: list[str]) -> int:
    """Run the CLI with ``args``; return the exit code instead of exiting."""
    abort, exit_, click_exception = _click_exceptions()
    _register()
    debug = "--debug" in args
    try:
        result = app(args=args, prog_name="rollback", standalone_mode=False)
    except RollbackError as exc:
        if debug:
            raise
        _print_error(str(exc), exc.hint)
        return int(exc.exit_code)
    except (abort, KeyboardInterrupt):
        _print_error(
            "interrupted",
            "if a rollback was running, `rollback status` shows where it stopped; "
            "then `rollback resume` or `rollback abort`",
        )
        return int(ExitCode.INTERRUPTED)
    except exit_ as exc:
        return int(getattr(exc, "exit_code", 0))
    except click_exception as exc:
        # usage errors: a one-line message plus the usage line
        _print_error(exc.format_message())  # type: ignore[attr-defined]
        return int(ExitCode.USAGE)
    except Exception as exc:  # a bug: say so, keep the traceback in a log file
        if debug:
            raise
        log = _write_crash_log(exc)
        _print_error(
            f"unexpected error: {type(exc).__name__}: {exc}",
            f"this is a bug; please report it with the log at {log} (or rerun with --debug)",
        )
        return int(ExitCode.BUG)
    return int(result or 0)


def _print_error(message: str, hint: str | None = None) -> None:
    from rollback.ui.render import error_console

    console = error_console()
    console.print(f"rollback: {message}", style="bold red", markup=False, highlight=False)
    if hint:
        console.print(f"  {hint}", markup=False, highlight=False)


def _write_crash_log(exc: BaseException) -> str:
    import platform
    import tempfile
    import traceback

    fd, path = tempfile.mkstemp(prefix="rollback-crash-", suffix=".log")
    with open(fd, "w") as fh:
        fh.write(f"rollback {__version__}\npython {platform.python_version()}\n")
        fh.write(f"platform {platform.platform()}\nargv {sys.argv!r}\n\n")
        fh.write("".join(traceback.format_exception(exc)))
    return path
