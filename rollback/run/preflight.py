"""Refuse before anything changes: the repository must be in the state the plan expects."""

from __future__ import annotations

import os

from rollback.errors import RefusedError
from rollback.git import state
from rollback.git.repo import GitRepo
from rollback.plan import Plan
from rollback.run import journal as journals


def same_repository(repo: GitRepo, plan: Plan) -> bool:
    """Is ``repo`` the plan's repository? (a path that no longer exists is not)"""
    if str(repo.root) == plan.repo:
        return True
    try:
        return os.path.samefile(repo.root, plan.repo)
    except OSError:
        return False


def refuse_active_run(repo: GitRepo) -> None:
    active = journals.current(repo.git_dir)
    if active is None:
        return
    dead = journals.interrupted(active, repo.git_dir)
    hint = "see rollback status; then rollback resume or rollback abort"
    if dead is not None:
        who = f" ({dead.describe()})" if dead.pid else ""
        raise RefusedError(
            f"rollback {active.plan.id} was interrupted: its process is gone{who}", hint=hint
        )
    owner = journals.run_owner(repo.git_dir)
    if owner is not None and owner.alive() is not False and active.status != "stopped":
        raise RefusedError(
            f"another rollback is running in this repository ({owner.describe()})",
            hint="wait for it to finish; rollback status shows its progress",
        )
    raise RefusedError(f"rollback {active.plan.id} is {active.status}: finish it first", hint=hint)


def preflight(repo: GitRepo, plan: Plan) -> None:
    """Refuse, changing nothing, when the repository is not in the state the plan expects."""
    refuse_active_run(repo)
    if (
        repo.ref(plan.safety_ref) is not None
        or (journals.journal_root(repo.git_dir) / plan.id / "journal.json").exists()
    ):
        raise RefusedError(
            f"plan {plan.id} was already applied here",
            hint="see rollback status --all; make a new plan to roll back again",
        )
    if not same_repository(repo, plan):
        raise RefusedError(
            f"this plan is for the repository at {plan.repo}, not {repo.root}",
            hint=f"run it there: rollback apply PLAN -C {plan.repo}",
        )
    st = check_git_state(repo)
    if st.branch is None:
        raise RefusedError(
            "HEAD is detached: rollback moves a branch, and none is checked out",
            hint=f"check out the branch first: git switch {plan.branch}",
        )
    if st.branch != plan.branch:
        raise RefusedError(
            f"the plan is for branch {plan.branch}, but {st.branch} is checked out",
            hint=f"git switch {plan.branch}, then apply again",
        )
    if st.head != plan.head:
        raise RefusedError(
            f"{plan.branch} has moved since the plan was made "
            f"(planned at {plan.head[:10]}, now {str(st.head)[:10]}); nothing was changed",
            hint="make a new plan: rollback plan ...",
        )
    if plan.has_conflicts and not plan.options.get("stop_at_conflict"):
        raise RefusedError("the plan predicts a conflict and was not made with --stop-at-conflict")


def check_git_state(repo: GitRepo) -> state.Status:
    """Refuse while git is busy or the work tree has uncommitted changes; return the status."""
    if repo.index_locked():
        raise RefusedError(
            f"{repo.git_dir / 'index.lock'} exists: another git process is running",
            hint="wait for it; if none is running, a crashed one left it: remove the file",
        )
    st = state.status(repo)
    busy = state.busy(repo, st.unmerged)
    if busy is not None:
        raise RefusedError(
            f"a {busy.operation} is in progress; finish or abandon it first",
            hint=busy.finish,
        )
    dirty = [e.path for e in st.entries]
    if dirty:
        more = f" and {len(dirty) - 3} more" if len(dirty) > 3 else ""
        raise RefusedError(
            f"the work tree has uncommitted changes ({', '.join(dirty[:3])}{more})",
            hint="commit or stash them first: git stash",
        )
    return st
