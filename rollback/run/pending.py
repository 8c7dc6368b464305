"""Which snapshots the rollback runs of a repository still need, and why.

A run in progress (running or stopped) needs the snapshot its plan restores, its safety
snapshot (``abort`` puts the data back from it), and at least one snapshot that fits its
code target; a completed run needs its safety snapshot for ``rollback undo``. ``snapshot
delete`` refuses to delete what is needed here, unless forced.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from rollback.run import journal


def needed(git_dir: Path, existing: Iterable[str]) -> dict[str, str]:
    """Snapshot id -> why a run needs it (for the snapshots in ``existing``)."""
    ids = set(existing)
    why: dict[str, str] = {}
    for j in journal.all_runs(git_dir):
        plan = j.plan
        safety = [
            str(j.result(i).get("snapshot"))
            for i, s in enumerate(plan.steps)
            if s.kind == "safety-snapshot" and j.result(i).get("snapshot")
        ]
        if j.status == "completed":
            for sid in safety:
                why.setdefault(sid, f"`rollback undo {plan.id}` puts the data back from it")
            continue
        if j.status not in journal.ACTIVE:
            continue
        for sid in safety:
            why.setdefault(sid, f"rollback {plan.id} is in progress: abort restores it")
        data = plan.data or {}
        chosen = (data.get("decision") or {}).get("snapshot")
        if chosen:
            why.setdefault(str(chosen), f"rollback {plan.id} is in progress and restores it")
        fitting = [str(s["id"]) for s in data.get("snapshots", []) if s.get("fits")]
        left = [sid for sid in fitting if sid in ids]
        if len(left) == 1:
            why.setdefault(
                left[0],
                f"it is the last snapshot that fits the target of rollback {plan.id}, "
                "which is in progress",
            )
    return {sid: reason for sid, reason in why.items() if sid in ids}
