"""The restic provider: first snapshot, second after 1 % of the data changed, restore.

Each step runs three ways on the same data in the same run: ``rollback snapshot create``
with ``provider = "restic"`` (a local-path repository), raw ``restic backup`` of the same
data into a second repository (the folder as a tree; the database as ``mariadb-dump |
restic backup --stdin``), and the local store (``--provider local``). Every step changes
state, so each runs once; the repositories' growth and the bytes restic reports as added
are recorded per snapshot. The 1 % change: every 100th file rewritten with new bytes
(same size); for the database, an UPDATE of the newest 1 % of rows (recent orders).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import datagen
from benchmarks.context import Context
from benchmarks.measure import Measurement, Row, Scenario, Target, measure, shell
from benchmarks.scenarios_data import MY, MYDUMP

PASSWORD = "benchmark-only"
MEMORY_LIMIT_MB = 200.0
KEYS = ("restic-files", "restic-mysql")


@dataclass
class ResticSet:
    key: str
    title: str
    project: Path
    raw_backup: list[str]
    raw_restore: list[str]
    change: Callable[[], None]
    prepare_restore: Callable[[], None] = lambda: None
    cleanup: Callable[[], None] = lambda: None
    notes: list[str] = field(default_factory=list)


def _settings(project: Path, repo: Path, data: str) -> None:
    (project / ".rollback.toml").write_text(
        f'provider = "restic"\n[restic]\nrepository = "{repo}"\n{data}\n[local]\n{data}\n'
    )


def files_set(ctx: Context, repo: Path, raw: Path) -> ResticSet:
    project = ctx.work / "restic-data" / "files"
    media = project / "pub" / "media"
    count = 200 if ctx.smoke else 10_000
    datagen.folder(media, ctx.data_mb, files=count)
    _settings(project, repo, 'paths = ["pub/media"]\nservices = []')
    target = ctx.work / "restic-raw-restore"

    def change() -> None:  # every 100th file: new bytes, same size
        for i, path in enumerate(sorted(media.rglob("image*"))):
            if i % 100 == 0:
                path.write_bytes(os.urandom(path.stat().st_size))

    def wipe() -> None:  # both sides write every file
        shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(target, ignore_errors=True)

    return ResticSet(
        "restic-files",
        f"Folder of {count:,} files",
        project,
        ["restic", "-r", str(raw), "backup", "-q", "--json", "pub/media"],
        ["restic", "-r", str(raw), "restore", "latest", "--target", str(target)],
        change,
        prepare_restore=wipe,
    )


def mysql_set(ctx: Context, repo: Path, raw: Path) -> ResticSet:
    project = ctx.work / "restic-data" / "mysql"
    project.mkdir(parents=True)
    name = f"rbbench_restic_{os.getpid()}"
    datagen.mysql_db(name, ctx.data_mb)
    rows = datagen.rows_for(ctx.data_mb)
    _settings(
        project, repo, f'paths = []\nservices = [{{url = "mysql://root@127.0.0.1:3306/{name}"}}]'
    )
    dump = f"mariadb-dump {MY} {MYDUMP} --add-drop-table --skip-dump-date --no-tablespaces {name}"

    def change() -> None:  # the newest 1 % of the orders change
        newest = rows - rows // 100
        datagen.mysql(
            f"UPDATE orders SET token = MD5(RAND()), total = total + 1 WHERE id > {newest}",
            database=name,
        )

    return ResticSet(
        "restic-mysql",
        "MariaDB database",
        project,
        shell(f"{dump} | restic -r {raw} backup -q --stdin --stdin-filename mysql.sql"),
        shell(f"restic -r {raw} dump latest /mysql.sql | mariadb {MY} {name}"),
        change,
        cleanup=lambda: datagen.mysql(f"DROP DATABASE IF EXISTS `{name}`"),
        notes=[
            "The database's 1 % is contiguous (the newest orders). An UPDATE scattered over "
            "every 100th row touches every ~1 MB chunk of the dump, and restic then stores "
            "nearly all of it again: deduplication of dumps pays for appends and clustered "
            "changes, not for scattered ones."
        ],
    )


def _mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def bench(ctx: Context, rs: ResticSet, repo: Path, raw: Path) -> Scenario:
    sc = Scenario(rs.key, f"restic provider: {rs.title} (about {ctx.data_mb:,} MB)")
    out = ctx.work / "restic-create.json"
    ids: list[str] = []
    growth: dict[str, list[float]] = {"ours": [], "raw": []}
    added: list[int] = []

    def ours_create() -> Measurement:
        before = _mb(repo)
        m = measure("rollback snapshot create (restic)",
                    [*ctx.rollback, "snapshot", "create", "--label", "bench", "--json"],
                    runs=1, cwd=rs.project, env=ctx.env, stdout_path=out)  # fmt: skip
        made = json.loads(out.read_text())
        ids.append(made["id"])
        added.append(int(made["added_bytes"]))
        growth["ours"].append(_mb(repo) - before)
        return m

    def raw_create() -> Measurement:
        before = _mb(raw)
        m = measure("raw restic backup", rs.raw_backup, runs=1, cwd=rs.project, env=ctx.env)
        growth["raw"].append(_mb(raw) - before)
        return m

    def local_create() -> Measurement:
        return measure("rollback snapshot create (local store)",
                       [*ctx.rollback, "snapshot", "create", "--provider", "local", "--json"],
                       runs=1, cwd=rs.project, env=ctx.env)  # fmt: skip

    for case in ("first snapshot", "second snapshot, 1 % changed"):
        if ids:
            rs.change()
        row = Row(case, None, ours_create(), [raw_create(), local_create()])
        row.notes.append(
            f"added to the repository: ours {added[-1] / 1e6:.1f} MB (restic's data_added), "
            f"repository growth ours {growth['ours'][-1]:.1f} MB, raw {growth['raw'][-1]:.1f} MB"
        )
        sc.rows.append(row)

    restore = measure("rollback snapshot restore (restic)",
                      [*ctx.rollback, "snapshot", "restore", ids[-1], "--yes",
                       "--no-safety-snapshot", "--json"],
                      runs=1, cwd=rs.project, env=ctx.env, before=rs.prepare_restore)  # fmt: skip
    raw_restore = measure("raw restic restore", rs.raw_restore, runs=1, cwd=rs.project,
                          env=ctx.env, before=rs.prepare_restore)  # fmt: skip
    local = json.loads(
        _run_json([*ctx.rollback, "snapshot", "list", "--provider", "local", "--json"], rs, ctx)
    )
    local_args = [*ctx.rollback, "snapshot", "restore", local[0]["id"], "--provider", "local"]
    local_restore = measure(
        "rollback snapshot restore (local store)",
        [*local_args, "--yes", "--no-safety-snapshot", "--json"],
        runs=1,
        cwd=rs.project,
        env=ctx.env,
        before=rs.prepare_restore,
    )
    sc.rows.append(Row("restore", None, restore, [raw_restore, local_restore]))
    _targets(sc, rs, added)
    sc.notes += rs.notes
    return sc


def _run_json(args: list[str], rs: ResticSet, ctx: Context) -> str:
    import subprocess

    return subprocess.run(
        args, cwd=rs.project, env=ctx.env, capture_output=True, text=True, check=True
    ).stdout


def _targets(sc: Scenario, rs: ResticSet, added: list[int]) -> None:
    first, second, restore = sc.rows
    assert first.ours and second.ours
    if rs.key == "restic-files":
        t = second.ours.median / first.ours.median
        sc.targets.append(Target("restic folder: second snapshot ≤ 15 % of the first's time",
                                 f"{t:.1%}", t <= 0.15))  # fmt: skip
        b = added[1] / max(added[0], 1)
        sc.targets.append(Target("restic folder: second snapshot ≤ 3 % of the first's bytes",
                                 f"{b:.2%}", b <= 0.03))  # fmt: skip
    what = rs.key.removeprefix("restic-")
    for row in (first, second, restore):
        r = row.ratio_to("raw restic backup" if row is not restore else "raw restic restore")
        if r is not None:
            sc.targets.append(Target(f"restic {what} {row.case} ≤ 1.2× raw restic",
                                     f"{r:.2f}×", r <= 1.2))  # fmt: skip
    peak = max(row.ours.peak_rss_mb for row in sc.rows if row.ours)
    sc.targets.append(Target(f"restic {what}: peak memory ≤ {MEMORY_LIMIT_MB:.0f} MB",
                             f"{peak:.0f} MB", peak <= MEMORY_LIMIT_MB))  # fmt: skip


def run_restic(ctx: Context, only: set[str]) -> list[Scenario]:
    """The selected restic scenarios; each with fresh repositories."""
    out: list[Scenario] = []
    makers = {"restic-files": files_set, "restic-mysql": mysql_set}
    for key in KEYS:
        if only and key not in only:
            continue
        if ctx.which("restic") is None:
            out.append(Scenario(key, f"restic provider: {key}", unavailable="restic not installed"))
            continue
        repo, raw = ctx.work / "restic-ours", ctx.work / "restic-raw"
        rs: ResticSet | None = None
        try:
            ctx.env["RESTIC_PASSWORD"] = PASSWORD
            for path in (repo, raw):
                _init(ctx, path)
            ctx.say(f"restic scenario {key}: generating {ctx.data_mb} MB")
            rs = makers[key](ctx, repo, raw)
            ctx.say(f"restic scenario {key}: measuring")
            out.append(bench(ctx, rs, repo, raw))
        except Exception as exc:  # one scenario failing must not hide the others' figures
            ctx.say(f"restic scenario {key} failed: {exc}")
            out.append(Scenario(key, f"restic provider: {key}",
                                unavailable=f"{type(exc).__name__}: {str(exc)[:600]}"))  # fmt: skip
        finally:
            if rs is not None:
                rs.cleanup()
            for path in (repo, raw, ctx.work / "restic-data", ctx.work / "restic-raw-restore"):
                shutil.rmtree(path, ignore_errors=True)
            ctx.env.pop("RESTIC_PASSWORD", None)
    return out


def _init(ctx: Context, path: Path) -> None:
    import subprocess

    subprocess.run(["restic", "-r", str(path), "init", "-q"], env=ctx.env, check=True,
                   capture_output=True)  # fmt: skip
