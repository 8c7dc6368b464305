"""Done-when, issue 14: a rollback of a release whose migration altered one table restores that
table to its state before the deploy and keeps every order written after it; the plan shows
the window and what will be kept before anything runs; without a usable log it falls back to
a plain restore and says why.

Real parts: a Magento-shaped git project (db_schema.xml), the local store on a private MariaDB
with ROW binary logging, the real CLI (plan, apply), real deploy marks.
"""

from __future__ import annotations

import json

import pytest

from rollback.config import load_config
from rollback.data.marks import create_mark
from rollback.data.snapshots.local import LocalStore
from rollback.data.snapshots.settings import parse_local
from tests.cli import rollback
from tests.gitrepo import Repo
from tests.pairing import projects
from tests.pairing.projects import MAGENTO_SCHEMA, db_schema
from tests.snapshots.test_binlog_replay import SCHEMA, deploy_bad_release, order, sql, table

pytestmark = pytest.mark.services


def release(repo: Repo, url: str) -> tuple[str, str, dict[str, list[str]], str]:
    """target deployed + snapshot; orders; the bad release marked and deployed; orders."""
    projects.settings(repo.path, local={"paths": [], "services": [{"name": "shop", "url": url}]})
    repo.write({".gitignore": projects.IGNORE, "bin/magento": projects.BIN_MAGENTO})
    target = repo.commit("shop", {MAGENTO_SCHEMA: db_schema(["catalog_product", "orders"])})
    sql(url, SCHEMA)
    store = LocalStore(parse_local(load_config(repo.path)))
    snap = store.create("nightly", commit=target, branch="main")
    order(url, "before the deploy")
    bad = repo.commit("weights", {MAGENTO_SCHEMA: db_schema(["catalog_product", "orders", "w"])})
    create_mark(store, commit=bad, branch="main", label="deploy")
    at_mark = {t: table(url, t) for t in ("orders", "customers", "catalog_product")}
    deploy_bad_release(url)
    for i in range(3):
        order(url, f"after the deploy {i}")
    return target, snap.id, at_mark, bad


def test_plan_shows_the_window_and_what_is_kept_and_apply_keeps_every_order(
    repo: Repo, binlog_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target, sid, at_mark, bad = release(repo, binlog_url)
    orders = table(binlog_url, "orders")

    shown = rollback(capsys, "plan", "--to", target, "--snapshot", "auto", "--keep-writes")
    assert shown.code == 0, shown.err
    out = shown.out
    assert f"Restore snapshot {sid}" in out and "then replay the log to deploy mark" in out
    assert "data-loss window: since the bad deploy at" in out
    assert f"the deploy of {bad[:10]}" in out
    assert "orders: 3 kept" in out
    assert "catalog_product: 2 skipped: changed by the release: ALTER TABLE catalog_product" in out
    plain = rollback(capsys, "plan", "--to", target, "--snapshot", "auto")
    assert "writes made since the deploy are lost; --keep-writes would keep" in plain.out

    made = rollback(capsys, "plan", "--to", target, "--snapshot", "auto", "--keep-writes",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    plan = json.loads((repo.path / "plan.json").read_text())
    (restore,) = [s for s in plan["steps"] if s["kind"] == "restore-snapshot"]
    assert restore["params"]["keep_writes"] is True and restore["params"]["mark"]
    assert "--to-mark" in restore["commands"][0] and "--keep-writes" in restore["commands"][0]
    assert plan["data"]["replay"]["components"][0]["keep_writes"] is True
    markdown = rollback(capsys, "plan", "--to", target, "--snapshot", "auto", "--keep-writes",
                        "--format", "markdown")  # fmt: skip
    assert "- orders: 3 kept" in markdown.out

    applied = rollback(capsys, "apply", "plan.json", "--yes")
    assert applied.code == 0, applied.err
    assert "orders: 3 kept" in applied.err  # the run reports it too
    assert table(binlog_url, "orders") == orders  # every order, before and after the deploy
    assert table(binlog_url, "catalog_product") == at_mark["catalog_product"]
    assert repo.tree() == repo.tree(target)


def test_without_a_usable_log_the_plan_is_a_plain_restore_and_says_why(
    repo: Repo, mysql_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target, _sid, _, _ = release(repo, mysql_url)  # the shared server: binary logging off
    shown = rollback(capsys, "plan", "--to", target, "--snapshot", "auto")
    assert shown.code == 0, shown.err
    assert "no replay to deploy mark" in shown.out
    assert "the snapshot has no binary log position: binary logging is off" in shown.out
    assert (
        "falls back to a plain restore of the snapshot: everything written since it is lost"
        in shown.out
    )
    assert "--to-mark" not in shown.out
    keep = rollback(capsys, "plan", "--to", target, "--snapshot", "auto", "--keep-writes")
    assert keep.code == 3
    assert "--keep-writes cannot be honoured: cannot replay shop's log" in keep.err
