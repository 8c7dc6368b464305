"""Choose what to replay from a MariaDB binary log, and write it as SQL. Pure.

From the snapshot's position S to the deploy mark's position M every transaction of the
database is replayed (the data becomes exactly what it was the moment before the bad release
ran). After M, with ``keep_writes``, only row statements on tables the release did not touch
are replayed: every DDL statement after M is skipped, and so is every statement on a table a
DDL statement after M created, altered, dropped or renamed. Each refusal is one line.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from rollback.data.snapshots.components.binlog_events import (
    NO_FOREIGN_KEY_CHECKS,
    RELAXED_UNIQUE_CHECKS,
    Gtid,
    LogFile,
    Query,
    RowStatement,
    Transaction,
)
from rollback.errors import RefusedError

DELIM = b"/*!*/;\n"


@dataclass(frozen=True, order=True)
class Pos:
    file: str
    pos: int

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"


@dataclass
class TableReport:
    """What happened to one table's writes made after the mark."""

    kept: int = 0  # row statements replayed
    skipped: int = 0  # row statements not replayed
    reason: str = ""  # why they were skipped


@dataclass
class ReplayPlan:
    to_mark: list[Transaction] = field(default_factory=list)  # S..M, replayed whole
    after_mark: list[Transaction] = field(default_factory=list)  # M..end, filtered
    touched: dict[str, str] = field(default_factory=dict)  # table -> the DDL that touched it
    tables: dict[str, TableReport] = field(default_factory=dict)
    skipped_ddl: list[str] = field(default_factory=list)
    logs: dict[str, LogFile] = field(default_factory=dict)  # by file name
    kept: list[list[RowStatement]] = field(default_factory=list)  # per after_mark transaction
    no_keep: str = ""  # why no write after the mark can be kept safely

    def skip(self, table: str, reason: str) -> None:
        report = self.tables.setdefault(table, TableReport())
        if not report.reason:
            report.reason = reason


_DDL_TABLES = [
    re.compile(r"^\s*ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?:IF\s+EXISTS\s+)?(\S+)", re.I),
    re.compile(
        r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)",
        re.I,
    ),
    re.compile(r"^\s*TRUNCATE\s+(?:TABLE\s+)?(\S+)", re.I),
    re.compile(r"^\s*(?:CREATE|DROP)\s+(?:\w+\s+)*?INDEX\s+.*?\s+ON\s+(\S+)", re.I | re.S),
    re.compile(r"^\s*CREATE\s+(?:\w+\s+)*?TRIGGER\s+.*?\s+ON\s+(\S+)", re.I | re.S),
]
_DROP = re.compile(
    r"^\s*DROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(.+?)(?:\s+(?:RESTRICT|CASCADE))?\s*$",
    re.I | re.S,
)
_RENAME = re.compile(r"^\s*RENAME\s+TABLES?\s+(.+)$", re.I | re.S)
_HARMLESS = re.compile(
    r"^\s*(?:CREATE|DROP|ALTER)\s+(?:DEFINER\s*=\s*\S+\s+)?(?:VIEW|FUNCTION|PROCEDURE|EVENT)\b",
    re.I,
)
_COMMENT = re.compile(r"/\*(?!!).*?\*/|--[^\n]*|#[^\n]*", re.S)


def _name(token: str, db: str) -> tuple[str, str]:
    parts = [p.strip("`") for p in re.findall(r"`(?:[^`]|``)*`|[^.`\s(]+", token)]
    return (parts[0], parts[1]) if len(parts) >= 2 else (db, parts[0] if parts else "")


def ddl_tables(query: Query) -> list[tuple[str, str]] | None:
    """The (database, table) pairs a DDL statement changes; None when it cannot be told."""
    sql = _COMMENT.sub(" ", query.sql).strip().rstrip(";")
    for pattern in _DDL_TABLES:
        found = pattern.match(sql)
        if found:
            return [_name(found.group(1), query.db)]
    found = _DROP.match(sql)
    if found:
        return [_name(t.strip(), query.db) for t in found.group(1).split(",")]
    found = _RENAME.match(sql)
    if found:
        names = re.split(r"\s+TO\s+|,", found.group(1), flags=re.I)
        return [_name(t.strip(), query.db) for t in names if t.strip()]
    if _HARMLESS.match(sql) or re.match(
        r"^\s*(?:ANALYZE|OPTIMIZE|FLUSH|GRANT|REVOKE)\b", sql, re.I
    ):
        return []
    return None


def _ours(query: Query, database: str) -> bool:
    return database in query.updated if query.updated else query.db == database


def select(
    logs: Sequence[LogFile],
    *,
    database: str,
    start: Pos,
    mark: Pos,
    end: Pos,
    start_gtid: str,
    keep_writes: bool,
) -> ReplayPlan:
    """Split the log between ``start`` and ``end`` into what is replayed; refuse in one line."""
    plan = ReplayPlan(logs={log.name: log for log in logs})
    if not start <= mark <= end:
        raise RefusedError(
            f"the deploy mark's log position {mark} is not between the snapshot's ({start}) "
            f"and now ({end})"
        )
    for where in (start, mark, end):
        log = plan.logs.get(where.file)
        if log is None or where.pos not in log.boundaries:
            raise RefusedError(f"log position {where} is not an event boundary of the binary log")
    _check_gaps(logs, start, end, start_gtid)
    for log in logs:
        for txn in log.transactions:
            here = Pos(log.name, txn.start)
            if here < start or here >= end:
                continue
            (plan.to_mark if here < mark else plan.after_mark).append(txn)
    if keep_writes:
        _classify(plan, database)
    return plan


def _check_gaps(logs: Sequence[LogFile], start: Pos, end: Pos, start_gtid: str) -> None:
    """No GTID may be missing after the snapshot's (which the server matched to its position)."""
    state = parse_gtids(start_gtid)
    for log in logs:
        for txn in log.transactions:
            here = Pos(log.name, txn.start)
            g = txn.gtid
            if here < start or here >= end or g is None:
                continue
            last = state.get(g.domain)
            if last is not None and g.seq != last.seq + 1:
                raise RefusedError(
                    f"GTID gap in the binary log after the snapshot: {last} is followed by {g}"
                    " (transactions are missing from this server's log)"
                )
            state[g.domain] = g


def parse_gtids(text: str) -> dict[int, Gtid]:
    """``0-1-5,1-2-9`` as {domain: Gtid}."""
    out = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        domain, server, seq = (int(x) for x in item.split("-"))
        out[domain] = Gtid(domain, server, seq)
    return out


def _classify(plan: ReplayPlan, database: str) -> None:
    for txn in plan.after_mark:
        for query in txn.ddl:
            if not _ours(query, database):
                continue
            plan.skipped_ddl.append(query.sql.strip())
            tables = ddl_tables(query)
            if tables is None:
                plan.no_keep = (
                    "cannot tell which tables this statement after the mark changes: "
                    f"{query.sql.strip()[:80]}"
                )
                return
            for db, table in tables:
                if db == database:
                    plan.touched.setdefault(table, query.sql.strip()[:120])


def decide_rows(plan: ReplayPlan, database: str, unfit: dict[str, str]) -> None:
    """Decide, for each row statement after the mark, whether it is replayed; count per table.

    ``unfit``: tables whose logged columns do not fit the restored schema, with the reason.
    Starts afresh each time: a preview first, then again with the checks made after the
    replay to the mark.
    """
    plan.tables = {}
    for table, sql in plan.touched.items():
        plan.skip(table, f"changed by the release: {sql}")
    for table, reason in unfit.items():
        plan.skip(table, reason)
    plan.kept = []
    for txn in plan.after_mark:
        kept = []
        for statement in txn.rows:
            tables = [t for d, t in statement.tables if d == database]
            if not tables or len(tables) != len(statement.tables):
                continue  # another database's, or spans databases: not this component's
            blocked = [t for t in tables if plan.tables.get(t, TableReport()).reason]
            for table in tables:
                report = plan.tables.setdefault(table, TableReport())
                if blocked:
                    report.skipped += 1
                    if not report.reason:
                        report.reason = f"written together with {blocked[0]}, which is not kept"
                else:
                    report.kept += 1
            if not blocked:
                kept.append(statement)
        plan.kept.append(kept)


def render_to_mark(plan: ReplayPlan, database: str) -> Iterator[bytes]:
    """The SQL the ``mariadb`` client runs to bring the snapshot forward to the mark."""
    yield b"DELIMITER /*!*/;\n"
    current = None
    for txn in plan.to_mark:
        if txn.file != current:
            current = txn.file
            yield _binlog(plan.logs[txn.file].format_event)
        for query in txn.ddl:
            if _ours(query, database):
                yield from _query_sql(query)
        rows = [s for s in txn.rows if s.tables and all(d == database for d, _ in s.tables)]
        yield from _rows(plan.logs[txn.file], rows)


def render_after(plan: ReplayPlan) -> Iterator[bytes]:
    """The SQL that replays the kept writes after the mark (``decide_rows`` ran first)."""
    yield b"DELIMITER /*!*/;\n"
    current = None
    for txn, rows in zip(plan.after_mark, plan.kept, strict=True):
        if rows and txn.file != current:
            current = txn.file
            yield _binlog(plan.logs[txn.file].format_event)
        yield from _rows(plan.logs[txn.file], rows)


def _rows(log: LogFile, rows: Sequence[RowStatement]) -> Iterator[bytes]:
    if rows:
        yield b"START TRANSACTION" + DELIM
        for statement in rows:
            yield _binlog(log.raw(statement))
        yield b"COMMIT" + DELIM


def _binlog(raw: bytes) -> bytes:
    return b"BINLOG '\n" + base64.encodebytes(raw) + b"'" + DELIM


def _query_sql(q: Query) -> Iterator[bytes]:
    if q.db:
        yield b"use `" + q.db.replace("`", "``").encode("utf-8", "surrogateescape") + b"`" + DELIM
    yield f"SET TIMESTAMP={q.timestamp}".encode() + DELIM
    settings = []
    if q.flags2 is not None:
        settings.append(
            f"@@session.foreign_key_checks={0 if q.flags2 & NO_FOREIGN_KEY_CHECKS else 1}"
        )
        settings.append(f"@@session.unique_checks={0 if q.flags2 & RELAXED_UNIQUE_CHECKS else 1}")
    if q.sql_mode is not None:
        settings.append(f"@@session.sql_mode={q.sql_mode}")
    if q.charset is not None:
        client, conn, server = q.charset
        settings.append(
            f"@@session.character_set_client={client},@@session.collation_connection={conn},"
            f"@@session.collation_server={server}"
        )
    if settings:
        yield ("SET " + ",".join(settings)).encode() + DELIM
    yield q.sql.encode("utf-8", "surrogateescape") + b"\n" + DELIM
