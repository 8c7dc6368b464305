"""The wizard: ask, plan through the same planner as ``rollback plan``, show, then run or save.

Every question has a flag (``WizardFlags``); a question whose flag is set is not asked, and
``yes`` answers the rest with the recommended choice. The flow talks to a ``Prompter``, so
tests drive it with scripted answers below the UI. Nothing changes before "Run it now".
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from rollback.errors import UsageError
from rollback.ui.wizard.prompts import Option, Prompter, WizardFlags

SEARCH_DEPTH = 20_000  # commits a wizard search looks through when the listed ones miss

if TYPE_CHECKING:
    from rich.console import Console

    from rollback.data.project import Project
    from rollback.data.timeline import Timeline
    from rollback.git.repo import GitRepo
    from rollback.plan import Plan
    from rollback.run.journal import Journal
    from rollback.ui.wizard.target import Selection


@dataclass(frozen=True)
class Outcome:
    """How the wizard ended: "ran" (journal set), "stopped" at a conflict, or "saved"."""

    action: str
    plan: Plan
    journal: Journal | None = None
    saved: tuple[Path, ...] = ()


def run_wizard(
    repo: GitRepo,
    prompter: Prompter,
    flags: WizardFlags,
    out: Console,
    *,
    now: datetime | None = None,
    plan_id: str | None = None,
    limit: int = 60,
) -> Outcome:
    """Walk through steps a-f; raise ``prompts.Cancelled`` when the user leaves."""
    from rollback.code.planner import require_branch
    from rollback.data.project import load_project
    from rollback.git.history import read_history
    from rollback.ui.wizard.context import context_panel, load_data_side
    from rollback.ui.wizard.data import choose_data
    from rollback.ui.wizard.target import Selection, choose_target

    if flags.yes and not (flags.to or flags.commits):
        raise UsageError("--yes needs a target: --to REF or --commits A,B")
    project = load_project(repo.root)
    require_branch(repo)
    rules = project.rules
    history = read_history(repo, rules, limit=limit)
    side = load_data_side(project)
    from rollback.run.timeline import gather

    timeline = gather(repo, project, snapshots=side.snapshots, history=history, now=now)
    out.print(context_panel(repo, history, side, timeline))  # a
    _warn_if_busy(repo, out)
    if flags.commits:
        selection = Selection(commits=flags.commits, label="the given commits")
    elif flags.to:
        selection = Selection(to=flags.to, label=flags.to)
    else:
        # read once, however many searches miss the listed rows
        deeper = cache(partial(read_history, repo, rules, limit=SEARCH_DEPTH))
        selection = choose_target(prompter, history, side, out, deeper)  # b
    seen: set[str] = set()  # parts of the plan shown on the way: not printed twice at the end
    plan = _plan_code(  # c, e
        repo, prompter, flags, selection, out, project=project, now=now, plan_id=plan_id, seen=seen
    )
    plan = choose_data(  # d
        repo,
        plan,
        side,
        prompter,
        flags,
        out,
        project=project,
        preferred=selection.snapshot,
        seen=seen,
    )
    return _finish(repo, plan, prompter, flags, out, provider=side.name, seen=frozenset(seen))


def _warn_if_busy(repo: GitRepo, out: Console) -> None:
    """Say now, not after every question, that running would be refused (saving still works)."""
    from rollback.errors import RefusedError
    from rollback.run.preflight import check_git_state

    try:
        check_git_state(repo)
    except RefusedError as exc:
        out.print(f"Note: {exc.message}", style="yellow", markup=False, soft_wrap=True)
        out.print(
            f"  running will be refused until then ({exc.hint}); you can still plan and save "
            "the runbook",
            markup=False,
            soft_wrap=True,
        )


def _plan_code(
    repo: GitRepo,
    prompter: Prompter,
    flags: WizardFlags,
    selection: Selection,
    out: Console,
    *,
    project: Project,
    now: datetime | None,
    plan_id: str | None,
    seen: set[str],
) -> Plan:
    """Strategy (c) and push (e), then the code plan from the shared planner."""
    from rollback.code.planner import Target, make_plan, undone_history
    from rollback.code.strategies import choices
    from rollback.ui.wizard.target import describe_undone, pick_commits, strategy_options

    commits = selection.commits
    strategy = flags.strategy
    if commits:
        strategy = "revert-selected"
    elif strategy is None or strategy == "revert-selected":
        head = str(repo.head())
        branch = str(repo.branch())
        sha = repo.rev_parse(str(selection.to))
        if sha is None:
            raise UsageError(f"unknown revision {selection.to!r}", hint="see: rollback log")
        undone = undone_history(
            repo, project.rules, Target(sha, str(selection.to)), head, branch
        ).commits
        if strategy is None:
            found = choices(undone, has_remote=repo.has_remotes())
            if flags.yes:
                strategy = next(c.strategy for c in found if c.allowed)
            else:
                describe_undone(undone, out)
                seen.add("commits")
                options = strategy_options(found, min(out.width, 120))
                strategy = prompter.select("Which strategy?", options)
        if strategy == "revert-selected":
            commits = pick_commits(prompter, undone, min(out.width, 120))
            if not commits:
                raise UsageError("revert-selected: no commit was picked")
    push = flags.push
    if push is None:
        push = False
        if repo.has_remotes() and not flags.yes:
            force = " (force with lease: history is rewritten)" if strategy == "park" else ""
            push = prompter.confirm(f"Push the result when done{force}?", default=False)
    stop = flags.stop_at_conflict

    def build(stop_at_conflict: bool) -> Plan:
        return make_plan(
            repo,
            strategy=str(strategy),
            to=None if commits else selection.to,
            commits=commits,
            push=bool(push),
            stop_at_conflict=stop_at_conflict,
            project=project,
            now=now,
            plan_id=plan_id,
        )

    if strategy != "revert-selected":
        return build(False)
    # predict first (stop_at_conflict=True never refuses), then ask how to handle a conflict
    probe = build(True)
    if probe.has_conflicts and not stop:
        for sha, files in probe.conflicts.items():
            out.print(f"Predicted conflict: reverting {sha[:10]} conflicts in {', '.join(files)}")
        if flags.yes:
            raise UsageError(
                "the selected reverts would conflict; nothing was changed",
                hint="pass --stop-at-conflict to revert up to it, or use --strategy restore",
            )
        stop = prompter.confirm(
            "Revert up to the conflict, then stop for you to resolve it?", default=False
        )
        if not stop:
            from rollback.ui.wizard.prompts import Cancelled

            raise Cancelled()
    elif not probe.has_conflicts:
        out.print("Predicted conflicts: none")
    return build(stop)


def save_runbook(plan: Plan, path: Path, repo: GitRepo | None = None) -> tuple[Path, Path]:
    """Write the Markdown runbook to ``path`` and the plan JSON next to it (for apply)."""
    from rollback.ui.runbook import plan_markdown

    timeline = runbook_timeline(repo, plan) if repo is not None else None
    json_path = (
        path.with_suffix(".json") if path.suffix != ".json" else path.with_suffix(".plan.json")
    )
    try:
        path.write_text(plan_markdown(plan, timeline), encoding="utf-8")
        json_path.write_text(plan.to_json(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the runbook ({exc.strerror})") from exc
    return path, json_path


def runbook_timeline(repo: GitRepo, plan: Plan) -> Timeline:
    """The timeline a runbook shows: from a little before the target, fits against it."""
    from rollback.data.project import load_project
    from rollback.run.timeline import gather

    limit = len(plan.commits) + 10 if plan.strategy != "revert-selected" else 30
    target = plan.target if plan.strategy != "revert-selected" else None
    return gather(repo, load_project(repo.root), limit=limit, target=target)


def _finish(
    repo: GitRepo,
    plan: Plan,
    prompter: Prompter,
    flags: WizardFlags,
    out: Console,
    *,
    provider: str | None,
    seen: frozenset[str] = frozenset(),
) -> Outcome:
    """Show the whole plan (f), then run it, save the runbook, or cancel."""
    from rollback.ui.lines import show
    from rollback.ui.render import plan_lines

    out.print()
    show(out, plan_lines(plan, shown=seen))
    saved: tuple[Path, ...] = ()
    if flags.save_runbook is not None:
        saved = save_runbook(plan, flags.save_runbook, repo)
        out.print(
            f"Runbook saved to {saved[0]} (plan for rollback apply: {saved[1]})",
            markup=False,
            soft_wrap=True,
        )
    if not flags.yes:
        options = [Option("Run it now", "run")]
        if not saved:
            options.append(Option("Save the runbook (Markdown and plan JSON) and stop", "save"))
        options.append(Option("Cancel" if not saved else "Stop here", "cancel"))
        action = prompter.select("What now?", options)
        if action == "cancel":
            if saved:
                return Outcome("saved", plan, saved=saved)
            from rollback.ui.wizard.prompts import Cancelled

            raise Cancelled()
        if action == "save":
            name = prompter.text("Save the runbook to:", default=f"rollback-{plan.id}.md")
            saved = save_runbook(plan, Path(name).expanduser(), repo)
            from rollback.ui.lines import command, prose

            show(
                out,
                [
                    prose(f"Runbook saved to {saved[0]}; run it later with:"),
                    command(f"rollback apply {shlex.quote(str(saved[1]))}", 2),
                ],
            )
            return Outcome("saved", plan, saved=saved)
    from rollback.run.execute import apply_plan
    from rollback.ui.execview import ExecView, summary

    view = ExecView(out)
    try:
        journal = apply_plan(repo, plan, view)
    finally:
        view.close()
    summary(plan, journal, out, provider=provider)
    return Outcome("stopped" if journal.status == "stopped" else "ran", plan, journal, saved)
