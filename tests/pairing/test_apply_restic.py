"""Done-when, restic: the same Magento-like project as test_apply_snapshot, with its
checkpoints in a real restic repository. plan --snapshot auto pairs the snapshot taken at
the target, apply takes the safety snapshot and restores code and data, undo puts both back
and keeps what was written since; the wizard's context sees the provider unchanged.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.config import load_config
from rollback.data.project import load_project
from rollback.data.snapshots.restic.provider import ResticProvider
from rollback.data.snapshots.restic.settings import parse_restic
from rollback.ui.wizard.context import load_data_side
from tests.cli import rollback
from tests.gitrepo import Repo
from tests.pairing import projects
from tests.pairing.projects import deploy_schema, sqlite_tables

pytestmark = pytest.mark.services


def shop(repo: Repo, restic_repo: Path) -> tuple[dict[str, str], dict[str, str]]:
    restic = {
        "repository": str(restic_repo),
        "paths": ["pub/media"],
        "services": [{"url": "sqlite:///var/shop.db"}],
    }
    projects.settings(repo.path, restic=restic)
    settings = repo.path / ".rollback.toml"
    settings.write_text('provider = "restic"\n' + settings.read_text())
    (repo.path / "var").mkdir()
    (repo.path / "pub/media").mkdir(parents=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ages = {"target": 3, "migration": 1}  # hours ago, so the order is certain
    taken: dict[str, str] = {}

    def at(name: str, sha: str) -> None:
        deploy_schema(repo.path, repo.path / "var/shop.db")
        (repo.path / f"pub/media/{name}.jpg").write_text(name)
        if name in ages:
            when = now - timedelta(hours=ages[name])
            store = ResticProvider(parse_restic(load_config(repo.path)), clock=lambda: when)
            taken[name] = store.create(f"deploy {name}", commit=sha, branch="main").id

    return projects.magento_project(repo, at), taken


def test_plan_apply_and_undo_work_unchanged_on_a_restic_repository(
    repo: Repo, restic_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    commits, taken = shop(repo, restic_repo)
    db = repo.path / "var/shop.db"
    assert sqlite_tables(db) == {"items", "prices", "rules"}

    side = load_data_side(load_project(repo.path))  # the wizard's context panel
    assert side.name == "restic" and side.note == "restic: 2 snapshot(s)"
    assert side.last_checkpoint is not None and side.last_checkpoint.id == taken["migration"]

    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    plan = json.loads((repo.path / "plan.json").read_text())
    assert plan["data"]["decision"]["snapshot"] == taken["target"]
    assert [s["kind"] for s in plan["steps"] if s["kind"] != "hook"] == [
        "safety-ref", "safety-snapshot", "restore-snapshot", "write-commits", "move-branch",
    ]  # fmt: skip
    assert {s["params"]["provider"] for s in plan["steps"] if "provider" in s["params"]} == {
        "restic"
    }

    applied = rollback(capsys, "apply", "plan.json", "--yes")
    assert applied.code == 0, applied.err
    safety_id = applied.err.split("safety snapshot: ", 1)[1].split()[0]
    assert f"$ rollback snapshot restore --provider restic {safety_id}  # undo" in applied.err
    assert repo.tree() == repo.tree(commits["target"])
    assert sqlite_tables(db) == {"items", "prices"}  # the data at the target
    assert sorted(p.name for p in (repo.path / "pub/media").iterdir()) == [
        "base.jpg", "schema2.jpg", "target.jpg",
    ]  # fmt: skip

    (repo.path / "pub/media/order-after-rollback.jpg").write_text("written after the rollback")
    undone = rollback(capsys, "undo", "--yes")
    assert undone.code == 0, undone.err
    assert repo.head() == commits["head"]
    assert sqlite_tables(db) == {"items", "prices", "rules"}
    assert not (repo.path / "pub/media/order-after-rollback.jpg").exists()
    kept = undone.out.split("is kept as snapshot ", 1)[1].split()[0]
    listed = json.loads(rollback(capsys, "snapshot", "list", "--json").out)
    assert kept in {s["id"] for s in listed} and safety_id in {s["id"] for s in listed}
    assert {s["provider"] for s in listed} == {"restic"}
