"""Done-when, local snapshots: plan --snapshot auto picks the snapshot that fits, apply leaves
code and data at T (the SQLite table set equals the one T's db_schema.xml declares); a failing
step puts both back from the run's own safety snapshot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.code.planner import make_plan
from rollback.config import load_config
from rollback.data.pairing.attach import attach_data
from rollback.data.snapshots.local import LocalStore
from rollback.data.snapshots.settings import parse_local
from rollback.git.repo import GitRepo
from rollback.plan import Step
from rollback.run.execute import apply_plan
from tests.cli import rollback
from tests.gitrepo import Repo
from tests.pairing import projects
from tests.pairing.projects import deploy_schema, schema_tables, sqlite_tables

LOCAL = {"paths": ["pub/media"], "services": [{"url": "sqlite:///var/shop.db"}]}
HOOKS = {
    "before_restore": "bin/magento maintenance:enable",
    "after_restore": ["bin/magento cache:flush", "bin/magento maintenance:disable"],
}


def shop(repo: Repo, hooks: dict[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """Deploy each commit of the Magento-like project; snapshot at base, target, migration."""
    projects.settings(repo.path, local=LOCAL, hooks=hooks)
    (repo.path / "var").mkdir()
    (repo.path / "pub/media").mkdir(parents=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ages = {"base": 5, "target": 3, "migration": 1}  # hours ago, so the order is certain
    taken: dict[str, str] = {}

    def at(name: str, sha: str) -> None:
        deploy_schema(repo.path, repo.path / "var/shop.db")
        (repo.path / f"pub/media/{name}.jpg").write_text(name)
        if name in ages:
            when = now - timedelta(hours=ages[name])
            store = LocalStore(parse_local(load_config(repo.path)), clock=lambda: when)
            taken[name] = store.create(f"deploy {name}", commit=sha, branch="main").id

    return projects.magento_project(repo, at), taken


def test_plan_auto_pairs_the_snapshot_at_the_target_and_apply_makes_code_and_data_match(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, HOOKS)
    db = repo.path / "var/shop.db"
    assert sqlite_tables(db) == {"items", "prices", "rules"}

    shown = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto")
    assert shown.code == 0, shown.err
    out = shown.out
    assert f"Recommendation: restore snapshot {taken['target']}" in out
    assert f"{commits['target'][:10]} (recorded)" in out
    assert "data-loss window: 3 h" in out  # everything written since is lost, said plainly
    assert "rough estimate" in out
    assert "Magento has no schema downgrade" not in out  # a snapshot fits: no need to say
    ids = set(taken.values())
    rows = {line.split()[0]: line for line in out.splitlines() if line[4:].split(" ")[0] in ids}
    assert "after-target" in rows[taken["migration"]] and "does not fit" in rows[taken["migration"]]
    assert "before-target" in rows[taken["base"]] and "does not fit" in rows[taken["base"]]
    assert "fits" in rows[taken["target"]]

    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    plan = json.loads((repo.path / "plan.json").read_text())
    assert [s["kind"] for s in plan["steps"]] == [
        "safety-ref", "safety-snapshot", "hook", "restore-snapshot",
        "write-commits", "move-branch", "hook", "hook",
    ]  # fmt: skip
    assert plan["data"]["decision"]["snapshot"] == taken["target"]
    markdown = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                        "--format", "markdown")  # fmt: skip
    assert "## Data" in markdown.out and "**Recommendation:** restore snapshot" in markdown.out

    applied = rollback(capsys, "apply", "plan.json", "--yes")
    assert applied.code == 0, applied.err
    safety_id = applied.err.split("safety snapshot: ", 1)[1].split()[0]  # shown, and used:
    assert f"$ rollback snapshot restore --provider local {safety_id}  # undo" in applied.err
    assert repo.tree() == repo.tree(commits["target"])  # code at T
    assert sqlite_tables(db) == schema_tables(repo.path) == {"items", "prices"}  # data at T
    assert sorted(p.name for p in (repo.path / "pub/media").iterdir()) == [
        "base.jpg", "schema2.jpg", "target.jpg",
    ]  # fmt: skip
    assert (repo.path / "maint.flag").read_text().split("\n")[:3] == [
        "maintenance:enable", "cache:flush", "maintenance:disable",
    ]  # fmt: skip


def test_a_failing_step_after_the_restore_puts_data_and_code_back(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, {"after_restore": "bin/magento-missing cache:flush"})
    db: Path = repo.path / "var/shop.db"
    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", taken["target"],
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    failed = rollback(capsys, "apply", "plan.json", "--yes")
    assert failed.code == 1
    assert "step 6 (hook) failed" in failed.err and "put back: main is at" in failed.err
    assert "the data is back from the run's safety snapshot" in failed.err
    assert repo.head() == commits["head"] and repo.tree() == repo.tree(commits["head"])
    assert sqlite_tables(db) == {"items", "prices", "rules"}  # from the run's safety snapshot
    assert (repo.path / "pub/media/head.jpg").exists()


class Recorder:
    """An execute.Reporter that keeps every call, to see what the execution view is fed."""

    def __init__(self) -> None:
        self.ticks: list[tuple[str, str, int, int | None]] = []  # (step kind, component, ...)
        self.results: dict[str, dict[str, object]] = {}
        self.kind = ""

    def step_started(self, index: int, step: Step) -> None:
        self.kind = step.kind

    def progress(self, component: str, done: int, total: int | None) -> None:
        self.ticks.append((self.kind, component, done, total))

    def step_done(self, index: int, step: Step, result: dict[str, object]) -> None:
        self.results[step.kind] = result


def test_data_steps_report_their_bytes_to_the_execution_view(repo: Repo) -> None:
    commits, taken = shop(repo, {})
    git = GitRepo.open(repo.path)
    code = make_plan(git, strategy="restore", to=commits["target"])
    plan = attach_data(git, code, snapshot=taken["target"], data=None)
    recorder = Recorder()

    apply_plan(git, plan, recorder)

    for kind in ("safety-snapshot", "restore-snapshot"):
        ticks = [t for t in recorder.ticks if t[0] == kind]
        assert {t[1] for t in ticks} >= {"files", "sqlite"}, ticks  # each component, by name
        assert any(done > 0 for _, _, done, _ in ticks), ticks  # bytes, not just a spinner
        size = recorder.results[kind]["size_bytes"]
        assert isinstance(size, int) and size > 0
    assert not [t for t in recorder.ticks if t[0] not in ("safety-snapshot", "restore-snapshot")]


def test_a_snapshot_that_vanished_since_the_plan_is_refused_before_any_change(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, {})
    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    LocalStore.from_config(load_config(repo.path)).delete(taken["target"])
    before = len(LocalStore.from_config(load_config(repo.path)).list())
    refused = rollback(capsys, "apply", "plan.json", "--yes")
    assert refused.code == 3 and f"snapshot {taken['target']} of the plan" in refused.err
    assert repo.head() == commits["head"]
    assert len(LocalStore.from_config(load_config(repo.path)).list()) == before  # no safety taken


def test_snapshot_first_plans_the_code_that_fits_it(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, {})
    shown = rollback(capsys, "plan", "--snapshot", taken["base"], "--format", "json")
    assert shown.code == 0, shown.err
    plan = json.loads(shown.out)
    assert plan["target"] == commits["base"]  # the reverse question, answered
    assert plan["data"]["decision"]["snapshot"] == taken["base"]
    chosen = plan["data"]["decision"]["pairing"]
    assert (chosen["relation"], chosen["fits"], chosen["commit_source"]) == (
        "target", True, "recorded",
    )  # fmt: skip
    unknown = rollback(capsys, "plan", "--snapshot", "no-such-snapshot")
    assert unknown.code == 2 and "no snapshot 'no-such-snapshot'" in unknown.err


def test_a_run_killed_after_the_restore_is_aborted_back_to_the_data_before(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, _taken = shop(repo, {})
    db = repo.path / "var/shop.db"
    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    kinds = [s["kind"] for s in json.loads((repo.path / "plan.json").read_text())["steps"]]
    env = {**os.environ, "ROLLBACK_FAULT": f"after-step-{kinds.index('restore-snapshot')}"}
    killed = subprocess.run(
        [sys.executable, "-m", "rollback", "apply", "plan.json", "--yes"],
        cwd=repo.path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    assert sqlite_tables(db) == {"items", "prices"}  # restored, code not moved yet
    status = rollback(capsys, "status")
    assert "-- interrupted" in status.out
    aborted = rollback(capsys, "abort")
    assert aborted.code == 0, aborted.err
    assert repo.head() == commits["head"]
    assert sqlite_tables(db) == {"items", "prices", "rules"}  # back from the safety snapshot


def test_undo_puts_code_and_data_back_and_keeps_what_was_written_since(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, {})
    db = repo.path / "var/shop.db"
    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", taken["target"],
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    assert rollback(capsys, "apply", "plan.json", "--yes").code == 0
    assert sqlite_tables(db) == {"items", "prices"}
    (repo.path / "pub/media/order-after-rollback.jpg").write_text("written after the rollback")

    no_tty = rollback(capsys, "undo")  # pytest's stdin is not a terminal
    assert no_tty.code == 2
    assert "undo also restores the data" in no_tty.err and "--code-only" in no_tty.err
    assert repo.tree() == repo.tree(commits["target"])  # asked first: nothing changed

    undone = rollback(capsys, "undo", "--yes")
    assert undone.code == 0, undone.err
    assert repo.head() == commits["head"]
    assert sqlite_tables(db) == {"items", "prices", "rules"}  # the data from before the rollback
    assert not (repo.path / "pub/media/order-after-rollback.jpg").exists()
    kept = undone.out.split("is kept as snapshot ", 1)[1].split()[0]
    listed = json.loads(rollback(capsys, "snapshot", "list", "--json").out)
    assert kept in {s["id"] for s in listed}  # what was written since is in a snapshot, not lost
