"""Snapshot scenarios: ``rollback snapshot create|restore`` (local store) vs the native tools.

Each kind gets its own project folder whose ``.rollback.toml`` names only that component, a
generated data set, and a native pipeline producing a comparable artifact. Restores run with
``--no-safety-snapshot`` because the native tools take none; the default restore (safety
snapshot first) costs one create more. Databases are named ``rbbench_<pid>`` and dropped at
the end, whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import datagen
from benchmarks.context import Context
from benchmarks.measure import Measurement, Row, Scenario, Target, measure, shell

MEMORY_LIMIT_MB = 150.0
MY = "-h127.0.0.1 -P3306 -uroot"
MYDUMP = (
    "--single-transaction --routines --events --triggers --hex-blob --default-character-set=utf8mb4"
)
PG = "-h 127.0.0.1 -U postgres"


@dataclass
class DataSet:
    """One kind of data, its project folder, and the native commands that match ours."""

    kind: str
    title: str
    project: Path
    toml: str
    native_create: list[str]
    native_restore: list[str]
    native_artifact: Path
    prepare_restore: Callable[[], None] = lambda: None
    after_native_create: Callable[[], None] = lambda: None
    cleanup: Callable[[], None] = lambda: None
    size_mb: Callable[[], float] = lambda: 0.0
    notes: list[str] = field(default_factory=list)


def _project(ctx: Context, kind: str) -> tuple[Path, Path]:
    project = ctx.work / "data" / kind
    native = ctx.work / "native" / kind
    project.mkdir(parents=True)
    native.mkdir(parents=True)
    return project, native


def sqlite_set(ctx: Context) -> DataSet:
    project, native = _project(ctx, "sqlite")
    db = project / "var" / "shop.sqlite"
    db.parent.mkdir()
    datagen.sqlite_db(db, ctx.data_mb)
    out = native / "shop.sqlite.gz"
    return DataSet(
        "sqlite",
        "SQLite database",
        project,
        f'[tool.rollback.local]\npaths = []\nservices = [{{url = "sqlite:///{db}"}}]\n',
        shell(
            f"sqlite3 {db} '.backup {native}/copy.sqlite' && gzip -1 -c {native}/copy.sqlite "
            f"> {out} && rm {native}/copy.sqlite"
        ),
        shell(f"gzip -d -c {out} > {db}"),
        out,
        size_mb=lambda: db.stat().st_size / 1e6,
        notes=[
            "No native tool is named in the issue for SQLite: the baseline is "
            "`sqlite3 .backup` then `gzip -1`, and `gunzip` over the file to restore."
        ],
    )


def mysql_set(ctx: Context) -> DataSet:
    project, native = _project(ctx, "mysql")
    name = f"rbbench_{os.getpid()}"
    datagen.mysql_db(name, ctx.data_mb)
    out, plain = native / "dump.sql.gz", native / "dump.sql"
    return DataSet(
        "mysql",
        "MariaDB database",
        project,
        "[tool.rollback.local]\npaths = []\n"
        f'services = [{{url = "mysql://root@127.0.0.1:3306/{name}"}}]\n',
        shell(f"mariadb-dump {MY} {MYDUMP} {name} | gzip > {out}"),
        ["bash", "-c", f"mariadb {MY} {name} < {plain}"],
        out,
        after_native_create=lambda: _gunzip(out, plain),
        cleanup=lambda: datagen.mysql(f"DROP DATABASE IF EXISTS `{name}`"),
        size_mb=lambda: datagen.mysql_mb(name),
        notes=[
            "Native restore is `mariadb < dump.sql` on the uncompressed dump, as the issue "
            "names it (decompressed beforehand, outside the timing)."
        ],
    )


def postgres_set(ctx: Context) -> DataSet:
    project, native = _project(ctx, "postgres")
    name = f"rbbench_{os.getpid()}"
    datagen.postgres_db(name, ctx.data_mb)
    out = native / "dump.pgdump"
    return DataSet(
        "postgres",
        "PostgreSQL database",
        project,
        "[tool.rollback.local]\npaths = []\n"
        f'services = [{{url = "postgresql://postgres@127.0.0.1:5432/{name}"}}]\n',
        ["pg_dump", *PG.split(), "-Fc", "-f", str(out), name],
        [
            "pg_restore",
            *PG.split(),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "-d",
            name,
            str(out),
        ],
        out,
        cleanup=lambda: datagen.psql(f'DROP DATABASE IF EXISTS "{name}"'),
        size_mb=lambda: datagen.postgres_mb(name),
    )


def redis_set(ctx: Context) -> DataSet:
    project, native = _project(ctx, "redis")
    db = datagen.free_redis_db()
    keys = 1000 if ctx.smoke else (100_000 if ctx.quick else 1_000_000)
    datagen.redis_db(db, keys)
    out = native / "dump.rdb"
    return DataSet(
        "redis",
        f"Redis database of {keys:,} keys",
        project,
        f'[tool.rollback.local]\npaths = []\nservices = [{{url = "redis://127.0.0.1:6379/{db}"}}]\n',
        ["redis-cli", "--rdb", str(out)],
        [],
        out,
        cleanup=lambda: datagen.redis_flush(db),
        size_mb=lambda: datagen.redis_mb(db),
        notes=[
            "Native create is `redis-cli --rdb` (the whole server's RDB file, every "
            "database). Redis has no native tool that restores one database from a file "
            "without restarting the server, so restore has no baseline."
        ],
    )


def files_set(ctx: Context) -> DataSet:
    project, native = _project(ctx, "files")
    media = project / "pub" / "media"
    datagen.folder(media, ctx.data_mb, files=200 if ctx.smoke else 10_000)
    out = native / "media.tar.gz"

    def wipe() -> None:  # both sides restore into an empty place, writing every file
        shutil.rmtree(media, ignore_errors=True)

    return DataSet(
        "files",
        "Folder of 10,000 files" if not ctx.smoke else "Folder of 200 files",
        project,
        '[tool.rollback.local]\npaths = ["pub/media"]\nservices = []\n',
        ["tar", "czf", str(out), "-C", str(project), "pub/media"],
        ["tar", "xzf", str(out), "-C", str(project)],
        out,
        prepare_restore=wipe,
        size_mb=lambda: datagen.folder_mb(media),
        notes=[
            "Before each restore (both sides, untimed) the folder is removed, so every "
            "file is written."
        ],
    )


def _gunzip(src: Path, dst: Path) -> None:
    with dst.open("wb") as fh:
        subprocess.run(["gzip", "-d", "-c", str(src)], stdout=fh, check=True)


def _size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def bench_store(ctx: Context, ds: DataSet) -> Scenario:
    """create and restore with rollback next to the native pair, same data, same run."""
    size = ds.size_mb()
    what = "server memory in use" if ds.kind == "redis" else "on disk"
    sc = Scenario(ds.kind, f"Snapshot: {ds.title} ({size:,.0f} MB {what})")
    (ds.project / ".rollback.toml").write_text(ds.toml)
    runs = 1 if ctx.smoke else 2  # each run of a 1 GB data set takes 10-60 s
    out = ctx.work / "create.json"
    made: list[str] = []
    store = ds.project / ".rollback" / "snapshots"

    def keep_last() -> None:  # untimed: remember the new id, drop the previous snapshot
        made.append(json.loads(out.read_text())["id"])
        if len(made) > 1:
            shutil.rmtree(store / made[-2], ignore_errors=True)

    ours = measure(
        "rollback snapshot create",
        [*ctx.rollback, "snapshot", "create", "--label", "bench", "--json"],
        runs=runs,
        cwd=ds.project,
        env=ctx.env,
        stdout_path=out,
        after=keep_last,
    )
    theirs = measure(
        "native create",
        ds.native_create,
        runs=runs,
        cwd=ds.project,
        env=ctx.env,
        after=ds.after_native_create,
    )
    theirs.command = " ".join(
        ds.native_create[-1:] if ds.native_create[0] == "bash" else ds.native_create
    )
    row = Row("create", None, ours, [theirs])
    row.notes.append(
        f"artifact: ours {_size_mb(store / made[-1]):.1f} MB, native "
        f"{_size_mb(ds.native_artifact):.1f} MB"
    )
    sc.rows.append(row)
    restore_ours = measure(
        "rollback snapshot restore",
        [*ctx.rollback, "snapshot", "restore", made[-1], "--yes", "--no-safety-snapshot", "--json"],
        runs=runs,
        cwd=ds.project,
        env=ctx.env,
        before=ds.prepare_restore,
    )
    others: list[Measurement] = []
    if ds.native_restore:
        native = measure(
            "native restore",
            ds.native_restore,
            runs=runs,
            cwd=ds.project,
            env=ctx.env,
            before=ds.prepare_restore,
        )
        native.command = " ".join(
            ds.native_restore[-1:] if ds.native_restore[0] == "bash" else ds.native_restore
        )
        others.append(native)
    sc.rows.append(Row("restore", None, restore_ours, others))
    for row in sc.rows:
        if row.others:
            r = row.ratio_to(row.others[0].label) or 0.0
            sc.targets.append(Target(f"{ds.kind} {row.case} ≤ 1.1× native", f"{r:.2f}×", r <= 1.1))
        assert row.ours is not None
        peak = row.ours.peak_rss_mb
        sc.targets.append(
            Target(
                f"{ds.kind} {row.case}: peak memory ≤ {MEMORY_LIMIT_MB:.0f} MB "
                f"(at {ctx.data_mb} MB of data)",
                f"{peak:.0f} MB",
                peak <= MEMORY_LIMIT_MB,
            )
        )
    sc.notes += ds.notes
    return sc


SETS: dict[str, Callable[[Context], DataSet]] = {
    "sqlite": sqlite_set,
    "mysql": mysql_set,
    "postgres": postgres_set,
    "redis": redis_set,
    "files": files_set,
}


def run_data(ctx: Context, only: set[str]) -> list[Scenario]:
    """Every snapshot scenario selected by ``only`` (empty: all); each isolated from the rest."""
    out: list[Scenario] = []
    if ctx.data_mb != 1024:
        size_note = (
            f"About {ctx.data_mb} MB per data set; the issue's 1 GB is `--data-mb 1024` "
            "(results: docs/benchmarks-1gb/benchmarks.md)."
        )
    else:
        size_note = "About 1 GB per data set (1,000,000 keys for Redis)."
    for kind, make in SETS.items():
        if only and kind not in only:
            continue
        ctx.say(f"snapshot scenario {kind}: generating {ctx.data_mb} MB")
        ds: DataSet | None = None
        try:
            ds = make(ctx)
            ctx.say(f"snapshot scenario {kind}: measuring")
            sc = bench_store(ctx, ds)
            sc.notes.insert(0, size_note)
            out.append(sc)
        except Exception as exc:  # one store failing must not hide the others' figures
            ctx.say(f"snapshot scenario {kind} failed: {exc}")
            out.append(
                Scenario(
                    kind, f"Snapshot: {kind}", unavailable=f"{type(exc).__name__}: {str(exc)[:600]}"
                )
            )
        finally:
            if ds is not None:
                ds.cleanup()
            shutil.rmtree(ctx.work / "data" / kind, ignore_errors=True)
            shutil.rmtree(ctx.work / "native" / kind, ignore_errors=True)
    datagen.drop_databases(f"rbbench_{os.getpid()}")  # also after a failed generation
    return out
