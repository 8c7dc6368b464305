"""Code commands: log, plan, apply, status, resume, abort, undo.

Each command parses its options, calls the planner/executor, and renders. Heavy imports
(GitPython through rollback.git.repo) happen inside the functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from rollback.errors import UsageError
from rollback.ui.commands import examples
from rollback.ui.render import console

if TYPE_CHECKING:
    from rollback.data.project import Project
    from rollback.git.repo import GitRepo
    from rollback.plan import Plan

STRATEGY_HELP = "revert | restore | revert-selected | park | reset"
FORMATS = ("text", "markdown", "json")

RepoOpt = typer.Option(None, "--repo", "-C", help="The repository (default: the current folder).")


def _open(repo: Path | None) -> GitRepo:
    from rollback.git.repo import GitRepo

    return GitRepo.open(repo)


def log(
    limit: int = typer.Option(
        30, "--limit", "-n", show_default=False, help="Show at most N commits (default: 30)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    repo_path: Path | None = RepoOpt,
) -> None:
    """Show the first-parent history of the current branch: what could be rolled back."""
    from rollback.data.project import load_project
    from rollback.git.history import read_history
    from rollback.ui.render import console, history_json, history_table

    if limit < 1:
        raise UsageError("--limit must be at least 1")
    repo = _open(repo_path)
    project = load_project(repo.root)
    history = read_history(repo, project.rules, limit=limit)
    marks = _checkpoints(project)
    if as_json:
        print(json.dumps(history_json(history, marks), indent=2))
        return
    out = console()
    where = history.branch or "detached HEAD"
    upstream = f" (upstream {history.upstream})" if history.upstream else ""
    presets = f"; migrations: {', '.join(history.presets)}" if history.presets else ""
    out.print(f"{where}{upstream}{presets}", style="bold", markup=False)
    out.print(history_table(history, out.width, marks))
    if not history.complete:
        out.print(f"... older commits not shown (--limit {limit})", style="dim", markup=False)


def _checkpoints(project: Project) -> dict[str, list[str]]:
    """Commit -> the checkpoints that recorded it (none when the snapshots cannot be listed:
    the history is what ``log`` is for)."""
    from rollback.data.timeline import snapshot_kind
    from rollback.errors import RollbackError
    from rollback.run.timeline import deploy_marks
    from rollback.ui.wizard.context import provider_configured

    if not provider_configured(project.config) and not (project.root / ".rollback").is_dir():
        return {}
    try:
        snapshots = [*project.provider().list(), *deploy_marks(project)]
    except RollbackError:
        return {}
    found: dict[str, list[str]] = {}
    for s in snapshots:
        if s.commit and snapshot_kind(s) in ("checkpoint", "mark"):
            found.setdefault(s.commit, []).append(s.id)
    return found


def plan(
    to: str | None = typer.Option(None, "--to", help="Roll back to this commit, tag or branch."),
    before: str | None = typer.Option(
        None, "--before", help="Roll back to the newest commit at or before this time."
    ),
    strategy: str = typer.Option("revert", "--strategy", "-s", help=STRATEGY_HELP),
    commits: str | None = typer.Option(
        None, "--commits", help="revert-selected: the commits to revert, comma-separated."
    ),
    push: bool = typer.Option(False, "--push", help="Push the result (park: force with lease)."),
    stop_at_conflict: bool = typer.Option(
        False, "--stop-at-conflict", help="revert-selected: revert up to a conflict, then stop."
    ),
    snapshot: str | None = typer.Option(
        None, "--snapshot", help="Pair with a data snapshot: an ID, auto, or none."
    ),
    data: str | None = typer.Option(
        None, "--data", help="Data step: restore | downgrade | none (default: recommended)."
    ),
    no_safety_snapshot: bool = typer.Option(
        False, "--no-safety-snapshot", help="Do not snapshot the current data before restoring."
    ),
    keep_writes: bool = typer.Option(
        False,
        "--keep-writes",
        help="After the replay to the bad deploy's mark, keep later writes to untouched tables.",
    ),
    no_replay: bool = typer.Option(
        False, "--no-replay", help="Plain restore: do not replay the log to a deploy mark."
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="text | markdown | json (default: text; json with -o)"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the plan to FILE."),
    apply: bool = typer.Option(False, "--apply", help="Run the plan right away."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before running."),
    repo_path: Path | None = RepoOpt,
) -> None:
    """Plan a rollback and show exactly what would happen (nothing changes without --apply)."""
    from rollback.code.planner import make_plan

    fmt = fmt or ("json" if output is not None else "text")
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: choose text, markdown or json")
    repo = _open(repo_path)
    chosen = [c.strip() for c in commits.split(",") if c.strip()] if commits else []
    if to is None and before is None and not chosen and snapshot not in (None, "auto", "none"):
        from rollback.data.pairing.attach import target_for_snapshot

        to = target_for_snapshot(repo, snapshot)  # snapshot first: the code that fits it
    the_plan = make_plan(
        repo,
        strategy=strategy,
        to=to,
        before=before,
        commits=chosen,
        push=push,
        stop_at_conflict=stop_at_conflict,
    )
    if keep_writes and no_replay:
        raise UsageError("--keep-writes needs the replay to a deploy mark: drop --no-replay")
    if keep_writes and snapshot is None and data is None:
        snapshot = "auto"  # keeping writes is about a restore: pair the data
    if snapshot is not None or data is not None:
        from rollback.data.pairing.attach import attach_data

        the_plan = attach_data(
            repo,
            the_plan,
            snapshot=snapshot,
            data=data,
            safety_snapshot=not no_safety_snapshot,
            keep_writes=keep_writes,
            replay=not no_replay,
        )
    text = _format(the_plan, fmt, repo)
    if output is not None:
        _write(output, text)
        print(f"plan {the_plan.id} written to {output}", file=sys.stderr)
    elif not apply or fmt != "text":
        sys.stdout.write(text)
    if apply:
        _run(repo, the_plan, yes=yes, show=output is not None or fmt != "text")


def apply(
    plan_file: Path = typer.Argument(..., help="A plan made by rollback plan --format json."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before running."),
    repo_path: Path | None = RepoOpt,
) -> None:
    """Run a saved plan, after showing it and asking once (unless --yes)."""
    from rollback.plan import plan_from_json

    try:
        text = plan_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{plan_file}: cannot read the plan ({exc.strerror})") from exc
    the_plan = plan_from_json(text, source=str(plan_file))
    repo = _plan_repo(repo_path, the_plan)
    _run(repo, the_plan, yes=yes, show=True)


def _plan_repo(repo_path: Path | None, the_plan: Plan) -> GitRepo:
    """The repository to apply in: the current one (or -C), which must be the plan's."""
    from rollback.errors import RefusedError
    from rollback.run.preflight import same_repository

    try:
        repo = _open(repo_path)
    except UsageError as exc:
        if repo_path is not None:
            raise
        raise UsageError(
            f"not inside a git repository; this plan is for {the_plan.repo}",
            hint=f"run it there, or name it: rollback apply PLAN -C {the_plan.repo}",
        ) from exc
    if not same_repository(repo, the_plan):
        raise RefusedError(
            f"this plan is for the repository at {the_plan.repo}, not {repo.root}; "
            "nothing was changed",
            hint=f"run it there, or name it: rollback apply PLAN -C {the_plan.repo}",
        )
    return repo


def _run(repo: GitRepo, the_plan: Plan, *, yes: bool, show: bool) -> None:
    from rollback.run.execute import apply_plan
    from rollback.run.preflight import preflight
    from rollback.run.safety import with_safety_steps
    from rollback.ui.render import plan_text

    the_plan = with_safety_steps(the_plan)  # what is shown is what runs

    if show or not yes:
        # refuse before showing the plan or asking; otherwise apply_plan's own preflight is
        # the only one needed (running both cost 5 extra git processes per apply)
        preflight(repo, the_plan)
    if show:
        sys.stdout.write(plan_text(the_plan))
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("not a terminal: cannot ask for confirmation; pass --yes to run")
        if not typer.confirm(f"Run rollback plan {the_plan.id}?", default=False):
            print("cancelled: nothing was changed", file=sys.stderr)
            raise typer.Exit(0)
    from rollback.ui.execview import ExecView
    from rollback.ui.render import error_console

    view = ExecView(error_console())  # progress on stderr: stdout stays the result
    try:
        journal = apply_plan(repo, the_plan, view)
    finally:
        view.close()
    if journal.status == "stopped":
        print(
            "stopped at the conflict: resolve it, then `git revert --continue` and "
            "`rollback resume` (or `rollback abort`)"
        )
        return
    print(
        f"done: {the_plan.branch} is at {str(journal.after)[:10]}; "
        f"the old head {the_plan.head[:10]} is kept at {the_plan.safety_ref}"
    )
    written = _written_line(journal)
    if written:
        print(written)
    print(f"undo with: rollback undo {the_plan.id}")


def _written_line(journal: Any) -> str | None:
    """'2 written, 1 skipped: <sha> already reverted' from the write-commits results."""
    for i, step in enumerate(journal.plan.steps):
        if step.kind != "write-commits":
            continue
        result = journal.result(i)
        skipped = [str(s) for s in result.get("skipped_empty", [])]
        line = f"{int(result.get('count', 0))} written"
        if skipped:
            shas = ", ".join(s[:10] for s in skipped)
            why = "already reverted" if step.params.get("mode") == "revert-selected" else ""
            line += f", {len(skipped)} skipped: {shas} " + (why or "(its revert is empty)")
        return line
    return None


def _format(the_plan: Plan, fmt: str, repo: GitRepo) -> str:
    if fmt == "json":
        return the_plan.to_json()
    if fmt == "markdown":
        from rollback.ui.runbook import plan_markdown
        from rollback.ui.wizard.flow import runbook_timeline

        return plan_markdown(the_plan, runbook_timeline(repo, the_plan))
    from rollback.ui.render import plan_text

    # at a terminal, prose folds at words to its width; commands stay whole on their lines
    width = console().width if sys.stdout.isatty() else None
    return plan_text(the_plan, width)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from exc


def status(
    show_all: bool = typer.Option(False, "--all", help="List every rollback run."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
    repo_path: Path | None = RepoOpt,
) -> None:
    """Show the rollback in progress (what ran, what remains), or the last one."""
    from rollback.run import journal as journals
    from rollback.ui.render import status_text

    repo = _open(repo_path)
    runs = journals.all_runs(repo.git_dir)
    active = journals.current(repo.git_dir)
    chosen = runs if show_all else [active or runs[-1]] if runs else []
    dead = {j.plan.id: journals.interrupted(j, repo.git_dir) for j in chosen}
    if as_json:
        print(json.dumps([_run_json(j, dead[j.plan.id]) for j in chosen], indent=2))
        return
    if not chosen:
        print("no rollback has run in this repository")
        return
    from dataclasses import replace

    for j in chosen:
        owner = dead[j.plan.id]
        if owner is None:
            sys.stdout.write(status_text(j))
            if j.unfinished:
                print("  not put back: " + "; ".join(j.unfinished))
                print("  next: rollback abort  (puts back what remains, once the cause is fixed)")
            continue
        sys.stdout.write(status_text(replace(j, status="interrupted")))
        who = f"pid {owner.pid} on {owner.host}" if owner.pid else "its process"
        doing = {"aborting": "an abort", "undoing": "an undo"}.get(j.status, "the run")
        print(f"  {doing} was interrupted: {who} is gone")
        print("  next: rollback resume  (or: rollback abort)")


def _run_json(j: Any, dead: Any = None) -> dict[str, Any]:
    return {
        "id": j.plan.id,
        "status": "interrupted" if dead is not None else j.status,
        "strategy": j.plan.strategy,
        "branch": j.plan.branch,
        "before": j.plan.head,
        "after": j.after,
        "steps": j.steps,
        "error": j.error,
        "unfinished": j.unfinished,
    }


def resume(repo_path: Path | None = RepoOpt) -> None:
    """Continue a rollback that was killed, or close one stopped at a resolved conflict."""
    from rollback.run.recovery import resume as do_resume

    journal = do_resume(_open(repo_path))
    print(f"rollback {journal.plan.id}: {journal.status}")
    written = _written_line(journal) if journal.status == "completed" else None
    if written:
        print(written)


def abort(repo_path: Path | None = RepoOpt) -> None:
    """Put everything back exactly as it was before the rollback in progress."""
    from rollback.run.recovery import abort as do_abort

    done = do_abort(_open(repo_path))
    journal = done.journal
    if journal.status == "completed":  # an interrupted undo, put back to the rollback's result
        print(f"the undo of rollback {journal.plan.id} is aborted: {done.report.text()}")
    else:
        print(f"aborted rollback {journal.plan.id}: {done.report.text()}")


def undo(
    plan_id: str | None = typer.Argument(None, help="The run to undo (default: the last one)."),
    apply_now: bool = typer.Option(False, "--apply", help="Run the revert plan if one is needed."),
    code_only: bool = typer.Option(
        False, "--code-only", help="Move the code back only; leave the data as it is now."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before running."),
    repo_path: Path | None = RepoOpt,
) -> None:
    """Undo a completed rollback, code and data (move back if unpushed; else plan a revert)."""
    from rollback.run.recovery import Declined, undo_data_after_plan
    from rollback.run.recovery import undo as do_undo
    from rollback.ui.render import plan_text

    repo = _open(repo_path)
    try:
        result = do_undo(repo, plan_id, code_only=code_only, confirm=None if yes else _ask)
    except Declined as exc:
        print(str(exc), file=sys.stderr)
        raise typer.Exit(0) from exc
    plan_ = result.journal.plan
    if result.moved:
        print(f"undone rollback {plan_.id}: {plan_.branch} is back at {plan_.head[:10]}")
        _print_data_undo(result.data_restored, result.data_safety)
        return
    assert result.plan is not None
    path = result.journal.folder / "undo-plan.json"
    path.write_text(result.plan.to_json(), encoding="utf-8")
    sys.stdout.write(plan_text(result.plan))
    print(
        f"the rollback commits are already pushed: undo is a new revert plan, saved to {path}",
        file=sys.stderr,
    )
    if not apply_now:
        print(f"run it with: rollback apply {path}", file=sys.stderr)
        return
    from rollback.run.recovery import changes_data

    confirmed = yes or (not code_only and changes_data(result.journal))  # asked once above
    _run(repo, result.plan, yes=confirmed, show=False)
    if not code_only:
        _print_data_undo(*undo_data_after_plan(repo, result.journal))


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        raise UsageError(
            "undo also restores the data; not a terminal, so cannot ask",
            hint="pass --yes to undo code and data, or --code-only to leave the data",
        )
    return bool(typer.confirm(question, default=False))


def _print_data_undo(restored: str | None, safety: str | None) -> None:
    if restored is None:
        return
    print(f"data restored from the rollback's safety snapshot {restored}")
    if safety:
        print(f"the data as it was before this undo is kept as snapshot {safety}")


EXAMPLES = {
    "log": examples(
        "rollback log",
        "rollback log -n 100",
        "rollback log --json | jq -r '.commits[] | select(.touches_data) | .sha'",
    ),
    "plan": examples(
        "rollback plan --to v1.4",
        "rollback plan --to v1.4 --strategy restore --snapshot auto",
        "rollback plan --before '2026-11-20 14:00' -o plan.json",
        "rollback plan --to v1.4 -f markdown > runbook.md",
        "rollback plan --commits a1b2c3d,e4f5a6b --strategy revert-selected",
    ),
    "apply": examples(
        "rollback apply plan.json",
        "rollback apply plan.json --yes",
    ),
    "status": examples(
        "rollback status",
        "rollback status --all",
        "rollback status --json",
    ),
    "resume": examples(
        "rollback resume",
    ),
    "abort": examples(
        "rollback abort",
    ),
    "undo": examples(
        "rollback undo",
        "rollback undo 20261202-183118-9f960b --yes",
        "rollback undo --code-only --yes",
        "rollback undo --apply",
    ),
}


def register(app: typer.Typer) -> None:
    for command in (log, plan, apply, status, resume, abort, undo):
        app.command(epilog=EXAMPLES[command.__name__])(command)
