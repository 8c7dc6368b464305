"""Read MariaDB binary log files (v4 events) into transactions. Pure: bytes in, values out.

Only what the replay needs is decoded: event headers, the format description (checksums),
GTID and GTID-list events (continuity), Query events (DDL, with the session settings they ran
under), Table_map events (which table, which column types) and the boundaries of row events,
whose bytes are passed to the server untouched (``BINLOG '…'``), so no row image is ever
decoded here and every column type the server knows replays exactly.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

MAGIC = b"\xfebin"
HEADER = 19
QUERY, STOP, ROTATE, FORMAT, XID, TABLE_MAP = 2, 3, 4, 15, 16, 19
ANNOTATE, CHECKPOINT, GTID, START_ENCRYPTION = 160, 161, 162, 164
QUERY_COMPRESSED = 165
ROWS = frozenset({23, 24, 25, 30, 31, 32, 166, 167, 168, 169, 170, 171})
STMT_END = 0x1
FL_STANDALONE = 0x1
# Q_FLAGS2 bits that a replay must reproduce
NO_FOREIGN_KEY_CHECKS, RELAXED_UNIQUE_CHECKS = 0x4000000, 0x8000000


class BinlogError(ValueError):
    """The log cannot be read as MariaDB binary log events (one line, for users)."""


@dataclass(frozen=True)
class Gtid:
    domain: int
    server: int
    seq: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"


@dataclass(frozen=True)
class TableMap:
    db: str
    table: str
    types: bytes  # one binlog type code per column
    meta: bytes  # the type metadata block, as logged


@dataclass(frozen=True)
class RowStatement:
    """One logged row statement: its table maps and rows events, as raw bytes."""

    maps: tuple[TableMap, ...]
    span: tuple[int, int]  # where its Table_map and rows events lie in the file (contiguous)

    @property
    def tables(self) -> tuple[tuple[str, str], ...]:
        return tuple(dict.fromkeys((m.db, m.table) for m in self.maps))


@dataclass(frozen=True)
class Query:
    """A statement logged as text (DDL in ROW format), with what its session had set."""

    sql: str
    db: str  # the default database
    updated: tuple[str, ...]  # the databases it changed, when the server logged them
    timestamp: int
    sql_mode: int | None
    charset: tuple[int, int, int] | None  # client, connection collation, server collation
    flags2: int | None


@dataclass(frozen=True)
class Transaction:
    """One GTID group: a DDL statement, or row statements ended by a commit."""

    gtid: Gtid | None
    file: str
    start: int  # position of its first event
    end: int  # position after its last event
    queries: tuple[Query, ...] = ()
    rows: tuple[RowStatement, ...] = ()

    @property
    def ddl(self) -> tuple[Query, ...]:
        return tuple(q for q in self.queries if not _is_txn_control(q.sql))


@dataclass
class LogFile:
    """What was read from one file: its format event and its transactions."""

    name: str
    data: bytes | mmap.mmap  # the file's bytes, or a read-only map of them
    since: int = 0  # events before this position were not read
    format_event: bytes = b""
    transactions: list[Transaction] = field(default_factory=list)
    boundaries: set[int] = field(default_factory=set)  # every event start read, and the end

    def raw(self, statement: RowStatement) -> bytes:
        return bytes(self.data[statement.span[0] : statement.span[1]])


def _is_txn_control(sql: str) -> bool:
    return sql.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK", "XA START", "XA END")


def packed_int(data: bytes, at: int) -> tuple[int, int]:
    """A length-encoded integer at ``at``: (value, next offset)."""
    first = data[at]
    if first < 251:
        return first, at + 1
    size = {252: 2, 253: 3, 254: 8}.get(first)
    if size is None:
        raise BinlogError(f"bad packed integer 0x{first:02x}")
    return int.from_bytes(data[at + 1 : at + 1 + size], "little"), at + 1 + size


def _events(data: bytes | mmap.mmap, name: str, since: int) -> Iterator[tuple[int, int, bytes]]:
    """(type, start position, whole event bytes): the format event, then from ``since`` on.

    ``since`` must be an event boundary (the server said so: BINLOG_GTID_POS); the events
    between the format event and it are skipped without being read.
    """
    if data[: len(MAGIC)] != MAGIC:
        raise BinlogError(f"{name} is not a binary log file")
    at = len(MAGIC)
    first = True
    while at + HEADER <= len(data):
        size = struct.unpack_from("<I", data, at + 9)[0]
        if size < HEADER or at + size > len(data):
            raise BinlogError(f"{name}: truncated event at position {at}")
        yield data[at + 4], at, bytes(data[at : at + size])
        at = max(at + size, since) if first else at + size
        first = False


def read_file(name: str, data: bytes | mmap.mmap, *, since: int = 0) -> LogFile:
    """Group the events of one binary log file, from position ``since`` on, into transactions."""
    log = LogFile(name, data, since)
    crc = 0
    gtid: Gtid | None = None
    start = 0
    queries: list[Query] = []
    rows: list[RowStatement] = []
    pending: list[tuple[TableMap | None, int, int]] = []
    standalone = False

    def close(end: int) -> None:
        nonlocal gtid, queries, rows, pending
        if gtid is not None or queries or rows:
            log.transactions.append(
                Transaction(gtid, name, start, end, tuple(queries), tuple(rows))
            )
        gtid, queries, rows, pending = None, [], [], []

    for kind, at, event in _events(data, name, since):
        if at >= since:
            log.boundaries.add(at)
        end = at + len(event)
        body = event[HEADER : len(event) - crc] if kind != FORMAT else event[HEADER:]
        if kind == FORMAT:
            log.format_event = event
            alg = event[-5] if len(event) >= HEADER + 57 + 5 else 0
            crc = 4 if alg == 1 else 0
        elif kind == START_ENCRYPTION:
            raise BinlogError(f"{name} is encrypted: the replay cannot read it")
        elif kind == QUERY_COMPRESSED:
            raise BinlogError(f"{name} has compressed query events (log_bin_compress)")
        elif kind == GTID:
            close(at)
            seq, domain = struct.unpack_from("<QI", body, 0)
            gtid = Gtid(domain, struct.unpack_from("<I", event, 5)[0], seq)
            standalone = bool(body[12] & FL_STANDALONE)
            start = at
        elif kind == QUERY:
            query = _query(body, struct.unpack_from("<I", event, 0)[0])
            if gtid is None and not queries and not rows:
                start = at
            queries.append(query)
            if standalone or query.sql.strip().upper() in ("COMMIT", "ROLLBACK"):
                close(end)
        elif kind == TABLE_MAP:
            pending.append((_table_map(body), at, end))
        elif kind in ROWS:
            pending.append((None, at, end))
            flags = struct.unpack_from("<H", body, 6)[0]
            if flags & STMT_END:
                maps = tuple(m for m, _, _ in pending if m is not None)
                rows.append(RowStatement(maps, (pending[0][1], end)))
                pending = []
        elif kind == XID:
            close(end)
        elif kind in (ROTATE, STOP):
            close(at)
    log.boundaries.add(len(data))
    return log


def _table_map(body: bytes) -> TableMap:
    at = 8  # table id (6) and flags (2)
    db_len = body[at]
    db = body[at + 1 : at + 1 + db_len].decode("utf-8", "replace")
    at += 1 + db_len + 1
    table_len = body[at]
    table = body[at + 1 : at + 1 + table_len].decode("utf-8", "replace")
    at += 1 + table_len + 1
    count, at = packed_int(body, at)
    types = body[at : at + count]
    at += count
    meta_len, at = packed_int(body, at)
    return TableMap(db, table, bytes(types), bytes(body[at : at + meta_len]))


def _query(body: bytes, timestamp: int) -> Query:
    db_len = body[8]
    status_len = struct.unpack_from("<H", body, 11)[0]
    status = body[13 : 13 + status_len]
    at = 13 + status_len
    db = body[at : at + db_len].decode("utf-8", "replace")
    sql = body[at + db_len + 1 :].decode("utf-8", "surrogateescape")  # byte-exact back
    sql_mode, charset, flags2, updated = _status_vars(status)
    return Query(sql, db, updated, timestamp, sql_mode, charset, flags2)


# sizes of the fixed-size status variables (MySQL and MariaDB codes)
_FIXED = {0: 4, 1: 8, 3: 4, 4: 6, 7: 2, 8: 2, 9: 8, 10: 4, 13: 3, 128: 3, 129: 8, 130: 1}


def _status_vars(
    data: bytes,
) -> tuple[int | None, tuple[int, int, int] | None, int | None, tuple[str, ...]]:
    sql_mode = flags2 = None
    charset: tuple[int, int, int] | None = None
    updated: list[str] = []
    at = 0
    while at < len(data):
        code = data[at]
        at += 1
        if code == 0:
            flags2 = struct.unpack_from("<I", data, at)[0]
        elif code == 1:
            sql_mode = struct.unpack_from("<Q", data, at)[0]
        elif code == 4:
            charset = struct.unpack_from("<HHH", data, at)
        if code in _FIXED:
            at += _FIXED[code]
        elif code in (2, 5, 6):  # catalog (old), time zone, catalog: length + text
            at += 1 + data[at]
        elif code == 11:  # invoker: user and host, each length + text
            at += 1 + data[at]
            at += 1 + data[at]
        elif code == 12:  # the databases the statement updated
            count = data[at]
            at += 1
            for _ in range(count if count != 254 else 0):
                stop = data.index(b"\0", at)
                updated.append(data[at:stop].decode("utf-8", "replace"))
                at = stop + 1
        else:
            break  # an unknown variable: its size is unknown, the rest cannot be read
    return sql_mode, charset, flags2, tuple(updated)
