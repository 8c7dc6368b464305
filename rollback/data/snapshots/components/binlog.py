"""MariaDB binary log: positions, refusals, and the replay after a restore.

A snapshot records the position its dump is consistent with (``mariadb-dump --master-data=2``
writes it into the dump header, taken inside the dump's own transaction); a deploy mark
records ``SHOW MASTER STATUS`` and the GTID state at that position. To restore to a mark, the
log between the snapshot's position and now is copied from the server
(``mariadb-binlog --read-from-remote-server --raw``: works against a remote server too), read
(``binlog_events``), chosen from (``binlog_replay``) and fed to the ``mariadb`` client as
``BINLOG`` statements, which the server applies exactly as a replica would.

Everything that can refuse runs in ``prepare``, before the restore changes anything.
"""

from __future__ import annotations

import mmap
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from rollback.data.snapshots.components import binlog_replay as replay
from rollback.data.snapshots.components.binlog_events import BinlogError, LogFile, read_file
from rollback.data.snapshots.components.binlog_replay import Pos, ReplayPlan
from rollback.errors import OperationError, RefusedError
from rollback.proc import ProcessError, run

_CHANGE_MASTER = re.compile(
    rb"^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);"
)
_GTID_SLAVE_POS = re.compile(rb"^-- SET GLOBAL gtid_slave_pos='([^']*)';")
# binlog type codes each information_schema DATA_TYPE may be logged as
_TYPE_CODES: dict[str, frozenset[int]] = {
    "tinyint": frozenset({1}),
    "smallint": frozenset({2}),
    "mediumint": frozenset({9}),
    "int": frozenset({3}),
    "bigint": frozenset({8}),
    "float": frozenset({4}),
    "double": frozenset({5}),
    "decimal": frozenset({246}),
    "date": frozenset({10, 14}),
    "datetime": frozenset({12, 18}),
    "timestamp": frozenset({7, 17}),
    "time": frozenset({11, 19}),
    "year": frozenset({13}),
    "char": frozenset({254}),
    "binary": frozenset({254}),
    "enum": frozenset({254, 247}),
    "set": frozenset({254, 248}),
    "varchar": frozenset({15}),
    "varbinary": frozenset({15}),
    "bit": frozenset({16}),
    "json": frozenset({252}),
    **{t: frozenset({252}) for t in ("tinytext", "text", "mediumtext", "longtext")},
    **{t: frozenset({252}) for t in ("tinyblob", "blob", "mediumblob", "longblob")},
    **{t: frozenset({255}) for t in ("geometry", "point", "linestring", "polygon")},
    "inet6": frozenset({254}),
    "uuid": frozenset({254}),
}
_META_SIZE = {4: 1, 5: 1, 15: 2, 16: 2, 246: 2, 254: 2, 247: 2, 248: 2, 252: 1, 255: 1}
_META_SIZE.update({17: 1, 18: 1, 19: 1})


@dataclass(frozen=True)
class LogPosition:
    """Where the binary log stood: file, position and the GTID state there."""

    file: str
    pos: int
    gtid: str  # e.g. "0-1-42" (one entry per replication domain), "" before the first

    def details(self) -> dict[str, str]:
        return {"binlog_file": self.file, "binlog_pos": str(self.pos), "binlog_gtid": self.gtid}

    @classmethod
    def from_details(cls, details: dict[str, str]) -> LogPosition | None:
        if not details.get("binlog_file") or not details.get("binlog_pos", "").isdigit():
            return None
        return cls(
            details["binlog_file"], int(details["binlog_pos"]), details.get("binlog_gtid", "")
        )

    @property
    def at(self) -> Pos:
        return Pos(self.file, self.pos)


def dump_flags(client: Client, *, mariadb: bool) -> tuple[list[str], str]:
    """(extra mariadb-dump flags, note): ``--master-data=2`` when the log can be read."""
    if not mariadb:
        return [], "not recorded: log positions are read for MariaDB only"
    try:
        if client.rows("SELECT @@log_bin")[0][0] != "1":
            return [], "not recorded: binary logging is off on the server (log_bin)"
        client.rows("SHOW MASTER STATUS")  # needs BINLOG MONITOR; --master-data reads it
    except ProcessError as exc:
        return [], f"not recorded: {exc}"
    return ["--master-data=2"], ""


def log_details(position: LogPosition | None, note: str) -> dict[str, str]:
    """What a snapshot records of the log: the position, or why there is none."""
    if position is not None:
        return position.details()
    return {"binlog": note or "not recorded: the dump did not name its log position"}


class DumpPositionScanner:
    """Reads the position ``--master-data=2`` writes into the dump (header and tail)."""

    def __init__(self) -> None:
        self.file: str | None = None
        self.pos: int | None = None
        self.gtid: str | None = None
        self._rest = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()[-4096:]
        for line in lines:
            if line.startswith(b"-- CHANGE MASTER") or line.startswith(b"-- SET GLOBAL gtid"):
                self._line(line)

    def _line(self, line: bytes) -> None:
        found = _CHANGE_MASTER.match(line)
        if found and self.file is None:
            self.file, self.pos = found.group(1).decode(), int(found.group(2))
        found = _GTID_SLAVE_POS.match(line)
        if found:
            self.gtid = found.group(1).decode()

    def position(self) -> LogPosition | None:
        if self.file is None or self.pos is None:
            return None
        return LogPosition(self.file, self.pos, self.gtid or "")


class Client:
    """The ``mariadb`` client with a private option file: rows of tab-separated text."""

    def __init__(self, cnf: Path) -> None:
        self.cnf = cnf
        self.tool = "mariadb" if shutil.which("mariadb") else "mysql"

    def rows(self, sql: str) -> list[list[str]]:
        done = run([self.tool, f"--defaults-extra-file={self.cnf}", "-N", "-B", "-e", sql])
        return [line.split("\t") for line in done.stdout.splitlines()]

    def named(self, sql: str) -> list[dict[str, str]]:
        done = run([self.tool, f"--defaults-extra-file={self.cnf}", "-B", "-e", sql])
        lines = [line.split("\t") for line in done.stdout.splitlines()]
        return [dict(zip(lines[0], line, strict=False)) for line in lines[1:]] if lines else []


def logging_state(client: Client) -> str | None:
    """Why the server's log cannot serve a replay (one line), or None when it can."""
    log_bin, fmt = client.rows("SELECT @@log_bin, @@binlog_format")[0]
    if log_bin != "1":
        return "binary logging is off on the server (log_bin)"
    if fmt.upper() != "ROW":
        return f"the binary log format is {fmt}, not ROW (binlog_format=ROW)"
    return replica_lag(client)


def replica_lag(client: Client) -> str | None:
    """Why a replica's log is not current (it lags or its replication stopped), or None.

    A replica's own log holds only what it has applied: positions read there miss the
    primary's latest writes, so marks and replays belong on the primary.
    """
    for status in client.named("SHOW ALL SLAVES STATUS"):
        name = status.get("Connection_name") or status.get("Master_Host") or "replication"
        lag = status.get("Seconds_Behind_Master", "NULL")
        if not lag.isdigit():
            return (
                f"the server is a replica whose replication ({name}) is not running: its lag "
                "is unknown, so its log may miss the primary's writes; use the primary"
            )
        if int(lag) > 0:
            return f"the server is a replica {lag} s behind its primary; use the primary"
    return None


def current_position(client: Client) -> LogPosition:
    """``SHOW MASTER STATUS`` and the GTID state at exactly that position."""
    query = client.rows
    rows = query("SHOW MASTER STATUS")
    if not rows or not rows[0] or not rows[0][0]:
        raise RefusedError("binary logging is off on the server (log_bin)")
    file, pos = rows[0][0], int(rows[0][1])
    gtid = query(f"SELECT BINLOG_GTID_POS({literal(file)}, {pos})")[0][0]
    return LogPosition(file, pos, "" if gtid == "NULL" else gtid)


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Prepared:
    """The log read and checked before the restore; ``plan`` says what will be replayed."""

    plan: ReplayPlan
    end: LogPosition
    folder: Path


@contextmanager
def prepare(
    client: Client,
    database: str,
    *,
    start: LogPosition,
    mark: LogPosition,
    keep_writes: bool,
) -> Iterator[Prepared]:
    """Check the log and read it from ``start`` to now; refuse (one line) before any change."""
    why = logging_state(client)
    if why:
        raise RefusedError(why)
    query = client.rows
    grants = " ".join(row[0] for row in query("SHOW GRANTS")).upper()
    if not any(p in grants for p in ("ALL PRIVILEGES ON *.*", "BINLOG REPLAY", "SUPER")):
        raise RefusedError("the user lacks the BINLOG REPLAY privilege the replay needs")
    end = current_position(client)
    files = [row[0] for row in query("SHOW BINARY LOGS")]
    if start.file not in files:
        raise RefusedError(
            f"binary log {start.file} (the snapshot's position) was purged from the server: "
            "the writes since the snapshot are no longer in the log"
        )
    found = query(f"SELECT BINLOG_GTID_POS({literal(start.file)}, {start.pos})")[0][0]
    if found == "NULL" or replay.parse_gtids(found) != replay.parse_gtids(start.gtid):
        raise RefusedError(
            f"the log position {start.at} recorded with the snapshot does not match the "
            f"server's log (GTID {start.gtid or 'none'} recorded, "
            f"{'no event boundary' if found == 'NULL' else found or 'none'} there): the log was "
            "reset or this is another server"
        )
    if mark.file not in files:
        raise RefusedError(f"binary log {mark.file} (the deploy mark's position) was purged")
    wanted = files[files.index(start.file) : files.index(end.file) + 1]
    folder = Path(tempfile.mkdtemp(prefix="rollback-binlog-"))
    try:
        with ExitStack() as stack:
            _fetch(client.cnf, wanted, folder)
            logs = [_read(stack, folder / name, start) for name in wanted]
            try:
                plan = replay.select(
                    logs,
                    database=database,
                    start=start.at,
                    mark=mark.at,
                    end=end.at,
                    start_gtid=start.gtid,
                    keep_writes=keep_writes,
                )
            except BinlogError as exc:
                raise RefusedError(f"the binary log cannot be read: {exc}") from exc
            yield Prepared(plan, end, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _read(stack: ExitStack, path: Path, start: LogPosition) -> LogFile:
    data: bytes | mmap.mmap = b""
    if path.stat().st_size:
        fh = stack.enter_context(path.open("rb"))
        data = stack.enter_context(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    try:
        return read_file(path.name, data, since=start.pos if path.name == start.file else 0)
    except BinlogError as exc:
        raise RefusedError(f"the binary log cannot be read: {exc}") from exc


def _fetch(cnf: Path, files: list[str], folder: Path) -> None:
    tool = "mariadb-binlog" if shutil.which("mariadb-binlog") else "mysqlbinlog"
    try:
        run(
            [
                tool,
                f"--defaults-extra-file={cnf}",
                "--read-from-remote-server",
                "--raw",
                f"--result-file={folder}/",
                *files,
            ]
        )
    except ProcessError as exc:
        raise RefusedError(f"cannot copy the binary log from the server: {exc}") from exc
    except OperationError as exc:
        raise RefusedError(f"cannot copy the binary log: {exc}", hint=exc.hint) from exc


def unfit_tables(
    plan: ReplayPlan, columns: dict[str, list[tuple[str, int | None, int | None, int | None]]]
) -> dict[str, str]:
    """Tables whose logged writes after the mark do not fit the restored schema, and why.

    ``columns``: table -> (DATA_TYPE, CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION,
    NUMERIC_SCALE) in column order, read after the replay to the mark.
    """
    unfit: dict[str, str] = {}
    for txn in plan.after_mark:
        for statement in txn.rows:
            for m in statement.maps:
                if m.table in unfit or m.table in plan.touched:
                    continue
                live = columns.get(m.table)
                why = (
                    _fit(m.types, m.meta, live)
                    if live is not None
                    else "the table does not exist in the restored data"
                )
                if why:
                    unfit[m.table] = why
    return unfit


def _fit(
    types: bytes, meta: bytes, live: list[tuple[str, int | None, int | None, int | None]]
) -> str | None:
    if len(types) != len(live):
        return f"its writes have {len(types)} columns, the restored table {len(live)}"
    at = 0
    for i, (code, (data_type, octets, precision, scale)) in enumerate(
        zip(types, live, strict=True)
    ):
        size = _META_SIZE.get(code, 0)
        m = meta[at : at + size]
        at += size
        allowed = _TYPE_CODES.get(data_type)
        if allowed is None:
            return f"column {i + 1} has type {data_type}, which the check does not know"
        if code not in allowed:
            return f"column {i + 1} is logged as type {code}, the restored column is {data_type}"
        if code == 15 and octets is not None and int.from_bytes(m, "little") > octets:
            return f"column {i + 1} is longer in its writes than in the restored table"
        if code == 246 and (m[0], m[1]) != (precision, scale):
            return (
                f"column {i + 1} is decimal({m[0]},{m[1]}) in its writes, "
                f"decimal({precision},{scale}) restored"
            )
    return None
