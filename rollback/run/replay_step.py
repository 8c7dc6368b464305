"""The restore step of a plan that replays the log to a deploy mark (issue 14).

Restores the snapshot, then replays each database's log to the mark and, when the plan says
so, the writes since to the tables the release did not touch. The journal keeps what was
kept and skipped per table; the execution view prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback.errors import RefusedError

if TYPE_CHECKING:
    from rollback.plan import Step
    from rollback.run.context import RunContext


def restore_to_mark(ctx: RunContext, step: Step) -> dict[str, Any]:
    from rollback.data.marks import get_mark
    from rollback.data.snapshots import pitr
    from rollback.data.snapshots.local import LocalStore
    from rollback.data.snapshots.logreplay import describe

    provider = ctx.project.provider(str(step.params["provider"]))
    if not isinstance(provider, LocalStore):
        raise RefusedError("a replay to a deploy mark needs the local snapshot store")
    mark = get_mark(provider.store, str(step.params["mark"]))
    sid = str(step.params["snapshot"])
    # safety=False: the plan's own safety-snapshot step already ran (or the user declined it)
    result, done = pitr.restore_to_mark(
        provider,
        sid,
        mark.positions,
        keep_writes=bool(step.params.get("keep_writes")),
        safety=False,
        progress=ctx.progress,
    )
    out: dict[str, Any] = {
        "snapshot": result.snapshot.id,
        "provider": provider.name,
        "mark": mark.id,
        "replay": [d.to_dict() for d in done],
        "report": [line.strip() for line in describe(done, mark.id)],
    }
    if result.snapshot.size_bytes is not None:
        out["size_bytes"] = result.snapshot.size_bytes
    return out
