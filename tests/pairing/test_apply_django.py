"""Done-when, Django: the computed ``migrate <app> <name>`` runs for real against SQLite.

After apply the target code's own check passes: ``manage.py migrate --check`` (nothing
unapplied) and no applied migration is unknown to the code at T.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo
from tests.pairing import projects

django = pytest.importorskip("django")


def test_downgrade_to_the_target_then_the_target_code_sees_its_own_schema(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    commits = projects.django_project(repo)
    projects.settings(repo.path, local={"paths": [], "services": [{"url": "sqlite:///db.sqlite3"}]})
    projects.run(repo.path, "python", "manage.py", "migrate", "-v", "0")

    made = rollback(capsys, "plan", "--to", commits["target"], "--strategy", "restore",
                    "--data", "downgrade", "-o", "plan.json")  # fmt: skip
    assert made.code == 0, made.err
    plan = json.loads((repo.path / "plan.json").read_text())
    downgrade = next(s for s in plan["steps"] if s["kind"] == "downgrade")
    assert downgrade["commands"] == ["python manage.py migrate shop 0001_initial"]
    kinds = [s["kind"] for s in plan["steps"]]
    assert kinds.index("downgrade") < kinds.index("write-commits")  # files still there

    applied = rollback(capsys, "apply", "plan.json", "--yes")
    assert applied.code == 0, applied.err
    assert repo.tree() == repo.tree(commits["target"])
    check = projects.run(repo.path, "python", "manage.py", "migrate", "--check", check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    on_disk = {p.stem for p in (repo.path / "shop/migrations").glob("0*.py")}
    with sqlite3.connect(repo.path / "db.sqlite3") as db:
        applied_rows = {
            r[0] for r in db.execute("select name from django_migrations where app='shop'")
        }
        tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert applied_rows == on_disk == {"0001_initial"}
    assert "shop_item" in tables and "shop_price" not in tables
