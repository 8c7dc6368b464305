"""Restore to the moment before the bad deploy: pick its mark, preview the replay, amend the plan.

A restore of snapshot S loses everything written since S. When a deploy mark M records the
moment the first release after the target was deployed, and the databases' logs reach from S
to now, the plan restores S and replays the log to M: the loss window becomes "since the bad
deploy at M". With ``keep_writes`` (an explicit choice, never a default) the writes after M to
the tables the release did not touch are replayed too. When the log cannot serve (logging
off, a purged file, a replica's lag, a position that does not match, a GTID gap), the plan
says why in one line and stays a plain restore.

``bad_deploy_mark`` is pure; ``consider`` reads the marks and the logs (a preview, no change).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rollback.data.marks import Mark, list_marks
from rollback.data.pairing.assess import duration
from rollback.data.snapshots.logreplay import ComponentReplay, describe
from rollback.errors import RollbackError
from rollback.git.history import History
from rollback.plan import Step

if TYPE_CHECKING:
    from rollback.data.pairing.decide import Decision
    from rollback.data.project import Project


@dataclass(frozen=True)
class ReplayFacts:
    mark: Mark | None
    keep_writes: bool
    preview: tuple[ComponentReplay, ...] = ()
    refused: str = ""  # why the plan stays a plain restore ("" when the replay runs)


def bad_deploy_mark(
    marks: Sequence[Mark], history: History, target: str, snapshot_at: datetime
) -> Mark | None:
    """The mark of the first deploy after the target: its commit is newer than the target on
    the first-parent line, and it was taken after the snapshot. None when there is none."""
    pos_t = history.position(target)
    if pos_t is None:
        return None
    found = []
    for mark in marks:
        pos = history.position(mark.commit) if mark.commit else None
        if pos is not None and pos < pos_t and mark.created_at >= snapshot_at:
            found.append(mark)
    return min(found, key=lambda m: (m.created_at, m.id), default=None)


def consider(
    project: Project,
    history: History,
    target: str,
    decision: Decision,
    *,
    keep_writes: bool,
) -> ReplayFacts | None:
    """The replay for a plan that restores a local snapshot; None when no mark applies."""
    from rollback.data.snapshots import pitr
    from rollback.data.snapshots.local import LocalStore

    p = decision.pairing
    if decision.action != "restore" or p is None or p.snapshot.provider != "local":
        return None
    store = project.provider("local")
    if not isinstance(store, LocalStore):
        return None
    mark = bad_deploy_mark(list_marks(store.store), history, target, p.snapshot.created_at)
    if mark is None:
        return None
    try:
        preview = pitr.preview(store, p.snapshot.id, mark.positions, keep_writes=keep_writes)
    except RollbackError as exc:
        return ReplayFacts(mark, keep_writes, refused=exc.message)
    return ReplayFacts(mark, keep_writes, preview)


def words(facts: ReplayFacts, now: datetime) -> list[str]:
    """What the plan says about the replay, for the plan's data section."""
    mark = facts.mark
    assert mark is not None
    code = mark.commit[:10] if mark.commit else "unknown code"
    at = f"deploy mark {mark.id} ({mark.created_at:%Y-%m-%d %H:%M %Z}, the deploy of {code})"
    if facts.refused:
        return [
            f"no replay to {at}: {facts.refused}",
            "the plan falls back to a plain restore of the snapshot: everything written "
            "since it is lost",
        ]
    lines = [
        f"then replay the database log to {at}: the data becomes what it was the moment "
        "before that release ran",
        f"data-loss window: since the bad deploy at {mark.created_at:%Y-%m-%d %H:%M %Z} "
        f"({duration(max(0.0, (now - mark.created_at).total_seconds()))}), not since the "
        "snapshot",
    ]
    if facts.keep_writes:
        lines.append(
            "--keep-writes: the writes made since the deploy are replayed too, to the tables "
            "the release did not change; tables it changed are as before the deploy"
        )
    else:
        lines.append(
            "writes made since the deploy are lost; --keep-writes would keep those to the "
            "tables the release did not change"
        )
    lines += [line.strip() for line in describe(facts.preview, mark.id)]
    return lines


def to_dict(facts: ReplayFacts) -> dict[str, Any]:
    """The JSON form carried in ``Plan.data["replay"]`` (absent in plans without a mark)."""
    mark = facts.mark
    assert mark is not None
    return {
        "mark": mark.id,
        "mark_commit": mark.commit,
        "mark_created_at": mark.created_at.isoformat(),
        "keep_writes": facts.keep_writes,
        "refused": facts.refused,
        "components": [c.to_dict() for c in facts.preview],
    }


def amend(steps: Sequence[Step], facts: ReplayFacts) -> tuple[Step, ...]:
    """The restore step replays to the mark (unless refused): title, command and params."""
    if facts.refused or facts.mark is None:
        return tuple(steps)
    mark = facts.mark
    out = []
    for step in steps:
        if step.kind == "restore-snapshot":
            sid = str(step.params["snapshot"])
            keep = " --keep-writes" if facts.keep_writes else ""
            command = (
                f"rollback snapshot restore --provider local --no-safety-snapshot --yes "
                f"--to-mark {shlex.quote(mark.id)}{keep} {sid}"
            )
            kept = ", keeping later writes to untouched tables" if facts.keep_writes else ""
            title = step.title.replace(
                ", before the code step",
                f", then replay the log to deploy mark {mark.id}{kept}, before the code step",
            )
            params = {**step.params, "mark": mark.id, "keep_writes": facts.keep_writes}
            step = replace(step, title=title, commands=(command,), params=params)
        out.append(step)
    return tuple(out)
