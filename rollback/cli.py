"""Command line: parse, delegate, render, map errors to exit codes.

Commands import their heavy modules (GitPython, questionary, the snapshot providers) inside
the command function, so ``rollback --version`` and ``--help`` do not pay for them.

Global flags (``--debug``, ``--quiet``/``-q``) may stand anywhere before ``--``: they are lifted
to the root before parsing, so ``rollback snapshot create -q`` works. With ``--json`` (or
``--format json``) an error is printed as JSON on stdout, with the same exit code.
"""

from __future__ import annotations

import sys

import typer
import typer.core

from rollback import __version__
from rollback.errors import ExitCode, RollbackError

# typer escapes "[" for rich's HTML export whenever rich is installed, even with
# rich_markup_mode=None: --help printed a literal "\[default: 30]" (tests/test_cli_help.py)
typer.core.HAS_RICH = False

HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}  # `git rollback --help` opens a man page
GLOBAL_FLAGS = ("--debug", "--quiet", "-q")

app = typer.Typer(
    name="rollback",
    help="Roll code (git) and data (snapshots) back together, safely.",
    epilog="\b\nExamples:\n  rollback demo\n  rollback log\n"
    "  rollback plan --to v1.4 --snapshot auto\n  rollback timeline\n"
    "  rollback --install-completion   (bash, zsh or fish)",
    no_args_is_help=False,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings=HELP_OPTIONS,
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
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Print only results and errors: no progress, notes or hints."
    ),
) -> None:
    """Roll code (git) and data (snapshots) back together, safely."""
    # --debug is read from argv by run(), so that errors while parsing honour it too
    del debug
    if quiet:
        from rollback.ui.render import set_quiet

        set_quiet(True)
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
    """Entry point of the ``rollback`` and ``git-rollback`` console scripts."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # fast path: no command modules, no GitPython
        print(f"rollback {__version__}")
        sys.exit(0)
    from pathlib import Path

    # run by git as `git rollback ...`: say so in usage lines
    name = "git rollback" if Path(sys.argv[0]).name == "git-rollback" else "rollback"
    sys.exit(run(args, prog_name=name))


def _click_exceptions() -> tuple[type[Exception], type[Exception], type[Exception]]:
    """(Abort, Exit, ClickException) as typer raises them.

    typer is pinned below 0.20, which raises click's own classes; 0.20+ vendors click as
    ``typer._click`` with classes that are not click's (catching click's there turned every
    usage error into "unexpected error", exit 4: tests/test_cli_click_errors.py).
    """
    import click

    return click.exceptions.Abort, click.exceptions.Exit, click.exceptions.ClickException


def lift_global_flags(args: list[str]) -> list[str]:
    """Move ``--debug``/``--quiet``/``-q`` found anywhere before ``--`` to the front."""
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in GLOBAL_FLAGS]
    if not flags:
        return args
    rest = [a for a in args[:end] if a not in GLOBAL_FLAGS]
    return [*dict.fromkeys(flags), *rest, *args[end:]]


def wants_json(args: list[str]) -> bool:
    """Did the command line ask for JSON output (``--json``, ``--format json``)?"""
    end = args.index("--") if "--" in args else len(args)
    head = args[:end]
    if "--json" in head or "--format=json" in head or "-fjson" in head:
        return True
    from itertools import pairwise

    return any(a in ("--format", "-f") and b == "json" for a, b in pairwise(head))


def run(args: list[str], *, prog_name: str = "rollback") -> int:
    """Run the CLI with ``args``; return the exit code instead of exiting."""
    abort, exit_, click_exception = _click_exceptions()
    _register()
    args = lift_global_flags(args)
    debug = "--debug" in args
    as_json = wants_json(args)
    try:
        result = app(args=args, prog_name=prog_name, standalone_mode=False)
    except RollbackError as exc:
        if debug:
            raise
        return _fail(int(exc.exit_code), str(exc), exc.hint, as_json=as_json)
    except (abort, KeyboardInterrupt):
        return _fail(
            int(ExitCode.INTERRUPTED),
            "interrupted",
            "if a rollback was running, `rollback status` shows where it stopped; "
            "then `rollback resume` or `rollback abort`",
            as_json=as_json,
        )
    except exit_ as exc:
        return int(getattr(exc, "exit_code", 0))
    except click_exception as exc:
        # usage errors: a one-line message plus the usage line
        message = exc.format_message()  # type: ignore[attr-defined]
        return _fail(int(ExitCode.USAGE), message, None, as_json=as_json)
    except Exception as exc:  # a bug: say so, keep the traceback in a log file
        if debug:
            raise
        log = _write_crash_log(exc)
        return _fail(
            int(ExitCode.BUG),
            f"unexpected error: {type(exc).__name__}: {exc}",
            f"this is a bug; please report it with the log at {log} (or rerun with --debug)",
            as_json=as_json,
        )
    finally:
        from rollback.ui.render import set_quiet

        set_quiet(False)  # one run, one setting (tests run many in one process)
    return int(result or 0)


def _fail(code: int, message: str, hint: str | None, *, as_json: bool) -> int:
    if as_json:  # scripts read stdout: the error as JSON there, nothing on stderr
        import json

        body = {"error": {"code": code, "message": message, "hint": hint}}
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return code
    _print_error(message, hint)
    return code


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
