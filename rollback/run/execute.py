"""Run a Plan: preflight, safety ref, steps, journal after each step.

A git failure mid-way is cleaned up here: the branch, index and work tree go back to exactly
the state before the plan (``putback.restore_before``), and the error says what happened.
"""

from __future__ import annotations

import os
import signal

from rollback.errors import OperationError, RollbackError, UsageError
from rollback.git.repo import GitRepo
from rollback.plan import Plan, Step
from rollback.run import journal as journals
from rollback.run.context import Handler, Reporter, RunContext, SilentReporter
from rollback.run.journal import Journal
from rollback.run.preflight import preflight


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
    from rollback.run.putback import restore_before

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
    from rollback.run import code_steps

    handlers: dict[str, Handler] = dict(code_steps.HANDLERS)
    if any(s.kind not in handlers for s in plan.steps):
        from rollback.run import data_steps  # data steps land with the pairing work

        handlers.update(data_steps.HANDLERS)
    missing = sorted({s.kind for s in plan.steps if s.kind not in handlers})
    if missing:
        raise UsageError(f"this version of rollback cannot run steps of kind {', '.join(missing)}")
    return handlers
