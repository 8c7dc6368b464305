"""Shop simulation for issue 14: restore to a deploy mark and keep the writes since.

``python -m benchmarks.pitr_shop --mb 100 [--mb 1000] [--out docs]``

A private MariaDB with ROW binary logging (the shared server logs nothing) holds a shop of
about N MB (customers, orders, catalog_product). Then: snapshot S; a second process writes
orders and customers continuously; a deploy mark M; the bad release's migration alters
``catalog_product`` only and rewrites its prices; the writer goes on; it stops. Measured:

- plain restore of S: rows of orders/customers lost (everything written since S);
- restore of S + replay to M + the kept writes (``--keep-writes``): rows lost (goal 0), and
  whether catalog_product is exactly as it was at M;
- the time of each, in the same run.

Writes ``<out>/benchmarks-pitr.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rollback.data.marks import create_mark
from rollback.data.snapshots import pitr
from rollback.data.snapshots.local import LocalStore
from rollback.data.snapshots.settings import LocalSettings, ServiceSpec
from rollback.data.snapshots.urls import parse_service_url
from tests.privateservers import mariadb_with_binlog

WRITER = r"""
import subprocess, sys, time
port, seconds = sys.argv[1], float(sys.argv[2])
client = subprocess.Popen(["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "shop"],
                          stdin=subprocess.PIPE, text=True)
end = time.time() + seconds
i = 0
while time.time() < end:
    i += 1
    client.stdin.write(
        "INSERT INTO customers (name, email) VALUES ('writer %d', 'w%d@example.com');"
        "INSERT INTO orders (customer_id, total, note) VALUES (LAST_INSERT_ID(), %d.5, 'live');\n"
        % (i, i, i % 500))
    if i % 20 == 0:
        client.stdin.flush()
        time.sleep(0.01)
client.stdin.close()
client.wait()
"""

SCHEMA = """
CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(60),
                        email VARCHAR(80), pad TEXT);
CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT,
                     total DECIMAL(10,2), note VARCHAR(60), pad TEXT);
CREATE TABLE catalog_product (id INT PRIMARY KEY, sku VARCHAR(30), price DECIMAL(10,2),
                              description TEXT);
"""


def mysql(port: int, sql: str, db: str = "shop") -> str:
    done = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{port}", "-uroot", "-N", "-B", db, "-e", sql],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def load(port: int, mb: int) -> None:
    """About ``mb`` MB: rows of ~1 KB, 60 % orders, 30 % customers, 10 % catalog."""
    mysql(port, "CREATE DATABASE shop", db="mysql")
    mysql(port, SCHEMA)
    rows = mb * 1000
    pad = "CONCAT(" + ", ".join(["SHA2(RAND(), 512)"] * 8) + ")"  # 1 KB, half compressible
    for table, share, cols in (
        ("orders", 0.6, "(customer_id, total, note, pad) SELECT seq % 1000, seq % 300, 'old', "),
        ("customers", 0.3, "(name, email, pad) SELECT CONCAT('c', seq), CONCAT(seq, '@x'), "),
    ):
        mysql(port, f"INSERT INTO {table} {cols} {pad} FROM seq_1_to_{int(rows * share)}")
    mysql(port, "INSERT INTO catalog_product SELECT seq, CONCAT('sku', seq), seq % 90, "
                f"{pad} FROM seq_1_to_{int(rows * 0.1)}")  # fmt: skip


def counts(port: int) -> dict[str, set[int]]:
    return {
        t: {int(x) for x in mysql(port, f"SELECT id FROM {t}").split()}
        for t in ("orders", "customers")
    }


def checksum(port: int) -> str:
    return mysql(port, "CHECKSUM TABLE catalog_product").split()[-1]


def run(mb: int, seconds: float) -> dict[str, object]:
    with mariadb_with_binlog() as port, tempfile.TemporaryDirectory() as tmp:
        load(port, mb)
        spec = ServiceSpec(
            "shop",
            "mysql",
            parse_service_url(f"mysql://root@127.0.0.1:{port}/shop", root=Path(tmp)),
        )
        store = LocalStore(LocalSettings(Path(tmp), Path(tmp) / "store", (), True, (spec,), 7))
        before = counts(port)
        snap = store.create("nightly")
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(port), str(seconds * 2)])
        time.sleep(seconds)
        mark = create_mark(store, commit="0" * 40, branch="main", label="deploy")
        catalog_at_mark = checksum(port)
        migration = (
            "ALTER TABLE catalog_product ADD COLUMN weight INT NOT NULL DEFAULT 0;"
            "UPDATE catalog_product SET price = price * 2, weight = 1 WHERE id % 10 = 0"
        )
        mysql(port, migration)
        writer.wait()
        written = counts(port)
        since = {t: written[t] - before[t] for t in written}

        # the replay first: a plain restore logs its own DROP/CREATE, which would then lie
        # between the mark and "now" and (rightly) block every table
        t0 = time.perf_counter()
        _, done = pitr.restore_to_mark(
            store, snap.id, mark.positions, keep_writes=True, safety=False
        )
        replay_s = time.perf_counter() - t0
        after = counts(port)
        lost = sum(len(written[t] - after[t]) for t in written)
        extra = sum(len(after[t] - written[t]) for t in written)
        catalog_ok = checksum(port) == catalog_at_mark

        t0 = time.perf_counter()
        store.restore(snap.id, safety=False)
        plain_s = time.perf_counter() - t0
        after_plain = counts(port)
        lost_plain = sum(len(written[t] - after_plain[t]) for t in written)
        kept = {t.table: t.kept for t in done[0].tables}
        size = store.get(snap.id).size_bytes or 0
        return {
            "mb": mb,
            "snapshot_bytes": size,
            "rows_written_since_snapshot": sum(len(v) for v in since.values()),
            "rows_lost_plain_restore": lost_plain,
            "rows_lost_with_replay": lost,
            "rows_that_should_not_exist": extra,
            "catalog_as_before_deploy": catalog_ok,
            "plain_restore_s": round(plain_s, 2),
            "restore_replay_s": round(replay_s, 2),
            "transactions_to_mark": done[0].to_mark,
            "transactions_after_mark": done[0].after_mark,
            "kept_statements": kept,
        }


def markdown(results: list[dict[str, object]]) -> str:
    lines = [
        "# Restore to a deploy mark, keeping the writes since (issue 14)",
        "",
        "Generated by `python -m benchmarks.pitr_shop` on a private MariaDB with ROW binary",
        "logging (2 cores, shared with other work). A second process writes orders and",
        "customers continuously before and after a bad deploy whose migration alters",
        "`catalog_product` only. Rows lost are counted against every row written since the",
        "snapshot.",
        "",
        "| data | written since S | lost: plain restore | lost: restore + replay | "
        "catalog as at M | plain restore | restore + replay | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ratio = float(r["restore_replay_s"]) / max(float(r["plain_restore_s"]), 0.01)  # type: ignore[arg-type]
        lines.append(
            f"| {r['mb']} MB ({int(r['snapshot_bytes']) / 1e6:.0f} MB zstd) "  # type: ignore[call-overload]
            f"| {r['rows_written_since_snapshot']} | {r['rows_lost_plain_restore']} "
            f"| {r['rows_lost_with_replay']} | {'yes' if r['catalog_as_before_deploy'] else 'NO'} "
            f"| {r['plain_restore_s']} s | {r['restore_replay_s']} s | {ratio:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pitr_shop", description=__doc__)
    parser.add_argument("--mb", type=int, action="append", help="data size (repeatable)")
    parser.add_argument("--seconds", type=float, default=5.0, help="writing before the deploy")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args(argv)
    results = [run(mb, args.seconds) for mb in (args.mb or [100])]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmarks-pitr.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "benchmarks-pitr.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
