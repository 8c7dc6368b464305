"""Run a Plan: preflight, safety ref, steps, journal after each step.

A git failure mid-way is cleaned up here: the branch, index and work tree go back to exactly
the state before the plan (``recovery.restore_before``), and the error says what happened.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any, Protocol

from rollback import journal as journals
from rollback.errors import OperationError, RefusedError, RollbackError, UsageError
from rollback.journal import Journal
from rollback.plan import Plan, Step
from rollback.repo import GitRepo

Handler = Callable[["RunContext", Step], dict[str, Any]]


class Reporter(Protocol):
    def step_started(self, index: int, step: Step) -> None: ...

    def progress(self, component: str, done: int, total: int | None) -> None:
        """Bytes of the running data step (``snapshots.base.Progress`` signature)."""

    def step_done(self, index: int, step: Step, result: dict[str, Any]) -> None: ...


class SilentReporter:
    def step_started(self, index: int, step: Step) -> None:
        pass

    def progress(self, component: str, done: int, total: int | None) -> None:
        pass

    def step_done(self, index: int, step: Step, result: dict[str, Any]) -> None:
        pass


class RunContext:
    def __init__(
        self, repo: GitRepo, plan: Plan, journal: Journal, reporter: Reporter | None = None
    ) -> None:
        self.repo = repo
        self.plan = plan
        self.journal = journal
        self.progress = (reporter or SilentReporter()).progress  # data steps report bytes here
        self.written: str | None = None  # the last commit written by a write-commits step
        for i in range(len(plan.steps)):
            result = journal.result(i)
            if "written" in result:
                self.written = str(result["written"])

    def resolve(self, sha: str) -> str:
        if sha == "@written":
            if self.written is None:
                raise OperationError("internal: no commits were written before moving the branch")
            return self.written
        return sha


def preflight(repo: GitRepo, plan: Plan) -> None:
    """Refuse, changing nothing, when the repository is not in the state the plan expects."""
    active = journals.current(repo.git_dir)
    if active is not None:
        raise RefusedError(
            f"rollback {active.plan.id} is {active.status}: finish it first",
            hint="see rollback status; then rollback resume or rollback abort",
        )
    if repo.ref(plan.safety_ref) is not None:
        raise RefusedError(
            f"plan {plan.id} was already applied here",
            hint="see rollback status --all; make a new plan to roll back again",
        )
    if str(repo.root) != plan.repo and not os.path.samefile(repo.root, plan.repo):
        raise RefusedError(f"this plan is for the repository at {plan.repo}, not {repo.root}")
    check_git_state(repo)
    branch, head = repo.where()
    if branch is None:
        raise RefusedError(
            "HEAD is detached: rollback moves a branch, and none is checked out",
            hint=f"check out the branch first: git switch {plan.branch}",
        )
    if branch != plan.branch:
        raise RefusedError(
            f"the plan is for branch {plan.branch}, but {branch} is checked out",
            hint=f"git switch {plan.branch}, then apply again",
        )
    if head != plan.head:
        raise RefusedError(
            f"{plan.branch} has moved since the plan was made "
            f"(planned at {plan.head[:10]}, now {str(head)[:10]}); nothing was changed",
            hint="make a new plan: rollback plan ...",
        )
    if plan.has_conflicts and not plan.options.get("stop_at_conflict"):
        raise RefusedError("the plan predicts a conflict and was not made with --stop-at-conflict")


def check_git_state(repo: GitRepo) -> None:
    """Refuse while git is busy or the work tree has uncommitted changes."""
    busy = repo.in_progress()
    if busy is not None:
        raise RefusedError(
            f"a {busy.operation} is in progress; finish or abandon it first",
            hint=busy.finish,
        )
    if repo.index_locked():
        raise RefusedError(
            f"{repo.git_dir / 'index.lock'} exists: another git process is running",
            hint="wait for it; if none is running, a crashed one left it: remove the file",
        )
    dirty = repo.dirty_files()
    if dirty:
        more = f" and {len(dirty) - 3} more" if len(dirty) > 3 else ""
        raise RefusedError(
            f"the work tree has uncommitted changes ({', '.join(dirty[:3])}{more})",
            hint="commit or stash them first: git stash",
        )


def apply_plan(repo: GitRepo, plan: Plan, reporter: Reporter | None = None) -> Journal:
    """Run every step of ``plan``; return the finished journal."""
    preflight(repo, plan)
    step_handlers(plan)  # refuse a plan with steps this version cannot run, before any change
    journal = Journal(plan=plan, folder=journals.journal_root(repo.git_dir) / plan.id)
    journal.save()
    return run_steps(repo, journal, reporter or SilentReporter())


def run_steps(repo: GitRepo, journal: Journal, reporter: Reporter) -> Journal:
    """Run the steps not yet done (a fresh run, or a resumed one)."""
    plan = journal.plan
    ctx = RunContext(repo, plan, journal, reporter)
    handlers = step_handlers(plan)
    fault = os.environ.get("ROLLBACK_FAULT_AFTER_STEP")  # test hook: simulate a killed run
    for index, step in enumerate(plan.steps):
        if journal.done(index):
            continue
        reporter.step_started(index, step)
        journal.mark(index, "started")
        try:
            result = handlers[step.kind](ctx, step)
        except (RollbackError, OSError) as exc:
            _fail(repo, journal, index, step, exc)
            raise AssertionError("unreachable") from exc
        journal.mark(index, "done", result)
        if "written" in result:
            ctx.written = str(result["written"])
        reporter.step_done(index, step, result)
        if result.get("stopped"):
            journal.status = "stopped"
            journal.save()
            return journal
        if fault is not None and int(fault) == index:
            os.kill(os.getpid(), signal.SIGKILL)
    journal.status = "completed"
    journal.after = repo.head()
    journal.finished_at = journals.now_iso()
    journal.save()
    if journal.after:
        repo.update_ref(f"refs/rollback/{plan.id}/after", journal.after, None, "rollback: after")
    return journal


def _fail(repo: GitRepo, journal: Journal, index: int, step: Step, exc: BaseException) -> None:
    from rollback.recovery import restore_before

    reason = str(exc)
    try:
        restore_before(repo, journal)
        plan = journal.plan
        cleanup = f"everything is back as before the plan ({plan.branch} at {plan.head[:10]})"
    except RollbackError as undo_exc:
        cleanup = f"and putting things back failed too: {undo_exc}; see rollback status"
        journal.status = "failed"
        journal.error = f"{reason}; {cleanup}"
        journal.save()
        raise OperationError(f"step {index + 1} ({step.kind}) failed: {reason}; {cleanup}") from exc
    journal.status = "failed"
    journal.error = reason
    journal.finished_at = journals.now_iso()
    journal.save()
    hint = getattr(exc, "hint", None) or "fix the cause, then make and apply a new plan"
    raise OperationError(
        f"step {index + 1} ({step.kind}) failed: {reason}; {cleanup}", hint=hint
    ) from exc


def step_handlers(plan: Plan) -> dict[str, Handler]:
    from rollback import steps_code

    handlers: dict[str, Handler] = dict(steps_code.HANDLERS)
    if any(s.kind not in handlers for s in plan.steps):
        from rollback import steps_data  # data steps land with the pairing work

        handlers.update(steps_data.HANDLERS)
    missing = sorted({s.kind for s in plan.steps if s.kind not in handlers})
    if missing:
        raise UsageError(f"this version of rollback cannot run steps of kind {', '.join(missing)}")
    return handlers
