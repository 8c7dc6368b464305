"""Put a run back to its start: branch, index and work tree to the safety ref, data steps undone.

Used by ``execute`` when a step fails and by ``recovery`` for ``abort``.
"""

from __future__ import annotations

from rollback.errors import RefusedError
from rollback.git.repo import GitRepo
from rollback.run.journal import Journal


def known_heads(journal: Journal) -> set[str]:
    heads = {journal.plan.head}
    for i, step in enumerate(journal.plan.steps):
        result = journal.result(i)
        for key in ("to", "written"):
            if key in result:
                heads.add(str(result[key]))
        if step.kind == "move-branch" and not str(step.params["to"]).startswith("@"):
            heads.add(str(step.params["to"]))
    if journal.after:
        heads.add(journal.after)
    return heads


def restore_before(repo: GitRepo, journal: Journal) -> None:
    """Put branch, index and work tree back to the plan's starting point; undo data steps."""
    plan = journal.plan
    busy = repo.in_progress()
    if busy is not None and busy.operation == "revert":
        repo.git("revert", "--abort")
    undo_data_steps(repo, journal)
    ref = f"refs/heads/{plan.branch}"
    now = repo.ref(ref)
    if now is None:
        raise RefusedError(f"branch {plan.branch} no longer exists; nothing was changed")
    if now not in known_heads(journal):
        raise RefusedError(
            f"{plan.branch} was moved by someone else since the rollback "
            f"(now at {now[:10]}); nothing was changed",
            hint=f"the state before the plan is kept at {plan.safety_ref}",
        )
    if now != plan.head:
        if repo.branch() == plan.branch:
            repo.checkout_tree(now, plan.head)
        repo.update_ref(ref, plan.head, now, f"rollback {plan.id}: abort")
    for i, step in enumerate(plan.steps):
        if step.kind == "create-branch" and journal.result(i):
            name = f"refs/heads/{step.params['branch']}"
            if repo.ref(name) == plan.head:
                repo.delete_ref(name, plan.head)


def undo_data_steps(repo: GitRepo, journal: Journal) -> None:
    data_kinds = {"restore-snapshot", "downgrade", "hook", "safety-snapshot"}
    if not any(s.kind in data_kinds for s in journal.plan.steps):
        return
    from rollback.run import data_steps

    data_steps.undo_data(repo, journal)
