"""MariaDB / MySQL component: ``mariadb-dump`` streamed into zstd, restored with ``mariadb``.

Artifacts: ``<name>.sql.zst`` (the dump of one database, without ``CREATE DATABASE``/``USE``
so it always lands in the configured database) and ``<name>.meta.json`` (what restore needs
before reading the dump: database character set and collation, definers, object kinds).

Restore drops and recreates the database, then loads the dump: every object created after the
snapshot (tables, views, routines, triggers, events, sequences) is gone by construction, with no
list of object kinds to keep up to date. Credentials go to the tools through a private option
file, never on their command lines.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components import binlog
from rollback.data.snapshots.components.base import (
    Artifact,
    DatabaseComponent,
    DumpResult,
    Opener,
    StreamResult,
    Writer,
    no_stream,
)
from rollback.data.snapshots.components.mysql_grants import DefinerScanner, missing_privileges
from rollback.data.snapshots.components.pipeline import feed, stream_to
from rollback.data.snapshots.compress import CompressedWriter, read_chunks, sha256_file
from rollback.data.snapshots.urls import ServiceURL
from rollback.errors import OperationError, RefusedError
from rollback.proc import ProcessError, run

DUMP_TOOLS = ("mariadb-dump", "mysqldump")
CLIENT_TOOLS = ("mariadb", "mysql")
FOOTER = b"-- Dump completed"
DUMP_OPTIONS = (
    "--single-transaction",  # one consistent InnoDB snapshot, no locks held
    "--routines",
    "--events",
    "--triggers",
    "--hex-blob",  # binary columns as hex: byte-exact through any client charset
    "--default-character-set=utf8mb4",
    "--add-drop-table",
    "--skip-dump-date",  # same data, same dump: sha256 comparable between snapshots
    "--no-tablespaces",  # tablespaces are server-wide and need PROCESS on MySQL 8
)


def from_url(name: str, url: ServiceURL) -> MySQLComponent:
    """Build the component the local store calls ``name`` for a ``mysql://`` URL."""
    return MySQLComponent(name, url)


def _tool(candidates: tuple[str, ...]) -> str:
    for tool in candidates:
        if shutil.which(tool):
            return tool
    raise OperationError(
        f"neither {' nor '.join(candidates)} is installed",
        hint="install the MariaDB or MySQL client tools",
    )


def _quote_option(value: str) -> str:
    # Option files understand \\ \" \n \t escapes inside double quotes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


@contextmanager
def option_file(url: ServiceURL) -> Iterator[Path]:
    """A private ``[client]`` option file (0600 in a 0700 folder), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="rollback-mysql-"))
    path = folder / "client.cnf"
    lines = ["[client]", f"host={_quote_option(url.host or '127.0.0.1')}", f"port={url.port}"]
    if url.user:
        lines.append(f"user={_quote_option(url.user)}")
    if url.password is not None:
        lines.append(f"password={_quote_option(url.password)}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class MySQLComponent(DatabaseComponent):
    """One MariaDB/MySQL database of the local store."""

    kind = "mysql"
    dump_suffix = ".sql.zst"

    def _query(self, cnf: Path, sql: str) -> list[list[str]]:
        client = _tool(CLIENT_TOOLS)
        done = run([client, f"--defaults-extra-file={cnf}", "-N", "-B", "-e", sql])
        return [line.split("\t") for line in done.stdout.splitlines()]

    @property
    def stream_name(self) -> str:
        return f"{self.name}.sql"

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Dump the database into ``dest``; raise OperationError unless the dump is complete."""
        path = dest / self.dump_file
        try:
            with CompressedWriter(path) as writer:
                result = self.dump_stream(writer, progress)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        meta_path = dest / self.meta_file
        _write_durably(meta_path, json.dumps(result.meta, indent=2, sort_keys=True) + "\n")
        return DumpResult(
            artifacts=(Artifact(path.name, writer.size, writer.sha256), _artifact(meta_path)),
            raw_bytes=result.raw_bytes,
            server_version=result.server_version,
            details=result.details,
        )

    def dump_stream(self, out: Writer, progress: Progress) -> StreamResult:
        """Stream ``mariadb-dump`` into ``out``; raise unless it ends with its footer."""
        tool = _tool(DUMP_TOOLS)
        with option_file(self.url) as cnf:
            where = f"WHERE SCHEMA_NAME = {_literal(self.database)}"  # escaped literal
            rows = self._query(
                cnf,
                "SELECT VERSION(), DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                "FROM information_schema.SCHEMATA " + where,
            )
            if not rows:
                raise OperationError(
                    f"{self.name}: database {self.database!r} does not exist ({self.describe()})"
                )
            version, charset, collation = rows[0]
            flags = _tool_flags(tool)
            # issue 14: the log position consistent with the dump, when the server logs
            log_flags, log_note = binlog.dump_flags(binlog.Client(cnf), mariadb=not flags)
            args = [tool, f"--defaults-extra-file={cnf}", *DUMP_OPTIONS, *flags, *log_flags]
            args += ["--", self.database]
            scanner = DefinerScanner()
            position = binlog.DumpPositionScanner()

            def scan(chunk: bytes) -> None:
                scanner.feed(chunk)
                position.feed(chunk)

            raw = stream_dump_into(args, out, on_chunk=scan, progress=progress, name=self.name)
            scanner.finish()
        log = binlog.log_details(position.position() if log_flags else None, log_note)
        definers = sorted({d for _, d in scanner.found})
        kinds = sorted({k for k, _ in scanner.found})
        meta: dict[str, object] = {
            "database": self.database,
            "charset": charset,
            "collation": collation,
            "server_version": version,
            "raw_bytes": raw,
            "definers": definers,
            "object_kinds": kinds,
            **log,
        }
        details = {
            "definers": ", ".join(definers),
            "object_kinds": ", ".join(kinds),
            "charset": f"{charset}/{collation}",
            "tool": tool,
            **log,
        }
        return StreamResult(raw, meta, version, details)

    def check_restore(self, src: Path) -> None:
        """Refuse (one line) if the restoring user lacks a privilege the dump needs."""
        self.check_restore_stream(self._meta(src), no_stream)

    def check_restore_stream(self, meta: dict[str, object], stream: Opener) -> None:
        """Refuse (one line) if the restoring user lacks a privilege the dump needs."""
        try:
            _tool(CLIENT_TOOLS)
        except OperationError as exc:
            raise RefusedError(f"{self.name}: {exc}", hint=exc.hint) from exc
        with option_file(self.url) as cnf:
            try:
                rows = self._query(
                    cnf,
                    "SELECT CURRENT_USER(), @@log_bin, @@log_bin_trust_function_creators; "
                    "SHOW GRANTS",
                )
            except ProcessError as exc:
                raise RefusedError(f"{self.name}: cannot query privileges: {exc}") from exc
        current, log_bin, trust = rows[0]
        grants = [row[0] for row in rows[1:]]
        kinds = set(_strings(meta.get("object_kinds")))
        missing = missing_privileges(
            grants,
            database=self.database,
            kinds=kinds,
            foreign_definers=[d for d in _strings(meta.get("definers")) if d != current],
            binlog_functions="function" in kinds and log_bin == "1" and trust == "0",
        )
        if missing:
            raise RefusedError(
                f"{self.name}: {current} lacks {', '.join(missing)} needed to restore this dump",
                hint=f"grant them on {_ident(self.database)}.* (SUPER or SET USER on *.*), "
                "or restore as an administrator",
            )

    def restore(self, src: Path, progress: Progress) -> None:
        """Drop and recreate the database, then load the dump into it."""
        self.restore_stream(self._meta(src), read_chunks(src / self.dump_file), progress)

    def restore_stream(
        self, meta: dict[str, object], chunks: Iterable[bytes], progress: Progress
    ) -> None:
        """Drop and recreate the database, then load the dump from ``chunks`` into it."""
        client = _tool(CLIENT_TOOLS)
        total = meta.get("raw_bytes")
        db = _ident(self.database)
        create = f"CREATE DATABASE {db}"
        for key, clause in (("charset", "CHARACTER SET"), ("collation", "COLLATE")):
            value = meta.get(key)
            if isinstance(value, str) and re.fullmatch(r"\w+", value):
                create += f" {clause} {value}"
        with option_file(self.url) as cnf:
            self._query(cnf, f"DROP DATABASE IF EXISTS {db}; {create}")
            load = [
                client,
                f"--defaults-extra-file={cnf}",
                "--default-character-set=utf8mb4",
                "--binary-mode",  # keep \r and \0 inside routine bodies exactly as dumped
                "--max-allowed-packet=1G",
                self.database,
            ]
            feed(
                [load],
                chunks,
                tick=lambda n: progress(self.name, n, total if isinstance(total, int) else None),
            )

    def verify(self, src: Path) -> list[str]:
        """Decompress the dump end to end: its size and footer must match what was recorded."""
        try:
            meta = self._meta(src)
        except RefusedError as exc:
            return [str(exc)]
        try:
            return self.verify_stream(meta, read_chunks(src / self.dump_file))
        except Exception as exc:  # any decoding failure is a problem to report, not a crash
            return [f"{self.name}: {self.dump_file} does not decompress: {exc}"]

    def verify_stream(self, meta: dict[str, object], chunks: Iterable[bytes]) -> list[str]:
        """Read the dump end to end: its size and footer must match what was recorded."""
        size = 0
        tail = b""
        for chunk in chunks:
            size += len(chunk)
            tail = (tail + chunk)[-4096:]
        problems = []
        if size != meta.get("raw_bytes"):
            problems.append(f"{self.name}: dump is {size} bytes, {meta.get('raw_bytes')} recorded")
        if not has_footer(tail):
            problems.append(f"{self.name}: dump does not end with the '-- Dump completed' footer")
        return problems


def stream_dump(
    args: list[str],
    path: Path,
    *,
    on_chunk: Callable[[bytes], None] | None = None,
    progress: Progress,
    name: str,
) -> tuple[int, Artifact]:
    """Stream ``args``' stdout into ``path`` (zstd); keep it only if the footer is there.

    Returns the uncompressed size and the artifact (size and sha256 computed while writing).
    On any failure the partial file is removed and OperationError (or ProcessError) is raised.
    """
    try:
        with CompressedWriter(path) as writer:
            raw = stream_dump_into(args, writer, on_chunk=on_chunk, progress=progress, name=name)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return raw, Artifact(path.name, writer.size, writer.sha256)


def stream_dump_into(
    args: list[str],
    out: Writer,
    *,
    on_chunk: Callable[[bytes], None] | None = None,
    progress: Progress,
    name: str,
) -> int:
    """Stream ``args``' stdout into ``out``; raise before the end unless the footer is there."""
    streamed = stream_to(args, out, on_chunk=on_chunk, tick=lambda n: progress(name, n, None))
    if not has_footer(streamed.tail):
        raise OperationError(
            f"{name}: {args[0]} output ends without the '-- Dump completed' footer",
            hint="the dump was cut short; the snapshot was not kept",
        )
    return streamed.raw_bytes


def has_footer(tail: bytes) -> bool:
    """True if the last non-empty line of the stream is the dump tools' completion footer."""
    lines = tail.rstrip().splitlines()
    return bool(lines) and lines[-1].startswith(FOOTER)


def _tool_flags(tool: str) -> list[str]:
    # MySQL's own mysqldump writes SET @@GLOBAL.GTID_PURGED on GTID servers, which a restore
    # into an existing server refuses; MariaDB's tools neither need nor know the flag.
    version = run([tool, "--version"], check=False).stdout
    return [] if "MariaDB" in version else ["--set-gtid-purged=OFF"]


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _artifact(path: Path) -> Artifact:
    return Artifact(path.name, path.stat().st_size, sha256_file(path))


def _write_durably(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
