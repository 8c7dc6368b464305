"""attach_data on real repositories: magento-cloud listings (with and without commit ids,
through the fake CLI), step order for each data decision, options, hooks settings, rendering.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.code.planner import make_plan
from rollback.data.pairing.attach import attach_data
from rollback.errors import UsageError
from rollback.git.repo import GitRepo
from rollback.plan import plan_from_json
from rollback.ui.render_pairing import data_lines, data_text
from tests.gitrepo import BASE_EPOCH, Repo
from tests.pairing import projects

FAKES = Path(__file__).resolve().parent.parent / "fakes"
NOW = datetime.fromtimestamp(BASE_EPOCH, tz=timezone.utc) + timedelta(hours=6)  # after head
CLOUD = """provider = "magento-cloud"

[magento-cloud]
project = "proj"
environment = "develop-branch"
"""


def at(hours: float) -> str:
    when = datetime.fromtimestamp(BASE_EPOCH, tz=timezone.utc) + timedelta(hours=hours)
    return when.isoformat()


@pytest.fixture
def cloud(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The Magento-like project with the fake magento-cloud CLI configured as provider."""
    commits = projects.magento_project(repo)  # commits at +1 h (base) ... +5 h (head)
    (repo.path / ".rollback.toml").write_text(CLOUD)
    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    return commits


def plan_for(repo: Repo, target: str, strategy: str = "revert", **options: object) -> object:
    git = GitRepo.open(repo.path)
    plan = make_plan(git, strategy=strategy, to=target)
    return attach_data(git, plan, now=NOW, **options)  # type: ignore[arg-type]


def test_cloud_listing_with_commit_ids_pairs_recorded_commits(
    repo: Repo, cloud: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        [at(3.5), "snap-target", "true", cloud["target"]],
        [at(4.5), "snap-migration", "true", cloud["migration"]],
    ]
    monkeypatch.setenv("FAKE_MC_MODE", "csv")
    monkeypatch.setenv("FAKE_MC_ROWS", json.dumps(rows))
    plan = plan_for(repo, cloud["target"], snapshot="auto", data=None)
    data = plan.data  # type: ignore[attr-defined]
    assert data["provider"] == "magento-cloud"
    assert data["recommendation"]["action"] == "restore"
    assert data["decision"]["snapshot"] == "snap-target"
    snaps = {s["id"]: s for s in data["snapshots"]}
    assert snaps["snap-target"]["commit_source"] == "recorded"
    assert snaps["snap-migration"]["relation"] == "after-target"
    text = "\n".join(data_lines(data))
    assert f"{cloud['target'][:10]} (recorded)" in text
    assert "data-loss window: 2 h 30 min" in text
    assert "restore time: unknown" in text  # the listing gives no size


def test_cloud_listing_without_commit_ids_infers_and_says_so(
    repo: Repo, cloud: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        [at(2.5), "snap-old", "false"],  # restorable false: expired on the platform
        [at(3.5), "snap-a", "true"],  # after target (+3 h), before the migration (+4 h)
        [at(4.5), "snap-b", "true"],
    ]
    monkeypatch.setenv("FAKE_MC_MODE", "table2023")
    monkeypatch.setenv("FAKE_MC_ROWS", json.dumps(rows))
    plan = plan_for(repo, cloud["target"], snapshot="auto", data=None)
    data = plan.data  # type: ignore[attr-defined]
    snaps = {s["id"]: s for s in data["snapshots"]}
    assert {snaps[i]["commit_source"] for i in ("snap-a", "snap-b")} == {"inferred"}
    # expired and older than the history read: not followed, not guessed at
    assert (snaps["snap-old"]["relation"], snaps["snap-old"]["commit"]) == ("older", None)
    assert snaps["snap-a"]["commit"] == cloud["target"] and snaps["snap-a"]["fits"]
    assert snaps["snap-old"]["expired"] and not snaps["snap-old"]["fits"]
    assert data["decision"]["snapshot"] == "snap-a"
    text = data_text(plan)  # type: ignore[arg-type]
    assert f"{cloud['target'][:10]} (inferred)" in text
    assert "expired" in text
    assert "inferred from the time it was taken" in text
    restore = next(s for s in plan.steps if s.kind == "restore-snapshot")  # type: ignore[attr-defined]
    assert "(inferred)" in restore.title


def test_magento_with_no_fitting_snapshot_offers_the_reverse_target(
    repo: Repo, cloud: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_MC_MODE", "table2023")
    monkeypatch.setenv("FAKE_MC_ROWS", json.dumps([[at(4.5), "snap-b", "true"]]))
    plan = plan_for(repo, cloud["target"], snapshot="auto", data=None)
    data = plan.data  # type: ignore[attr-defined]
    assert data["recommendation"]["action"] == "none-fits"
    assert any("Magento has no schema downgrade" in r for r in data["recommendation"]["reasons"])
    assert (
        f"--to {cloud['migration'][:10]} --snapshot snap-b"
        in data["recommendation"]["alternatives"][0]
    )
    assert [s.kind for s in plan.steps][:2] == ["safety-ref", "write-commits"]  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="cannot downgrade: Magento"):
        plan_for(repo, cloud["target"], snapshot=None, data="downgrade")


def test_step_order_for_park_with_push_and_no_safety_snapshot(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    repo.add_remote(repo.path.parent / "remote.git")
    (repo.path / ".rollback.toml").write_text(
        '[hooks]\nbefore_restore = "true"\nafter_restore = ["true --after"]\n'
    )
    git = GitRepo.open(repo.path)
    base = make_plan(git, strategy="park", to=commits["target"], push=True)
    plan = attach_data(git, base, snapshot="none", data="downgrade", safety_snapshot=False)
    assert [s.kind for s in plan.steps] == [
        "safety-ref", "hook", "downgrade", "create-branch", "move-branch", "push", "push", "hook",
    ]  # fmt: skip
    assert plan.steps[-1].params["argv"] == ["true", "--after"]
    assert any("no safety snapshot" in r for r in plan.risks)
    assert plan.data is not None and plan.data["decision"]["safety_snapshot"] is False
    assert plan_from_json(plan.to_json()) == plan  # the data round-trips with the digest


def test_downgrade_prefix_runs_the_commands_where_the_application_lives(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    (repo.path / ".rollback.toml").write_text(
        '[downgrade]\nprefix = "docker compose exec -T app"\n'
    )
    plan = plan_for(repo, commits["target"], snapshot="none", data="downgrade",
                    safety_snapshot=False)  # fmt: skip
    step = next(s for s in plan.steps if s.kind == "downgrade")  # type: ignore[attr-defined]
    assert step.commands == ("docker compose exec -T app alembic downgrade a1",)
    assert step.params["commands"] == [
        ["docker", "compose", "exec", "-T", "app", "alembic", "downgrade", "a1"]
    ]
    (repo.path / ".rollback.toml").write_text("[downgrade]\nwrapper = 1\n")
    with pytest.raises(UsageError, match="unknown setting 'wrapper'"):
        plan_for(repo, commits["target"], snapshot="none", data="downgrade")


def test_code_only_target_gets_no_data_steps_but_the_assessment(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    (repo.path / ".rollback.toml").write_text('[hooks]\nbefore_restore = "true"\n')
    plan = plan_for(repo, commits["migration"], snapshot="auto", data=None)
    # hooks run only in plans that change the data
    assert [s.kind for s in plan.steps] == ["safety-ref", "write-commits", "move-branch"]  # type: ignore[attr-defined]
    assert plan.data["recommendation"]["action"] == "code-only"  # type: ignore[attr-defined]
    text = data_text(plan)  # type: ignore[arg-type]
    assert "no undone commit changes a migration file" in text
    assert "Recommendation: code-only rollback; restoring data is optional" in text


def test_bad_settings_and_strategies_are_refused(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    git = GitRepo.open(repo.path)
    (repo.path / ".rollback.toml").write_text('[hooks]\nbefore = "x"\n')
    with pytest.raises(UsageError, match=r"unknown setting 'before' in \[hooks\]"):
        make_plan(git, strategy="revert", to=commits["target"])  # refused when read
    (repo.path / ".rollback.toml").unlink()
    plan = make_plan(git, strategy="revert", to=commits["target"])
    (repo.path / ".rollback.toml").write_text("[hooks]\nbefore_restore = 3\n")
    with pytest.raises(UsageError, match="before_restore must be a command"):
        attach_data(git, plan, snapshot="auto", data=None)
    selected = make_plan(git, strategy="revert-selected", commits=[commits["head"]])
    with pytest.raises(UsageError, match="needs one code target"):
        attach_data(git, selected, snapshot="auto", data=None)


def test_text_rendering_whole_output() -> None:
    data = {
        "provider": "local",
        "data_commits": [{"sha": "d" * 40, "subject": "add rules", "files": ["etc/db_schema.xml"]}],
        "snapshots": [
            {"id": "s2", "created_at": "2026-11-20T10:00:00+00:00", "commit": "c" * 40,
             "commit_source": "inferred", "relation": "target", "between": [], "restorable": True,
             "expired": False, "fits": True, "loss_window_seconds": 7200, "restore_seconds": 90},
            {"id": "s1", "created_at": "2026-11-10T10:00:00+00:00", "commit": None,
             "commit_source": "none", "relation": "off-line", "between": [], "restorable": False,
             "expired": True, "fits": False, "loss_window_seconds": 900000,
             "restore_seconds": None},
        ],
        "downgrade": {"frameworks": []},
        "recommendation": {"action": "restore", "snapshot": "s2", "reasons": ["why"],
                           "alternatives": []},
        "decision": {"action": "restore", "snapshot": "s2", "pairing": {"id": "s2"},
                     "safety_snapshot": True, "reasons": ["because"]},
        "notes": [],
    }  # fmt: skip
    assert data_lines(data) == [
        "",
        "Data (local snapshots):",
        "  schema changes undone (1):",
        "    dddddddddd add rules  [etc/db_schema.xml]",
        "  snapshots (2, times in UTC):",
        "    s2  fits (target, 0 schema changes)",
        "      code cccccccccc (inferred), taken 2026-11-20 10:00",
        "      data-loss window 2 h; restore 1 min",
        "    s1  expired (off-line, 0 schema changes)",
        "      code unknown, taken 2026-11-10 10:00",
        "      data-loss window 10 d 10 h; restore unknown",
        "",
        "Recommendation: restore snapshot s2",
        "  - why",
        "Decision: restore snapshot s2 (after a safety snapshot)",
        "  - because",
    ]  # fmt: skip


def test_a_safety_snapshot_that_cannot_be_taken_is_said_at_plan_time(repo: Repo) -> None:
    commits = projects.alembic_project(repo)  # no [local] settings, no default folders
    plan = plan_for(repo, commits["target"], snapshot="auto", data=None)
    assert plan.data["decision"]["action"] == "downgrade"  # type: ignore[attr-defined]
    assert any("nothing is configured to snapshot" in n for n in plan.data["notes"])  # type: ignore[attr-defined]
    assert any(r.startswith("apply will stop before changing any data") for r in plan.risks)  # type: ignore[attr-defined]
