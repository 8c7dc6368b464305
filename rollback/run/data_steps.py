"""Handlers for the data steps of a plan (safety snapshot, hooks, restore, downgrade).

Each handler returns a JSON-able result for the journal. The first data step checks that the
snapshot the plan restores still exists and is restorable (a plan is refused, changing
nothing, when reality no longer matches it). ``undo_data`` puts the data back from the run's
own safety snapshot when abort or a failure cleans up after a step that changed the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback import proc
from rollback.errors import OperationError, RefusedError

if TYPE_CHECKING:
    from rollback.data.snapshots.base import Provider, Snapshot
    from rollback.git.repo import GitRepo
    from rollback.plan import Plan, Step
    from rollback.run.context import Handler, RunContext
    from rollback.run.journal import Journal

DATA_KINDS = ("safety-snapshot", "hook", "restore-snapshot", "downgrade")
CHANGING = ("restore-snapshot", "downgrade")


def _provider(repo: GitRepo, name: str) -> Provider:
    """Outside a run (undo, cleanup): read the project's settings for this one call."""
    from rollback.data.project import load_project

    return load_project(repo.root).provider(name)


def _check_planned_restore(ctx: RunContext, step: Step) -> None:
    """On the first data step: the snapshot to restore must still be there and restorable."""
    first = next((s for s in ctx.plan.steps if s.kind in DATA_KINDS), None)
    if first is not step:
        return
    for planned in ctx.plan.steps:
        if planned.kind != "restore-snapshot":
            continue
        sid = str(planned.params["snapshot"])
        listed = {s.id: s for s in ctx.project.provider(str(planned.params["provider"])).list()}
        snap = listed.get(sid)
        if snap is None:
            raise RefusedError(
                f"snapshot {sid} of the plan is no longer listed; nothing was changed",
                hint="make a new plan: rollback plan ... --snapshot auto",
            )
        if not snap.restorable or snap.created_at.isoformat() != planned.params["created_at"]:
            raise RefusedError(
                f"snapshot {sid} is no longer the restorable snapshot the plan was made with",
                hint="make a new plan: rollback plan ... --snapshot auto",
            )


def safety_snapshot(ctx: RunContext, step: Step) -> dict[str, Any]:
    _check_planned_restore(ctx, step)
    provider = ctx.project.provider(str(step.params["provider"]) or None)
    snap = provider.create(
        str(step.params["label"]),
        live=True,
        commit=ctx.plan.head,
        branch=ctx.plan.branch,
        progress=ctx.progress,
    )
    return _with_size({"snapshot": snap.id, "provider": provider.name}, snap)


def _with_size(result: dict[str, Any], snap: Snapshot) -> dict[str, Any]:
    """Add the snapshot's size, when the provider knows it, for the execution view's tick."""
    if snap.size_bytes is not None:
        result["size_bytes"] = snap.size_bytes
    return result


def hook(ctx: RunContext, step: Step) -> dict[str, Any]:
    _check_planned_restore(ctx, step)
    argv = [str(a) for a in step.params["argv"]]
    done = proc.run(argv, cwd=ctx.repo.root)
    return {"argv": argv, "output": (done.stdout + done.stderr)[-2000:]}


def restore_snapshot(ctx: RunContext, step: Step) -> dict[str, Any]:
    _check_planned_restore(ctx, step)
    if step.params.get("mark"):  # issue 14: then replay the log to the deploy mark
        from rollback.run.replay_step import restore_to_mark

        return restore_to_mark(ctx, step)
    provider = ctx.project.provider(str(step.params["provider"]))
    # safety=False: the plan's own safety-snapshot step already ran (or the user declined it)
    result = provider.restore(str(step.params["snapshot"]), safety=False, progress=ctx.progress)
    return _with_size({"snapshot": result.snapshot.id, "provider": provider.name}, result.snapshot)


def downgrade(ctx: RunContext, step: Step) -> dict[str, Any]:
    _check_planned_restore(ctx, step)
    ran = []
    for argv in step.params["commands"]:
        args = [str(a) for a in argv]
        proc.run(args, cwd=ctx.repo.root)
        ran.append(args)
    return {"ran": ran}


HANDLERS: dict[str, Handler] = {
    "safety-snapshot": safety_snapshot,
    "hook": hook,
    "restore-snapshot": restore_snapshot,
    "downgrade": downgrade,
}


def safety_of(journal: Journal) -> tuple[str, str] | None:
    """(provider, snapshot id) of the safety snapshot this run took, if it took one."""
    for i, step in enumerate(journal.plan.steps):
        if step.kind == "safety-snapshot":
            result = journal.result(i)
            if result.get("snapshot"):
                return str(result["provider"]), str(result["snapshot"])
    return None


def changed_data(journal: Journal) -> list[int]:
    started = {int(s["index"]) for s in journal.steps}
    return [i for i, s in enumerate(journal.plan.steps) if s.kind in CHANGING and i in started]


def undo_data(repo: GitRepo, journal: Journal) -> None:
    """Return the data to the state before the plan (restore the run's safety snapshot).

    Nothing to do when no step that changes the data has started. Hooks are not undone (a
    ``maintenance:enable`` stays on until you run its opposite); the message says so.
    """
    changed = changed_data(journal)
    if not changed:
        return
    plan: Plan = journal.plan
    safety = safety_of(journal)
    if safety is None:
        raise OperationError(
            f"step {changed[0] + 1} changed the data, and no safety snapshot was taken "
            "(--no-safety-snapshot): the data cannot be put back automatically",
            hint=f"the code is kept at {plan.safety_ref}; restore a snapshot by hand",
        )
    provider_name, sid = safety
    try:
        _provider(repo, provider_name).restore(sid, safety=False)
    except OperationError as exc:
        raise OperationError(
            f"putting the data back from safety snapshot {sid} failed: {exc}",
            hint=f"retry: rollback snapshot restore --provider {provider_name} {sid}",
        ) from exc


def restore_for_undo(repo: GitRepo, journal: Journal) -> tuple[str, str | None] | None:
    """Undo of a completed run: bring back the data from before it.

    Unlike ``undo_data`` (cleanup right after the run's own safety snapshot), data may have
    been written since the rollback completed, so the provider first takes a new safety
    snapshot of it. Returns (restored id, new safety id), or None when the run changed no data.
    """
    if not changed_data(journal):
        return None
    safety = safety_of(journal)
    if safety is None:
        raise RefusedError(
            "the rollback changed the data without a safety snapshot (--no-safety-snapshot): "
            "the data cannot be put back automatically",
            hint="restore a snapshot by hand (rollback snapshot list), or pass --code-only",
        )
    provider_name, sid = safety
    result = _provider(repo, provider_name).restore(sid, safety=True)
    new_safety = result.safety_snapshot.id if result.safety_snapshot else None
    return sid, new_safety
