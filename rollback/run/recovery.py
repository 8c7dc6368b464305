"""Getting back: abort a run, resume a killed one, undo a completed one.

The safety ref ``refs/rollback/<plan-id>/before`` is the anchor: whatever happened, the branch
can return to it, and every original commit stays reachable from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rollback.errors import RefusedError, UsageError
from rollback.git.repo import GitRepo
from rollback.plan import Plan
from rollback.run import journal as journals
from rollback.run.journal import Journal
from rollback.run.putback import known_heads, restore_before


class Declined(Exception):
    """The user answered no to a confirmation; nothing was changed."""


def abort(repo: GitRepo) -> Journal:
    """Back to exactly the state before the run in progress (or stopped at a conflict)."""
    journal = journals.current(repo.git_dir)
    if journal is None:
        last = journals.latest_completed(repo.git_dir)
        hint = f"to undo the completed rollback {last.plan.id}: rollback undo" if last else None
        raise UsageError("no rollback is in progress: nothing to abort", hint=hint)
    if repo.index_locked():
        raise RefusedError(f"{repo.git_dir / 'index.lock'} exists: another git process is running")
    busy = repo.in_progress()
    if (busy is None or busy.operation != "revert") and repo.dirty_files():
        raise RefusedError(
            "the work tree has uncommitted changes; abort would overwrite them",
            hint="commit or stash them first: git stash",
        )
    restore_before(repo, journal)
    journal.status = "aborted"
    journal.finished_at = journals.now_iso()
    journal.save()
    return journal


def resume(repo: GitRepo) -> Journal:
    """Continue a killed run from its first step not done, or close one stopped at a conflict."""
    from rollback.run.context import SilentReporter
    from rollback.run.execute import run_steps
    from rollback.run.preflight import check_git_state

    journal = journals.current(repo.git_dir)
    if journal is None:
        raise UsageError("no rollback is in progress: nothing to resume")
    if journal.status == "stopped":
        busy = repo.in_progress()
        if busy is not None:
            raise RefusedError(
                f"the {busy.operation} of rollback {journal.plan.id} is still in progress",
                hint=f"resolve the conflicts, then {busy.finish}; then rollback resume",
            )
        journal.status = "completed"
        journal.after = repo.head()
        journal.finished_at = journals.now_iso()
        journal.save()
        return journal
    head = repo.ref(f"refs/heads/{journal.plan.branch}")
    if head not in known_heads(journal):
        raise RefusedError(f"{journal.plan.branch} was moved by someone else; resume refused")
    check_git_state(repo)
    return run_steps(repo, journal, SilentReporter())


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
    from rollback.run.preflight import check_git_state

    journal = (
        journals.load(repo.git_dir, plan_id) if plan_id else journals.latest_completed(repo.git_dir)
    )
    if journal is None:
        raise UsageError("no completed rollback to undo in this repository")
    if journal.status != "completed":
        hint = "rollback abort" if journal.status in journals.ACTIVE else None
        raise UsageError(
            f"rollback {journal.plan.id} is {journal.status}, not completed", hint=hint
        )
    plan, after = journal.plan, journal.after or ""
    check_git_state(repo)
    if not code_only and changes_data(journal) and confirm is not None:
        question = (
            f"Undo rollback {plan.id}: the code goes back to {plan.head[:10]} and the data to "
            "the safety snapshot the rollback took (the data as it is now is snapshotted "
            "first). Continue?"
        )
        if not confirm(question):
            raise Declined("cancelled: nothing was changed")
    now = repo.ref(f"refs/heads/{plan.branch}")
    pushed = repo.has_remotes() and after not in repo.unpushed(after)
    rewrote = plan.strategy in ("park", "reset")
    if now == after and (rewrote or not pushed):
        if repo.branch() == plan.branch:
            repo.checkout_tree(after, plan.head)
        repo.update_ref(f"refs/heads/{plan.branch}", plan.head, after, f"rollback {plan.id}: undo")
        restored, safety = (None, None) if code_only else _undo_data(repo, journal)
        journal.status = "undone"
        journal.save()
        return UndoResult(journal, moved=True, data_restored=restored, data_safety=safety)
    if rewrote:
        raise RefusedError(
            f"{plan.branch} has moved on since rollback {plan.id}; undo would drop those commits",
            hint=f"the old head is kept at {plan.safety_ref}; merge or cherry-pick from it",
        )
    from rollback.code.planner import make_plan

    rollback_commits = repo.log("--first-parent", "--format=%H", f"{plan.head}..{after}").split()
    undo_plan = make_plan(repo, strategy="revert-selected", commits=rollback_commits)
    return UndoResult(journal, moved=False, plan=undo_plan)


def undo_data_after_plan(repo: GitRepo, journal: Journal) -> tuple[str | None, str | None]:
    """After the revert plan of an undo ran: bring the data back as well."""
    restored = _undo_data(repo, journal)
    journal.status = "undone"
    journal.save()
    return restored
