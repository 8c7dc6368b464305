"""The PostgreSQL component's log: its position now (deploy marks) and why a replay cannot run.

A deploy mark records ``pg_current_wal_lsn()`` and the server's ``wal_level``. Replaying the
writes made after a mark needs logical decoding: ``wal_level=logical`` on the server and a
replication slot that holds the WAL from the snapshot on. Snapshots of this component do not
create such a slot yet, so ``session`` refuses in one line that names what is missing, and
the plan falls back to a plain restore of the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rollback.data.snapshots.components.postgres import PostgresComponent, pg_env
from rollback.data.snapshots.logreplay import Session
from rollback.errors import RefusedError
from rollback.proc import ProcessError


def position(component: PostgresComponent) -> dict[str, str]:
    """The WAL position now and the server's ``wal_level``, or why there is none."""
    with pg_env(component.url) as env:
        try:
            lsn, level = component._psql(
                env, "SELECT pg_current_wal_lsn(), current_setting('wal_level')"
            )[0]
        except ProcessError as exc:
            return {"wal": f"not recorded: {exc}"}
    return {"wal_lsn": lsn, "wal_level": level}


def why_not(component: PostgresComponent, snapshot: dict[str, str]) -> str:
    """Why the writes after a mark cannot be replayed into this PostgreSQL database."""
    level = position(component).get("wal_level", "unknown")
    if level != "logical":
        return (
            f"the server runs with wal_level={level}: replaying needs wal_level=logical "
            "(ALTER SYSTEM SET wal_level = logical, then a restart) and a snapshot taken after"
        )
    if not snapshot.get("slot"):
        return (
            "the snapshot holds no replication slot to decode the writes since it from: "
            "PostgreSQL snapshots do not create one yet"
        )
    return "logical decoding of this snapshot's slot is not supported yet"


@contextmanager
def session(
    component: PostgresComponent,
    snapshot: dict[str, str],
    mark: dict[str, str],
    *,
    keep_writes: bool,
) -> Iterator[Session]:
    """Refuse with the reason: the caller falls back to a plain restore."""
    raise RefusedError(why_not(component, snapshot))
    yield  # pragma: no cover - a generator, for the context manager protocol
