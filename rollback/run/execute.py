"""Run a Plan: lock ► preflight ► safety ref ► steps, each journaled.

One run at a time per repository (``journal.run_lock``). The executor adds the safety steps
itself (``safety.with_safety_steps``): a plan file cannot remove them. A failure mid-way, of
any kind, is put back here (``putback.put_back``) and the error says exactly what is back and
what is not, checked against the real state; the run never stays ``running`` behind an error.
"""

from __future__ import annotations

from rollback.errors import ExitCode, OperationError, RollbackError, UsageError
from rollback.git.repo import GitRepo
from rollback.plan import Plan, Step
from rollback.run import faults
from rollback.run import journal as journals
from rollback.run.context import Handler, Reporter, RunContext, SilentReporter
from rollback.run.journal import Journal
from rollback.run.preflight import preflight
from rollback.run.safety import with_safety_steps


def apply_plan(repo: GitRepo, plan: Plan, reporter: Reporter | None = None) -> Journal:
    """Run every step of ``plan``; return the finished journal."""
    plan = with_safety_steps(plan)
    step_handlers(plan)  # refuse a plan with steps this version cannot run, before any change
    with journals.run_lock(repo.git_dir):
        preflight(repo, plan)
        journal = Journal(plan=plan, folder=journals.journal_root(repo.git_dir) / plan.id)
        journal.save()
        return run_steps(repo, journal, reporter or SilentReporter())


def run_steps(repo: GitRepo, journal: Journal, reporter: Reporter) -> Journal:
    """Run the steps not yet done (a fresh run, or a resumed one). The caller holds the lock."""
    plan = journal.plan
    ctx = RunContext(repo, plan, journal, reporter)
    handlers = step_handlers(plan)
    for index, step in enumerate(plan.steps):
        if journal.done(index):
            continue
        reporter.step_started(index, step)
        ctx.index = index
        if not journal.started(index) or journal.moving is None:
            journal.mark(index, "started")
        try:
            result = handlers[step.kind](ctx, step)
        except Exception as exc:  # any failure: put back, say what is back, never stay running
            _fail(repo, journal, index, step, exc)
            raise AssertionError("unreachable") from exc
        journal.moving = None
        journal.mark(index, "done", result)
        if "written" in result:
            ctx.written = str(result["written"])
        reporter.step_done(index, step, result)
        if result.get("stopped"):
            journal.status = "stopped"
            journal.save()
            return journal
        faults.point(f"after-step-{index}")
    journal.status = "completed"
    journal.after = repo.head()
    journal.finished_at = journals.now_iso()
    journal.save()
    if journal.after:
        repo.update_ref(f"refs/rollback/{plan.id}/after", journal.after, None, "rollback: after")
    return journal


def _fail(repo: GitRepo, journal: Journal, index: int, step: Step, exc: Exception) -> None:
    """Put the run back; raise an error that names the cause first, then what is back."""
    from rollback.run.putback import put_back

    reason = str(exc) if isinstance(exc, RollbackError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OSError) and exc.filename:
        reason = f"{exc.strerror}: {exc.filename}"
    try:
        report = put_back(repo, journal)
    except RollbackError as undo_exc:
        journal.status = "failed"
        journal.error = f"{reason}; putting things back was refused: {undo_exc}"
        journal.unfinished = [str(undo_exc)]
        journal.finished_at = journals.now_iso()
        journal.save()
        raise OperationError(
            f"step {index + 1} ({step.kind}) failed: {reason}; putting things back was "
            f"refused: {undo_exc}",
            hint=undo_exc.hint or "see rollback status; then rollback abort",
        ) from exc
    journal.status = "failed"
    journal.error = f"{reason}; {report.text()}"
    journal.unfinished = list(report.not_back)
    journal.finished_at = journals.now_iso()
    journal.save()
    if not isinstance(exc, RollbackError) and report.complete:
        raise exc  # a bug: exit 4 with the crash log; the run is put back and says so
    error = OperationError(f"step {index + 1} ({step.kind}) failed: {reason}; {report.text()}")
    if report.complete:
        hint = getattr(exc, "hint", None) or "fix the cause, then make and apply a new plan"
        if isinstance(exc, RollbackError) and exc.exit_code == ExitCode.REFUSED:
            error.exit_code = ExitCode.REFUSED  # refused by a safety check: nothing stays changed
    else:
        hint = report.hint() or "see rollback status"
        hint += "; or, once the cause is fixed: rollback abort"
    error.hint = hint
    raise error from exc


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
