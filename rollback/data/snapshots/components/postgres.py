"""PostgreSQL component: ``pg_dump --format=custom --compress=0`` streamed into zstd.

Measured on a 233 MB database (benchmarks/db_compression.sh, 2 cores): pg_dump's default zlib
takes 8.8 s for 123 MB; ``-Z0`` piped through zstd -1 takes 1.5 s for 107 MB (zstd -3: 2.5 s,
114 MB). So pg_dump does not compress and the zstd writer shared by every component does, in
our process, on the other core. The archive then comes to pg_restore through a pipe, which
rules out ``pg_restore -j``; that is no loss, since ``--single-transaction`` excludes it anyway.

Restore runs in ONE transaction: ``pg_restore --clean --if-exists --single-transaction`` turns
the archive into SQL that psql executes after a preamble, in the same transaction, that drops
every object the dump may not know about (all non-system schemas except ``public``, everything
inside ``public``, event triggers, large objects). Objects created after the snapshot are thus
gone, and any failure rolls everything back: the database is either the snapshot or untouched.
Owners and privileges are restored as dumped (no ``--no-owner``): the snapshot is the truth,
and ``check_restore`` refuses up front when the restoring role cannot take those owners.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import (
    Artifact,
    DatabaseComponent,
    DumpResult,
    Opener,
    StreamResult,
    Writer,
    no_stream,
)
from rollback.data.snapshots.components.pipeline import HeadReader, feed, stream_to
from rollback.data.snapshots.compress import CompressedWriter, read_chunks, sha256_file
from rollback.data.snapshots.urls import ServiceURL
from rollback.errors import OperationError, RefusedError
from rollback.proc import ProcessError, run

# Runs inside the restore transaction, before the archive's own statements. The list of
# objects in public is taken before dropping anything (a cursor would see them vanish);
# members of extensions and objects internal to another one (range constructors) go with
# their owner.
PREAMBLE = r"""
DO $rollback$
DECLARE r record; obj text;
BEGIN
  FOR r IN SELECT evtname FROM pg_event_trigger LOOP
    EXECUTE format('DROP EVENT TRIGGER IF EXISTS %I CASCADE', r.evtname);
  END LOOP;
  FOR r IN SELECT nspname FROM pg_namespace
            WHERE nspname !~ '^pg_' AND nspname NOT IN ('information_schema', 'public') LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  FOR r IN SELECT extname FROM pg_extension WHERE extnamespace = to_regnamespace('public') LOOP
    EXECUTE format('DROP EXTENSION IF EXISTS %I CASCADE', r.extname);
  END LOOP;
  FOREACH obj IN ARRAY coalesce((
    SELECT array_agg(DISTINCT replace(o.type, 'statistics object', 'statistics')
                              || ' IF EXISTS ' || o.identity)
      FROM pg_depend d CROSS JOIN LATERAL pg_identify_object(d.classid, d.objid, 0) o
     WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = to_regnamespace('public')
       AND d.deptype = 'n'
       AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = d.classid
                          AND i.objid = d.objid AND i.deptype IN ('i', 'e'))), '{}') LOOP
    EXECUTE 'DROP ' || obj || ' CASCADE';
  END LOOP;
  PERFORM lo_unlink(oid) FROM pg_largeobject_metadata;
END $rollback$;
"""
# A TOC line of ``pg_restore --list``: "215; 1259 16388 TABLE public t owner".
_TOC_LINE = re.compile(r"^\d+; \d+ \d+ ")


def from_url(name: str, url: ServiceURL) -> PostgresComponent:
    """Build the component the local store calls ``name`` for a ``postgresql://`` URL."""
    return PostgresComponent(name, url)


def _require(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise OperationError(
                f"{tool} is not installed", hint="install the PostgreSQL client tools"
            )


def _passfile_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


@contextmanager
def pg_env(url: ServiceURL) -> Iterator[dict[str, str]]:
    """Environment for the tools: a private passfile (0600, removed afterwards) if needed."""
    if url.password is None:
        yield {}
        return
    folder = Path(tempfile.mkdtemp(prefix="rollback-pg-"))
    path = folder / "pgpass"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"*:*:*:*:{_passfile_escape(url.password)}\n")
        # An empty PGPASSWORD makes libpq read the passfile: a stale PGPASSWORD inherited from
        # the caller's environment would otherwise win over the configured password.
        yield {"PGPASSFILE": str(path), "PGPASSWORD": ""}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def parse_toc(listing: str) -> tuple[int, list[str]]:
    """(number of entries, sorted owners) from ``pg_restore --list`` output."""
    entries = [line for line in listing.splitlines() if _TOC_LINE.match(line)]
    owners = {line.rsplit(" ", 1)[-1] for line in entries if not line.endswith(" -")}
    return len(entries), sorted(owners - {""})


class PostgresComponent(DatabaseComponent):
    """One PostgreSQL database of the local store."""

    kind = "postgres"
    dump_suffix = ".pgdump.zst"

    def _conn(self) -> list[str]:
        # host, port and user may be seen in ps; the password travels in PGPASSFILE only
        args = ["-h", self.url.host or "127.0.0.1", "-p", str(self.url.port), "--no-password"]
        return args + (["-U", self.url.user] if self.url.user else [])

    def _psql(self, env: dict[str, str], sql: str) -> list[list[str]]:
        args = ["psql", "-X", "-A", "-t", "-q", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        done = run([*args, *self._conn(), "-d", self.database, "-c", sql], env=env)
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    @property
    def stream_name(self) -> str:
        return f"{self.name}.pgdump"

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Dump into ``dest``; the archive must be readable by ``pg_restore --list``."""
        path = dest / self.dump_file
        try:
            with CompressedWriter(path) as writer:
                result = self.dump_stream(writer, progress)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        meta_path = dest / self.meta_file
        with meta_path.open("w", encoding="utf-8") as fh:
            fh.write(json.dumps(result.meta, indent=2, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return DumpResult(
            artifacts=(
                Artifact(path.name, writer.size, writer.sha256),
                Artifact(meta_path.name, meta_path.stat().st_size, sha256_file(meta_path)),
            ),
            raw_bytes=result.raw_bytes,
            server_version=result.server_version,
            details=result.details,
        )

    def dump_stream(self, out: Writer, progress: Progress) -> StreamResult:
        """Stream ``pg_dump`` into ``out``; ``pg_restore --list`` reads its head on the way.

        The table of contents comes first in an archive written to a pipe, so the listing
        costs no second read of the dump, whichever store keeps it.
        """
        _require("pg_dump", "pg_restore", "psql")
        with pg_env(self.url) as env:
            version = self._psql(env, "SHOW server_version")[0][0]
            args = ["pg_dump", "--format=custom", "--compress=0", *self._conn()]
            args += ["-d", self.database]
            with HeadReader(["pg_restore", "--list"], env=env) as toc:
                streamed = stream_to(
                    args,
                    out,
                    env=env,
                    on_chunk=toc.feed,
                    tick=lambda n: progress(self.name, n, None),
                )
                try:
                    entries, owners = parse_toc(toc.finish())
                except ProcessError as exc:
                    raise OperationError(
                        f"{self.name}: pg_restore cannot read the dump: {exc}"
                    ) from exc
        meta: dict[str, object] = {
            "database": self.database,
            "server_version": version,
            "raw_bytes": streamed.raw_bytes,
            "toc_entries": entries,
            "owners": owners,
        }
        details = {"toc_entries": str(entries), "owners": ", ".join(owners)}
        return StreamResult(streamed.raw_bytes, meta, version, details)

    def check_restore(self, src: Path) -> None:
        """Refuse (one line) if the restoring role cannot drop what is there or own what comes."""
        self.check_restore_stream(self._meta(src), no_stream)

    def check_restore_stream(self, meta: dict[str, object], stream: Opener) -> None:
        """Refuse (one line) if the restoring role cannot drop what is there or own what comes."""
        try:
            _require("pg_restore", "psql")
        except OperationError as exc:
            raise RefusedError(f"{self.name}: {exc}", hint=exc.hint) from exc
        owners = meta.get("owners")
        wanted = [o for o in owners if isinstance(o, str)] if isinstance(owners, list) else []
        array = "ARRAY[" + ",".join(_sql_literal(o) for o in wanted) + "]::text[]"
        # the owners come from our own manifest and are quoted as literals above
        sql = (
            "SELECT 'role', r FROM unnest(" + array + ") r "  # noqa: S608
            "WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) "
            "UNION ALL SELECT 'owner', r FROM unnest(" + array + ") r "
            "WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) "
            "AND NOT pg_has_role(current_user, r, 'MEMBER') "
            "UNION ALL SELECT 'schema', nspname FROM pg_namespace "
            "WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' "
            "AND NOT pg_has_role(current_user, nspowner, 'MEMBER')"
        )
        with pg_env(self.url) as env:
            try:
                rows = self._psql(env, sql)
            except ProcessError as exc:
                raise RefusedError(f"{self.name}: cannot check privileges: {exc}") from exc
        if not rows:
            return
        what = {
            "role": "missing role",
            "owner": "cannot own objects of",
            "schema": "does not own schema",
        }
        problems = "; ".join(f"{what[kind]} {name}" for kind, name in rows[:5])
        raise RefusedError(
            f"{self.name}: restoring as {self.url.user or 'this user'} would fail: {problems}",
            hint="restore as a superuser or as the owner role, or create/grant the missing roles",
        )

    def restore(self, src: Path, progress: Progress) -> None:
        """Replace the database's content with the snapshot, atomically."""
        self.restore_stream(self._meta(src), read_chunks(src / self.dump_file), progress)

    def restore_stream(
        self, meta: dict[str, object], chunks: Iterable[bytes], progress: Progress
    ) -> None:
        """Replace the database's content with the archive in ``chunks``, atomically."""
        _require("pg_restore", "psql")
        total = meta.get("raw_bytes")
        to_sql = ["pg_restore", "--clean", "--if-exists", "--single-transaction", "--file=-"]
        # psql runs BEGIN and the preamble first; the archive's own BEGIN is then a no-op and
        # its final COMMIT commits all. If pg_restore stops early no COMMIT ever arrives and
        # the server rolls back when psql disconnects.
        apply = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *self._conn(), "-d", self.database]
        apply += ["-c", "SET client_min_messages = error", "-c", "BEGIN", "-c", PREAMBLE, "-f", "-"]
        with pg_env(self.url) as env:
            feed(
                [to_sql, apply],
                chunks,
                env=env,
                tick=lambda n: progress(self.name, n, total if isinstance(total, int) else None),
            )

    def verify(self, src: Path) -> list[str]:
        """``pg_restore --list`` reads the table of contents; the rest must decompress whole."""
        try:
            meta = self._meta(src)
        except RefusedError as exc:
            return [str(exc)]
        return self.verify_stream(meta, read_chunks(src / self.dump_file))

    def verify_stream(self, meta: dict[str, object], chunks: Iterable[bytes]) -> list[str]:
        """``pg_restore --list`` reads the table of contents; the rest must read whole."""
        try:
            _require("pg_restore")
        except OperationError as exc:
            return [str(exc)]
        fed = 0

        def counted() -> Iterator[bytes]:
            nonlocal fed
            for chunk in chunks:
                fed += len(chunk)
                yield chunk

        stream = counted()
        problems = []
        try:
            with pg_env(self.url) as env:
                entries, _ = parse_toc(
                    feed([["pg_restore", "--list"]], stream, env=env, must_consume=False)
                )
            for _ in stream:  # the rest of the archive: zstd checks every frame
                pass
        except Exception as exc:  # any read or tool failure is a problem to report
            return [f"{self.name}: {self.stream_name} is not a readable archive: {exc}"]
        if entries != meta.get("toc_entries"):
            problems.append(
                f"{self.name}: {entries} TOC entries, {meta.get('toc_entries')} recorded"
            )
        if fed != meta.get("raw_bytes"):
            problems.append(
                f"{self.name}: archive is {fed} bytes, {meta.get('raw_bytes')} recorded"
            )
        return problems
