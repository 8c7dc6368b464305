"""What a replay of a database's log did, or will do: plain values shared by every kind.

The MariaDB adapter (``components/mysql_log.py``) and the PostgreSQL one
(``components/pg_logical.py``) return these; ``pitr.py`` orchestrates; the plan and the
run show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rollback.data.snapshots.base import Progress


@dataclass(frozen=True)
class TableOutcome:
    """The writes made after the deploy mark to one table: replayed or not, and why."""

    table: str
    kept: int  # row statements (MariaDB) or row changes (PostgreSQL) replayed
    skipped: int
    reason: str = ""  # why the skipped ones were not replayed


@dataclass(frozen=True)
class ComponentReplay:
    """One database component: its log from the snapshot to the mark, and after."""

    component: str
    kind: str
    to_mark: int  # transactions replayed between the snapshot and the mark
    after_mark: int  # transactions written after the mark (what keeping could replay)
    keep_writes: bool  # the writes after the mark were (or will be) replayed where safe
    tables: tuple[TableOutcome, ...] = ()
    skipped_ddl: tuple[str, ...] = ()  # the release's schema changes, never replayed
    note: str = ""  # why nothing after the mark is kept, when it is not

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "kind": self.kind,
            "to_mark": self.to_mark,
            "after_mark": self.after_mark,
            "keep_writes": self.keep_writes,
            "tables": [
                {"table": t.table, "kept": t.kept, "skipped": t.skipped, "reason": t.reason}
                for t in self.tables
            ],
            "skipped_ddl": list(self.skipped_ddl),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentReplay:
        return cls(
            component=str(data["component"]),
            kind=str(data["kind"]),
            to_mark=int(data["to_mark"]),
            after_mark=int(data["after_mark"]),
            keep_writes=bool(data["keep_writes"]),
            tables=tuple(
                TableOutcome(str(t["table"]), int(t["kept"]), int(t["skipped"]), str(t["reason"]))
                for t in data.get("tables", [])
            ),
            skipped_ddl=tuple(str(q) for q in data.get("skipped_ddl", [])),
            note=str(data.get("note", "")),
        )

    def kept_tables(self) -> list[str]:
        return [t.table for t in self.tables if t.kept and not t.reason]

    def skipped_tables(self) -> list[TableOutcome]:
        return [t for t in self.tables if t.reason]


def describe(replays: tuple[ComponentReplay, ...], mark_id: str) -> list[str]:
    """Lines per component and table: what was (or will be) kept and skipped, and why."""
    lines = []
    for r in replays:
        lines.append(
            f"  {r.component}: {r.to_mark} transaction(s) from the snapshot to mark {mark_id}; "
            f"{r.after_mark} after it"
        )
        if not r.keep_writes:
            why = f" ({r.note})" if r.note else ""
            lines.append(f"    writes after the mark: not kept{why}")
            continue
        for t in r.tables:
            if t.reason:
                lines.append(f"    {t.table}: {t.skipped} skipped: {t.reason}")
            else:
                lines.append(f"    {t.table}: {t.kept} kept")
        lines += [f"    schema change not replayed: {sql[:100]}" for sql in r.skipped_ddl]
    return lines


class Session(Protocol):
    """A component's log, read and checked before a restore; replayed into it after."""

    def outcome(self) -> ComponentReplay:
        """What ``apply`` will do (before it ran) or did (after)."""
        ...

    def apply(self, progress: Progress) -> ComponentReplay:
        """Replay into the restored database: to the mark, then the kept writes."""
        ...
