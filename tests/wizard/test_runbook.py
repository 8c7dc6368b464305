"""Golden tests of the Markdown runbook: fixed repo, plan id and time; the whole output.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/wizard``
and review the diff.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from rollback.code.planner import make_plan
from rollback.config import load_config
from rollback.data.project import Project
from rollback.git.repo import GitRepo
from rollback.plan import Plan
from rollback.ui.runbook import plan_markdown
from tests.gitrepo import Repo

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2025, 11, 21, 9, 30, tzinfo=timezone.utc)
PLAN_ID = "20251121-093000-abc123"


def check(name: str, plan: Plan, repo: Repo) -> None:
    # the repository's folder is the only part that differs from run to run
    got = plan_markdown(plan).replace(str(repo.path), "/srv/shop")
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(got, encoding="utf-8")
    assert got == path.read_text(encoding="utf-8")


def shop_history(repo: Repo, tmp_path: Path) -> None:
    repo.commit("Catalog module", {"app/etc/config.php": "<?php return [];\n"})
    repo.git("tag", "v1.0")
    repo.commit("Fix | price rounding", {"src/price.php": "round\n"})
    repo.git("switch", "-q", "-c", "feature")
    repo.commit("Reviews table", {"app/code/A/B/etc/db_schema.xml": "<schema/>\n"})
    repo.git("switch", "-q", "main")
    repo.merge("feature")
    repo.add_remote(tmp_path / "origin.git")
    repo.commit("Local hotfix", {"src/price.php": "round(2)\n"})


def plan_for(repo: Repo, **kwargs: object) -> Plan:
    git_repo = GitRepo.open(repo.path)
    config = load_config(repo.path)
    return make_plan(git_repo, project=Project(config), now=NOW, plan_id=PLAN_ID, **kwargs)  # type: ignore[arg-type]


def test_runbook_revert_with_merge_data_and_push(repo: Repo, tmp_path: Path) -> None:
    shop_history(repo, tmp_path)
    check("revert.md", plan_for(repo, strategy="revert", to="v1.0", push=True), repo)


def test_runbook_park(repo: Repo, tmp_path: Path) -> None:
    shop_history(repo, tmp_path)
    check("park.md", plan_for(repo, strategy="park", to="v1.0"), repo)


def test_runbook_revert_selected_with_predicted_conflict(repo: Repo) -> None:
    repo.commit("root", {"a.txt": "1\n"})
    old = repo.commit("change a", {"a.txt": "2\n"})
    repo.commit("change a again", {"a.txt": "3\n"})
    plan = plan_for(repo, strategy="revert-selected", commits=[old], stop_at_conflict=True)
    check("revert-selected.md", plan, repo)


def test_runbook_with_data_restore(repo: Repo, tmp_path: Path) -> None:
    """A restore paired with a local snapshot: the pairing's data section and data steps."""
    pytest.importorskip("rollback.data.pairing.attach")
    from rollback.data.pairing.attach import attach_data
    from rollback.data.snapshots.local import LocalStore
    from rollback.data.snapshots.settings import parse_local

    settings = '[tool.rollback.local]\npaths = ["media"]\nretention_days = 36500\n'
    repo.write({".rollback.toml": settings})
    (repo.path / ".gitignore").write_text("/media/\n/.rollback/\n")
    repo.commit("Catalog module", {"app/etc/config.php": "<?php return [];\n"})
    repo.git("tag", "v1.0")
    (repo.path / "media").mkdir()
    (repo.path / "media" / "a.jpg").write_bytes(b"jpeg")
    taken = datetime(2025, 11, 21, 8, 0, tzinfo=timezone.utc)
    store = LocalStore(parse_local(load_config(repo.path)), clock=lambda: taken)
    store.create("release-v1.0", commit=repo.head(), branch="main")
    repo.commit("Price split", {"app/code/A/B/etc/db_schema.xml": "<schema/>\n"})
    plan = plan_for(repo, strategy="restore", to="v1.0")
    plan = attach_data(GitRepo.open(repo.path), plan, snapshot="auto", data=None, now=NOW)
    check("data-restore.md", plan, repo)
