"""Deploy marks: a commit, a time and each database's log position, with no dump.

``rollback checkpoint --mark-only`` writes one before every deploy (milliseconds: one query
per database), so a pipeline can mark every release while full snapshots stay nightly. A
mark lives beside the snapshots of the local store, in ``<store>/.marks/<id>.json`` (the
store's listing skips dot-folders). ``list_marks`` returns frozen values, newest first: the
pairing picks the mark of the bad deploy from them, and a timeline can list them as they are.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.data.snapshots.local import LocalStore

FORMAT = 1
FOLDER = ".marks"


@dataclass(frozen=True)
class Mark:
    """One deploy mark. ``positions``: component name -> its log position fields (or why
    there is none, e.g. ``{"binlog": "not recorded: binary logging is off"}``)."""

    id: str
    created_at: datetime  # UTC
    commit: str | None
    branch: str | None = None
    label: str | None = None
    positions: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def logged(self) -> list[str]:
        """The components whose position was recorded."""
        return [name for name, p in self.positions.items() if "binlog_file" in p or "wal_lsn" in p]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "created_at": self.created_at.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "commit": self.commit,
            "branch": self.branch,
            "label": self.label,
            "positions": self.positions,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Mark:
        if data.get("format") != FORMAT:
            raise ValueError(f"unknown mark format {data.get('format')!r}")
        return cls(
            id=str(data["id"]),
            created_at=datetime.fromisoformat(data["created_at"]).astimezone(timezone.utc),
            commit=data.get("commit"),
            branch=data.get("branch"),
            label=data.get("label"),
            positions={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in (data.get("positions") or {}).items()
            },
        )


def marks_folder(store: Path) -> Path:
    return store / FOLDER


def list_marks(store: Path) -> list[Mark]:
    """Every readable mark of the store at ``store``, newest first (unreadable ones skipped)."""
    folder = marks_folder(store)
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        try:
            mark = Mark.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
        if mark.id == path.stem:
            found.append(mark)
    return sorted(found, key=lambda m: (m.created_at, m.id), reverse=True)


def get_mark(store: Path, mark_id: str) -> Mark:
    """The mark ``mark_id``; UsageError naming the known ones when there is none."""
    for mark in list_marks(store):
        if mark.id == mark_id:
            return mark
    raise UsageError(
        f"no deploy mark {mark_id!r}",
        hint="see the deploy marks with: rollback snapshot marks",
    )


def create_mark(
    store: LocalStore,
    *,
    commit: str | None,
    branch: str | None,
    label: str | None,
    now: datetime | None = None,
) -> Mark:
    """Record the log position of every database of ``store`` now, with ``commit``."""
    from rollback.data.snapshots import pitr
    from rollback.data.snapshots.manifest import new_id

    folder = marks_folder(store.store)
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    taken = {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()
    positions = pitr.positions(store)
    if not positions:
        raise UsageError(
            "a deploy mark records database log positions, but no MariaDB or PostgreSQL "
            "service is configured",
            hint="add one to services in [tool.rollback.local]; see docs/config.md",
        )
    mark = Mark(
        id=new_id(stamp, label or "mark", taken),
        created_at=stamp.replace(microsecond=0),
        commit=commit,
        branch=branch,
        label=label,
        positions=positions,
    )
    store._prepare_store()  # the store's .gitignore: marks never belong in git either
    folder.mkdir(exist_ok=True)
    tmp = folder / f".{mark.id}.tmp"
    tmp.write_text(json.dumps(mark.to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / f"{mark.id}.json")
    return mark
