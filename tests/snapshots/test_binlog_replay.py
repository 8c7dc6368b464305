"""Restore to the moment before a bad deploy, keeping the writes since to untouched tables.

Real parts: a private MariaDB with ROW binary logging (tests/privateservers.py; the shared
server logs nothing and is never reconfigured), the real mariadb-dump, mariadb-binlog and
mariadb client, a real git repository for the marks' commits. Every refusal of the issue is
provoked for real on that server.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from rollback.data.marks import Mark, create_mark, list_marks
from rollback.data.snapshots import pitr
from rollback.data.snapshots.local import LocalStore
from rollback.errors import RefusedError
from tests.cli import rollback
from tests.gitrepo import Repo
from tests.snapshots.localstore import make_store

pytestmark = pytest.mark.services

SCHEMA = """
CREATE TABLE customers (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40), born DATE);
CREATE TABLE orders (id INT PRIMARY KEY AUTO_INCREMENT, customer_id INT,
                     total DECIMAL(10,2), note VARCHAR(60), at DATETIME(6));
CREATE TABLE catalog_product (id INT PRIMARY KEY, sku VARCHAR(20), price DECIMAL(10,2));
INSERT INTO customers (name, born) VALUES ('ada', '1815-12-10'), ('grace', '1906-12-09');
INSERT INTO catalog_product VALUES (1, 'lamp', 19.99), (2, 'desk', 120.00);
INSERT INTO orders (customer_id, total, note, at) VALUES (1, 19.99, 'first', NOW(6));
"""


def sql(url: str, statements: str) -> str:
    u = urlparse(url)
    done = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{u.port}", "-uroot", "-N", "-B", u.path.lstrip("/"),
         "-e", statements],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


def table(url: str, name: str) -> list[str]:
    return sql(url, f"SELECT * FROM {name} ORDER BY id").splitlines()


def order(url: str, note: str, customer: int = 1) -> None:
    sql(
        url,
        "INSERT INTO orders (customer_id, total, note, at) "
        f"VALUES ({customer}, 5, '{note}', NOW(6))",
    )


def deploy_bad_release(url: str) -> None:
    """The bad release: its migration alters catalog_product only, then rewrites prices."""
    sql(url, "ALTER TABLE catalog_product ADD COLUMN weight INT NOT NULL DEFAULT 0;"
             "UPDATE catalog_product SET price = price * 2, weight = 3;"
             "INSERT INTO catalog_product VALUES (3, 'chair', 45.00, 7)")  # fmt: skip


def store_for(tmp_path: Path, url: str) -> LocalStore:
    return make_store(tmp_path / "proj", paths=[], services=[{"name": "shop", "url": url}])


def shop(tmp_path: Path, url: str) -> tuple[LocalStore, str, Mark, dict[str, list[str]]]:
    """Snapshot S, writes, mark M (the state then), the bad deploy, writes after it."""
    sql(url, SCHEMA)
    store = store_for(tmp_path, url)
    snap = store.create("nightly")
    order(url, "between snapshot and deploy")
    sql(url, "UPDATE customers SET name = 'ada lovelace' WHERE id = 1")
    mark = create_mark(store, commit="c" * 40, branch="main", label="deploy")
    at_mark = {t: table(url, t) for t in ("orders", "customers", "catalog_product")}
    deploy_bad_release(url)
    return store, snap.id, mark, at_mark


def test_snapshot_and_mark_record_the_log_position_the_server_names(
    tmp_path: Path, binlog_url: str, mysql_url: str
) -> None:
    sql(binlog_url, SCHEMA)
    store = store_for(tmp_path, binlog_url)
    snap = store.create("s")
    details = store.manifest(snap.id).components[0].details
    found = sql(binlog_url, "SHOW MASTER STATUS").split("\t")
    assert (details["binlog_file"], details["binlog_pos"]) == (found[0], found[1])
    gtid = sql(binlog_url, f"SELECT BINLOG_GTID_POS('{found[0]}', {found[1]})").strip()
    assert details["binlog_gtid"] == gtid and gtid.startswith("0-1-")
    mark = create_mark(store, commit="a" * 40, branch="main", label=None)
    assert mark.positions["shop"] == {
        k: details[k] for k in ("binlog_file", "binlog_pos", "binlog_gtid")
    }
    assert [m.id for m in list_marks(store.store)] == [mark.id]
    # the shared server logs nothing: its snapshots say so instead of holding a position
    plain = store_for(tmp_path / "plain", mysql_url)
    sql(mysql_url, "CREATE TABLE t (id INT PRIMARY KEY)")
    record = plain.manifest(plain.create("p").id).components[0]
    assert record.details["binlog"] == "not recorded: binary logging is off on the server (log_bin)"
    assert "binlog_file" not in record.details


def test_restore_to_mark_keeps_every_order_and_restores_the_altered_table(
    tmp_path: Path, binlog_url: str
) -> None:
    store, sid, mark, at_mark = shop(tmp_path, binlog_url)
    for i in range(5):
        order(binlog_url, f"after deploy {i}", customer=2)
    sql(binlog_url, "INSERT INTO customers (name, born) VALUES ('linus', '1969-12-28')")
    written = {t: table(binlog_url, t) for t in ("orders", "customers")}
    assert len(written["orders"]) == 7

    result, done = pitr.restore_to_mark(store, sid, mark.positions, keep_writes=True)
    assert result.safety_snapshot is not None
    assert {t: table(binlog_url, t) for t in ("orders", "customers")} == written  # nothing lost
    assert table(binlog_url, "catalog_product") == at_mark["catalog_product"]  # as before deploy
    columns = sql(binlog_url, "SHOW COLUMNS FROM catalog_product").splitlines()
    assert [c.split("\t")[0] for c in columns] == ["id", "sku", "price"]
    (shop_replay,) = done
    outcome = {t.table: t for t in shop_replay.tables}
    assert (outcome["orders"].kept, outcome["orders"].skipped) == (5, 0)
    assert outcome["customers"].kept == 1 and not outcome["customers"].reason
    assert outcome["catalog_product"].skipped == 2
    assert outcome["catalog_product"].reason.startswith("changed by the release: ALTER TABLE")
    assert shop_replay.skipped_ddl[0].startswith("ALTER TABLE catalog_product")
    assert shop_replay.to_mark == 2  # the order and the customer update between S and M


def test_restore_to_mark_without_keep_writes_is_the_data_at_the_mark(
    tmp_path: Path, binlog_url: str
) -> None:
    store, sid, mark, at_mark = shop(tmp_path, binlog_url)
    order(binlog_url, "after deploy")
    _, done = pitr.restore_to_mark(store, sid, mark.positions, keep_writes=False, safety=False)
    assert {t: table(binlog_url, t) for t in at_mark} == at_mark
    assert done[0].tables == () and done[0].keep_writes is False


def test_a_table_whose_logged_columns_do_not_fit_is_skipped_with_the_reason(
    tmp_path: Path, binlog_url: str
) -> None:
    store, sid, mark, at_mark = shop(tmp_path, binlog_url)
    # changed outside the log (sql_log_bin=0): no DDL names it, but its row events carry
    # one column more than the restored table has
    sql(binlog_url, "SET sql_log_bin = 0; ALTER TABLE customers ADD COLUMN vip INT DEFAULT 1")
    sql(binlog_url, "INSERT INTO customers (name, born) VALUES ('linus', '1969-12-28')")
    order(binlog_url, "kept")
    _, done = pitr.restore_to_mark(store, sid, mark.positions, keep_writes=True, safety=False)
    outcome = {t.table: t for t in done[0].tables}
    assert outcome["customers"].reason == "its writes have 4 columns, the restored table 3"
    assert table(binlog_url, "customers") == at_mark["customers"]
    assert table(binlog_url, "orders")[-1].split("\t")[3] == "kept"


def test_cli_mark_only_and_restore_to_mark_report_per_table(
    tmp_path: Path, binlog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql(binlog_url, SCHEMA)
    repo = Repo.init(tmp_path / "proj")
    store_for(tmp_path, binlog_url)
    sha = repo.commit("release 2", {"app.py": "print(2)\n"})
    made = rollback(capsys, "snapshot", "create", "-C", str(repo.path), "--json")
    assert made.code == 0, made.err
    sid = json.loads(made.out)["id"]
    marked = rollback(capsys, "checkpoint", "--mark-only", "-C", str(repo.path), "--json")
    assert marked.code == 0, marked.err
    mark = json.loads(marked.out)
    assert mark["commit"] == sha and "binlog_file" in mark["positions"]["shop"]
    listed = rollback(capsys, "snapshot", "marks", "-C", str(repo.path), "--json")
    assert [m["id"] for m in json.loads(listed.out)] == [mark["id"]]
    shown = rollback(capsys, "timeline", "-C", str(repo.path), "--format", "json")
    assert shown.code == 0, shown.err
    events = json.loads(shown.out)["events"]
    assert [e["ref"] for e in events if e["kind"] == "mark"] == [mark["id"]]
    logged = rollback(capsys, "log", "-C", str(repo.path), "--json")
    assert mark["id"] in json.dumps(json.loads(logged.out))  # log marks the commit of the mark
    deploy_bad_release(binlog_url)
    order(binlog_url, "after deploy")
    done = rollback(capsys, "snapshot", "restore", sid, "--to-mark", mark["id"],
                    "--keep-writes", "--yes", "-C", str(repo.path))  # fmt: skip
    assert done.code == 0, done.err
    assert "orders: 1 kept" in done.out
    assert "catalog_product: 2 skipped: changed by the release: ALTER TABLE" in done.out
    bad = rollback(capsys, "snapshot", "restore", sid, "--keep-writes", "--yes",
                   "-C", str(repo.path))  # fmt: skip
    assert bad.code == 2 and "--keep-writes needs --to-mark" in bad.err


# --- refusals: each one line, before anything changes ------------------------------------


def refused(store: LocalStore, sid: str, mark: Mark) -> str:
    before = sql(_url(store), "SELECT COUNT(*) FROM orders")
    with pytest.raises(RefusedError) as info:
        pitr.restore_to_mark(store, sid, mark.positions, keep_writes=True)
    assert sql(_url(store), "SELECT COUNT(*) FROM orders") == before  # nothing changed
    message = str(info.value)
    assert "\n" not in message
    return message


def _url(store: LocalStore) -> str:
    u = store.settings.services[0].url
    return f"mysql://root@127.0.0.1:{u.port}/{u.database}"


def test_refuses_when_binary_logging_is_off(
    tmp_path: Path, mysql_url: str, binlog_url: str
) -> None:
    sql(mysql_url, SCHEMA)
    store = store_for(tmp_path, mysql_url)
    sid = store.create("s").id
    mark = create_mark(store, commit="c" * 40, branch="main", label=None)
    off = "binary logging is off on the server (log_bin)"
    assert mark.positions["shop"] == {"binlog": f"not recorded: {off}"}
    assert refused(store, sid, mark) == (
        f"cannot replay shop's log: the snapshot has no binary log position: {off}"
    )


def test_refuses_a_gtid_gap_between_snapshot_and_now(tmp_path: Path, binlog_url: str) -> None:
    store, sid, mark, _ = shop(tmp_path, binlog_url)
    seq = int(sql(binlog_url, "SELECT @@gtid_binlog_pos").strip().split("-")[2])
    sql(binlog_url, f"SET gtid_seq_no = {seq + 100}; INSERT INTO orders (note) VALUES ('x')")
    message = refused(store, sid, mark)
    assert (
        f"GTID gap in the binary log after the snapshot: 0-1-{seq} is followed by 0-1-{seq + 100}"
        in message
    )


def test_refuses_a_replica_whose_lag_is_unknown(tmp_path: Path, binlog_url: str) -> None:
    store, sid, mark, _ = shop(tmp_path, binlog_url)
    from tests.privateservers import free_port

    sql(binlog_url, f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={free_port()}, "
                    "MASTER_USER='none', MASTER_CONNECT_RETRY=60; START SLAVE")  # fmt: skip
    try:
        message = refused(store, sid, mark)
    finally:
        sql(binlog_url, "STOP SLAVE; RESET SLAVE ALL")
    assert "the server is a replica whose replication" in message and "use the primary" in message


def test_refuses_a_purged_log_and_a_position_that_does_not_match(
    tmp_path: Path, binlog_url: str
) -> None:
    store, sid, mark, _ = shop(tmp_path, binlog_url)
    snapshot = store.manifest(sid).components[0].details
    # a position inside an event: not one the server can name
    off = Mark("m2", mark.created_at, mark.commit, positions=mark.positions)
    record = store.manifest(sid)
    moved = dict(snapshot, binlog_pos=str(int(snapshot["binlog_pos"]) + 1))
    object.__setattr__(record.components[0], "details", moved)
    from rollback.data.snapshots.manifest import write_manifest

    write_manifest(store.store / sid, record)
    assert "does not match the server's log" in refused(store, sid, off)
    object.__setattr__(record.components[0], "details", snapshot)
    write_manifest(store.store / sid, record)
    # purged: the file holding the snapshot's position is gone from the server
    sql(_url(store), "FLUSH BINARY LOGS")
    current = sql(_url(store), "SHOW MASTER STATUS").split("\t")[0]
    for _ in range(100):  # MariaDB keeps a file until its crash-recovery checkpoint is written
        sql(_url(store), f"PURGE BINARY LOGS TO '{current}'")
        if snapshot["binlog_file"] not in sql(_url(store), "SHOW BINARY LOGS"):
            break
        time.sleep(0.1)
    message = refused(store, sid, mark)
    assert f"binary log {snapshot['binlog_file']} (the snapshot's position) was purged" in message
