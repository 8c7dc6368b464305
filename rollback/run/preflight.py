"""Refuse before anything changes: the repository must be in the state the plan expects."""

from __future__ import annotations

import os

from rollback.errors import RefusedError
from rollback.git.repo import GitRepo
from rollback.plan import Plan
from rollback.run import journal as journals


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
