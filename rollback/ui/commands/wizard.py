"""The wizard and the demo: ``rollback wizard`` (also plain ``rollback``) and ``rollback demo``.

questionary and GitPython are imported inside the functions: ``rollback --help`` must not
pay for them.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rollback.errors import UsageError
from rollback.ui.commands import examples

if TYPE_CHECKING:
    from rollback.ui.wizard.flow import Outcome
    from rollback.ui.wizard.prompts import Option, WizardFlags


class NoPrompts:
    """The prompter of ``--yes``: a question without a flag is a usage error, never a hang."""

    def _refuse(self, message: str) -> Any:
        raise UsageError(
            f"--yes: no answer for {message!r}",
            hint="pass the flag for it (see rollback wizard --help) or drop --yes",
        )

    def select(self, message: str, options: Sequence[Option], *, search: bool = False) -> Any:
        return self._refuse(message)

    def checkbox(self, message: str, options: Sequence[Option]) -> list[Any]:
        return list(self._refuse(message))

    def confirm(self, message: str, *, default: bool) -> bool:
        return bool(self._refuse(message))

    def text(self, message: str, *, default: str = "") -> str:
        return str(self._refuse(message))


def is_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def start_wizard(repo_path: Path | None, flags: WizardFlags) -> Outcome:
    """Run the wizard in ``repo_path``; Esc/cancel exits 0, Ctrl-C 130, nothing changed."""
    from rollback.git.repo import GitRepo
    from rollback.ui.render import console, error_console
    from rollback.ui.wizard.flow import run_wizard
    from rollback.ui.wizard.prompts import CANCEL_MESSAGE, Cancelled, Prompter

    if not flags.yes and not is_terminal():
        raise UsageError(
            "the wizard needs a terminal to ask its questions (no TTY here)",
            hint="plan without questions: rollback plan --to REF --strategy S "
            "(or rollback wizard --yes with flags)",
        )
    repo = GitRepo.open(repo_path)
    prompter: Prompter
    if flags.yes:
        prompter = NoPrompts()
    else:
        from rollback.ui.wizard.prompts import QuestionaryPrompter

        prompter = QuestionaryPrompter()
    try:
        return run_wizard(repo, prompter, flags, console())
    except Cancelled as exc:
        error_console().print(CANCEL_MESSAGE, markup=False)
        raise typer.Exit(exc.exit_code) from None


def wizard(
    to: str | None = typer.Option(None, "--to", help="Roll back to this commit, tag or branch."),
    strategy: str | None = typer.Option(
        None, "--strategy", "-s", help="revert | restore | revert-selected | park | reset"
    ),
    commits: str | None = typer.Option(
        None, "--commits", help="revert-selected: the commits to revert, comma-separated."
    ),
    snapshot: str | None = typer.Option(
        None, "--snapshot", help="Pair with a data snapshot: an ID, auto, or none."
    ),
    data: str | None = typer.Option(None, "--data", help="restore | downgrade | none"),
    no_safety_snapshot: bool = typer.Option(
        False, "--no-safety-snapshot", help="Do not snapshot the current data before restoring."
    ),
    push: bool | None = typer.Option(
        None, "--push/--no-push", help="Push the result when done (default: ask; --yes: no)."
    ),
    stop_at_conflict: bool = typer.Option(
        False, "--stop-at-conflict", help="revert-selected: revert up to a conflict, then stop."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Ask nothing: take the flags, else the recommended choice."
    ),
    save_runbook: Path | None = typer.Option(
        None, "--save-runbook", help="Also write the Markdown runbook (and plan JSON) here."
    ),
    repo_path: Path | None = typer.Option(
        None, "--repo", "-C", help="The repository (default: the current folder)."
    ),
) -> None:
    """Walk through a rollback step by step: target, strategy, data, safety, then run."""
    from rollback.ui.wizard.prompts import WizardFlags

    chosen = tuple(c.strip() for c in commits.split(",") if c.strip()) if commits else ()
    flags = WizardFlags(
        to=to,
        strategy=strategy,
        commits=chosen,
        snapshot=snapshot,
        data=data,
        safety_snapshot=False if no_safety_snapshot else None,
        push=push,
        stop_at_conflict=stop_at_conflict,
        yes=yes,
        save_runbook=save_runbook,
    )
    start_wizard(repo_path, flags)


def demo(
    path: Path | None = typer.Option(
        None, "--path", help="Build the sandbox here (a new folder; default: a temporary one)."
    ),
    no_wizard: bool = typer.Option(
        False, "--no-wizard", help="Only build the sandbox and say where it is."
    ),
) -> None:
    """Build a sandbox shop with a bad release on top, then start the wizard in it."""
    import time

    from rollback.ui.demo import build_demo, launcher, what_to_look_at
    from rollback.ui.render import console
    from rollback.ui.wizard.prompts import WizardFlags

    out = console()
    root = path or Path(tempfile.mkdtemp(prefix="rollback-demo-"))
    started = time.monotonic()
    built = build_demo(root.resolve())
    out.print(
        f"Demo shop built in {time.monotonic() - started:.1f} s at {built.path}: releases "
        f"v1.0-v1.2 with checkpoints, and the bad release {built.bad_release} on top "
        "(a schema migration that broke checkout).",
        markup=False,
    )
    if no_wizard or not is_terminal():
        out.print(f"Try it: cd {built.path} && {launcher()}", markup=False, soft_wrap=True)
        return
    out.print(
        f"Roll back {built.bad_release} together with its data: choose release v1.2.",
        markup=False,
    )
    outcome = start_wizard(built.path, WizardFlags())
    if outcome.journal is not None:
        from rollback.ui.lines import show

        show(out, what_to_look_at(built.path))


EXAMPLES = {
    "wizard": examples(
        "rollback",
        "rollback wizard --to v1.2 --snapshot auto",
        "rollback wizard --to v1.2 --yes --save-runbook rollback.md",
    ),
    "demo": examples(
        "rollback demo",
        "rollback demo --path /tmp/shop --no-wizard",
    ),
}


def register(app: typer.Typer) -> None:
    app.command(epilog=EXAMPLES["wizard"])(wizard)
    app.command(epilog=EXAMPLES["demo"])(demo)
