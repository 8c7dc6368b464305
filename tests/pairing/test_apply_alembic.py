"""Done-when, Alembic: plan --snapshot auto picks the downgrade, apply leaves code and data at T.

The proof is the target code's own check: after apply, ``alembic current`` in the work tree
(now at T) equals ``alembic heads`` of that same tree.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo
from tests.pairing import projects
from tests.pairing.projects import sqlite_tables

pytestmark = pytest.mark.skipif(shutil.which("alembic") is None, reason="alembic not installed")


def test_plan_auto_downgrades_and_apply_leaves_alembic_at_the_target_head(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits = projects.alembic_project(repo)
    projects.settings(
        repo.path,
        local={"paths": [], "services": [{"url": "sqlite:///app.db"}]},
    )
    projects.run(repo.path, "alembic", "upgrade", "head")  # the data as the bad release left it
    assert sqlite_tables(repo.path / "app.db") == {"alembic_version", "items", "prices"}

    made = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto",
                    "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    plan = json.loads((repo.path / "plan.json").read_text())
    assert plan["data"]["recommendation"]["action"] == "downgrade"
    assert [s["kind"] for s in plan["steps"]] == [
        "safety-ref", "safety-snapshot", "downgrade", "write-commits", "move-branch",
    ]  # fmt: skip
    assert plan["steps"][2]["commands"] == ["alembic downgrade a1"]

    shown = rollback(capsys, "plan", "--to", commits["target"], "--snapshot", "auto")
    assert "Recommendation: downgrade the migrations" in shown.out
    assert "no restorable snapshot fits the target: there are no snapshots" in shown.out
    assert "alembic: state at the target a1; downgrade: alembic downgrade a1" in shown.out

    applied = rollback(capsys, "apply", "plan.json", "--yes")
    assert applied.code == 0, applied.err
    assert repo.tree() == repo.tree(commits["target"])  # code at T
    current = projects.run(repo.path, "alembic", "current").stdout.split()
    heads = projects.run(repo.path, "alembic", "heads").stdout.split()
    assert current[0] == heads[0] == "a1"  # data at T, by the target code's own tool
    assert sqlite_tables(repo.path / "app.db") == {"alembic_version", "items"}
    listed = rollback(capsys, "snapshot", "list", "--json")
    assert any("before rollback" in (s.get("label") or "") for s in json.loads(listed.out))
