"""Getting back: abort a run, resume a killed one, undo a completed one.

The safety ref ``refs/rollback/<plan-id>/before`` is the anchor: whatever happened, the branch
can return to it, and every original commit stays reachable from it. Each of these holds the
repository's rollback lock (taking over the lock of a run whose process is gone), and each
is journaled like a run: an abort or an undo killed half-way is finished by ``resume`` or
put back by ``abort``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rollback.errors import OperationError, RefusedError, UsageError
from rollback.git import state
from rollback.git.repo import GitRepo
from rollback.plan import Plan
from rollback.run import journal as journals
from rollback.run.journal import Journal
from rollback.run.putback import Report, known_heads, put_back
from rollback.run.worktree import move, settle


class Declined(Exception):
    """The user answered no to a confirmation; nothing was changed."""


@dataclass(frozen=True)
class Aborted:
    journal: Journal
    report: Report


def abort(repo: GitRepo) -> Aborted:
    """Back to exactly the state before the run in progress (or stopped at a conflict).

    An undo in progress goes back to the completed rollback it was undoing.
    """
    with journals.run_lock(repo.git_dir, take_dead=True):
        journal = journals.current(repo.git_dir)
        if journal is None:
            last = journals.latest_completed(repo.git_dir)
            hint = f"to undo the completed rollback {last.plan.id}: rollback undo" if last else None
            raise UsageError("no rollback is in progress: nothing to abort", hint=hint)
        undoing = journal.status == "undoing"
        if journal.status in ("running", "failed"):
            journal.status = "aborting"
        report = put_back(repo, journal)
        if not report.complete:
            journal.unfinished = list(report.not_back)
            journal.save()
            raise OperationError(
                f"abort of rollback {journal.plan.id} is not complete: {report.text()}",
                hint=report.hint(),
            )
        journal.unfinished = []
        journal.status = "completed" if undoing else "aborted"
        if not undoing:
            journal.finished_at = journals.now_iso()
        journal.save()
        return Aborted(journal, report)


def resume(repo: GitRepo) -> Journal:
    """Continue a killed run from where it stopped, or close one stopped at a conflict."""
    with journals.run_lock(repo.git_dir, take_dead=True):
        journal = journals.current(repo.git_dir)
        if journal is None:
            raise UsageError("no rollback is in progress: nothing to resume")
        if journal.status == "stopped":
            return _close_stopped(repo, journal)
        put_back_killed = journal.moving is not None and journal.moving.get("why") == "put back"
        if journal.status == "aborting" or put_back_killed:  # finish what was being put back
            return _finish_abort(repo, journal)
        if journal.status == "undoing":
            return _finish_undo(repo, journal)
        if journal.status == "failed":
            raise RefusedError(
                f"rollback {journal.plan.id} failed and was not all put back: "
                + "; ".join(journal.unfinished),
                hint="fix the cause, then rollback abort puts back what remains",
            )
        from rollback.run.context import SilentReporter
        from rollback.run.execute import run_steps
        from rollback.run.preflight import check_git_state

        head = repo.ref(f"refs/heads/{journal.plan.branch}")
        if head not in known_heads(journal):
            raise RefusedError(
                f"{journal.plan.branch} was moved by someone else; resume refused",
                hint=f"the state before the plan is kept at {journal.plan.safety_ref}",
            )
        if journal.moving is None:
            check_git_state(repo)
        return run_steps(repo, journal, SilentReporter())


def _finish_abort(repo: GitRepo, journal: Journal) -> Journal:
    report = put_back(repo, journal)
    if not report.complete:
        journal.unfinished = list(report.not_back)
        journal.save()
        raise OperationError(f"abort is not complete: {report.text()}", hint=report.hint())
    journal.status, journal.unfinished = "aborted", []
    journal.finished_at = journals.now_iso()
    journal.save()
    return journal


def _close_stopped(repo: GitRepo, journal: Journal) -> Journal:
    """The user resolved the conflict: check that every selected commit is reverted."""
    st = state.status(repo)
    busy = state.busy(repo, st.unmerged)
    if busy is not None:
        raise RefusedError(
            f"the {busy.operation} of rollback {journal.plan.id} is still in progress",
            hint=f"resolve the conflicts, then {busy.finish}; then rollback resume",
        )
    steps = journal.plan.steps
    index = next(i for i, s in enumerate(steps) if s.kind == "stop-at-conflict")
    wanted = [c.sha for c in journal.plan.commits]
    onto = str(journal.result(index).get("onto") or journal.intent(index).get("onto") or "")
    head = repo.head() or ""
    reverted = _reverted_between(repo, onto, head) if onto else set()
    for i, s in enumerate(steps[:index]):  # written before the stop (or skipped: empty)
        if s.kind == "write-commits" and journal.done(i):
            reverted |= {str(c) for c in s.params.get("commits", [])}
    missing = [c for c in wanted if c not in reverted]
    if missing:
        what = "abandoned (git revert --abort)" if head == onto else "not finished"
        raise RefusedError(
            f"the git revert of rollback {journal.plan.id} was {what}: "
            f"{len(wanted) - len(missing)} of {len(wanted)} commits are reverted; "
            f"not reverted: {', '.join(c[:10] for c in missing)}",
            hint="revert them: git revert --no-edit -m 1 "
            + " ".join(c[:10] for c in missing)
            + "; then rollback resume (or put everything back: rollback abort)",
        )
    journal.status = "completed"
    journal.after = head
    journal.finished_at = journals.now_iso()
    journal.save()
    return journal


def _reverted_between(repo: GitRepo, onto: str, head: str) -> set[str]:
    """Commits that the commits onto..head say they revert ("This reverts commit <sha>")."""
    if onto == head:
        return set()
    import re

    bodies = repo.log("-z", "--format=%B", f"{onto}..{head}").split("\0")
    found = set()
    for body in bodies:
        found |= set(re.findall(r"This reverts commit ([0-9a-f]{40})", body))
    return found


@dataclass(frozen=True)
class UndoResult:
    journal: Journal
    moved: bool  # True: the branch went back to the safety ref
    plan: Plan | None = None  # otherwise: a plan that reverts the rollback commits
    data_restored: str | None = None  # the run's safety snapshot, restored
    data_safety: str | None = None  # the snapshot of the data as it was before this undo


def changes_data(journal: Journal) -> bool:
    """Whether undoing this run also has data to put back."""
    return bool({s.kind for s in journal.plan.steps} & {"restore-snapshot", "downgrade"})


def _undo_data(repo: GitRepo, journal: Journal) -> tuple[str | None, str | None]:
    if not changes_data(journal):
        return None, None
    from rollback.run import data_steps

    done = data_steps.restore_for_undo(repo, journal)
    return done if done else (None, None)


def undo(
    repo: GitRepo,
    plan_id: str | None = None,
    *,
    code_only: bool = False,
    confirm: Callable[[str], bool] | None = None,
) -> UndoResult:
    """Undo a completed rollback: move back if nothing was pushed, else plan a revert.

    The data goes back too (from the run's safety snapshot, after a new safety snapshot of the
    data as it is now), unless ``code_only``. ``confirm`` is asked once, before anything
    changes, when data will be restored; a False answer raises ``Declined``.
    """
    from rollback.run.preflight import check_git_state, refuse_active_run

    with journals.run_lock(repo.git_dir):
        refuse_active_run(repo)
        journal = (
            journals.load(repo.git_dir, plan_id)
            if plan_id
            else journals.latest_completed(repo.git_dir)
        )
        if journal is None:
            raise UsageError("no completed rollback to undo in this repository")
        if journal.status != "completed":
            raise UsageError(f"rollback {journal.plan.id} is {journal.status}, not completed")
        plan, after = journal.plan, journal.after or ""
        st = check_git_state(repo)
        if not code_only and changes_data(journal) and confirm is not None:
            question = (
                f"Undo rollback {plan.id}: the code goes back to {plan.head[:10]} and the data "
                "to the safety snapshot the rollback took (the data as it is now is "
                "snapshotted first). Continue?"
            )
            if not confirm(question):
                raise Declined("cancelled: nothing was changed")
        now = repo.ref(f"refs/heads/{plan.branch}")
        pushed = repo.has_remotes() and after not in repo.unpushed(after)
        rewrote = plan.strategy in ("park", "reset")
        if now == after and (rewrote or not pushed):
            journal.status = "undoing"
            journal.undo_code_only = code_only
            tree = st.branch == plan.branch
            move(repo, journal, branch=plan.branch, old=after, new=plan.head, why="undo", tree=tree)
            return _undone(repo, journal, code_only=code_only)
        if rewrote:
            raise RefusedError(
                f"{plan.branch} has moved on since rollback {plan.id}; undo would drop those "
                "commits",
                hint=f"the old head is kept at {plan.safety_ref}; merge or cherry-pick from it",
            )
        from rollback.code.planner import make_plan

        rollback_commits = repo.log(
            "--first-parent", "--format=%H", f"{plan.head}..{after}"
        ).split()
        undo_plan = make_plan(repo, strategy="revert-selected", commits=rollback_commits)
        return UndoResult(journal, moved=False, plan=undo_plan)


def _undone(repo: GitRepo, journal: Journal, *, code_only: bool) -> UndoResult:
    journal.save()
    restored, safety = (None, None) if code_only else _undo_data(repo, journal)
    journal.status = "undone"
    journal.save()
    return UndoResult(journal, moved=True, data_restored=restored, data_safety=safety)


def _finish_undo(repo: GitRepo, journal: Journal) -> Journal:
    """An undo killed half-way: finish moving back, then the data (unless --code-only)."""
    if journal.moving:
        settle(repo, journal, forward=True)
    return _undone(repo, journal, code_only=journal.undo_code_only).journal


def undo_data_after_plan(repo: GitRepo, journal: Journal) -> tuple[str | None, str | None]:
    """After the revert plan of an undo ran: bring the data back as well."""
    restored = _undo_data(repo, journal)
    journal.status = "undone"
    journal.save()
    return restored
