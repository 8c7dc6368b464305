"""The snapshot commands end to end through ``rollback.cli.run``: output, JSON, exit codes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.cli import run
from rollback.data.snapshots.lock import store_lock
from tests.gitrepo import Repo
from tests.snapshots.localstore import write_settings


def _json(capsys: pytest.CaptureFixture[str], args: list[str], code: int = 0) -> object:
    capsys.readouterr()
    assert run(args) == code
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def shop(repo: Repo) -> Repo:
    """A git project with var/ and a committed pyproject.toml configuring the store."""
    write_settings(repo.path, paths=["var"])
    repo.commit("init", {"var/data.txt": "v1\n", ".gitignore": ".rollback/\n"})
    return repo


def test_create_list_verify_restore_round_trip(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    created = _json(capsys, ["snapshot", "create", "--label", "before deploy", "--json"])
    assert isinstance(created, dict)
    assert created["id"].endswith("-before-deploy")
    assert created["commit"] == shop.git("rev-parse", "HEAD")
    assert created["branch"] == "main"
    assert created["components"] == ["files"] and created["restorable"] is True

    listed = _json(capsys, ["snapshot", "list", "--json"])
    assert [s["id"] for s in listed] == [created["id"]]  # type: ignore[union-attr]
    verified = _json(capsys, ["snapshot", "verify", created["id"], "--json"])
    assert verified == {"id": created["id"], "ok": True, "problems": []}

    (shop.path / "var" / "data.txt").write_text("v2\n")
    (shop.path / "var" / "new.txt").write_text("new\n")
    restored = _json(capsys, ["snapshot", "restore", created["id"], "--json", "--yes"])
    assert isinstance(restored, dict)
    safety = restored["safety_snapshot"]["id"]
    assert restored["undo"] == f"rollback snapshot restore {safety}"
    assert restored["skipped_safety"] is False
    assert (shop.path / "var" / "data.txt").read_text() == "v1\n"
    assert not (shop.path / "var" / "new.txt").exists()

    # the printed undo command works
    assert run(["snapshot", "restore", safety, "--no-safety-snapshot", "-y"]) == 0
    out = capsys.readouterr()
    assert out.out == f"Restored snapshot {safety}.\n"
    assert "no safety snapshot was taken" in out.err
    assert (shop.path / "var" / "new.txt").read_text() == "new\n"


def test_checkpoint_records_commit_and_human_output(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    head = shop.git("rev-parse", "HEAD")
    capsys.readouterr()
    assert run(["checkpoint"]) == 0
    out = capsys.readouterr().out
    sid = f"{out.split()[1].rstrip(':')}"
    assert sid.endswith(f"-checkpoint-{head[:10]}")
    assert f"code at {head[:10]} (main)" in out
    assert f"  restore it with:\n    $ rollback snapshot restore {sid}\n" in out
    assert run(["snapshot", "list"]) == 0
    table = capsys.readouterr().out
    header, row = table.splitlines()
    assert header.split() == ["ID", "(UTC", "time)", "Label", "Code", "Size", "Restorable"]
    cells = row.split()
    assert cells[:5] == [sid, "checkpoint", head[:10], head[:8], "(main)"]
    expires = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert cells[6:] == ["B", expires]


def test_checkpoint_outside_git_is_bad_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "var").mkdir()
    monkeypatch.chdir(tmp_path)
    assert run(["checkpoint"]) == 2
    assert "has no git commit" in capsys.readouterr().err


def test_exit_codes(shop: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["snapshot", "restore", "20200101-000000-missing"]) == 2
    assert "no snapshot 20200101-000000-missing" in capsys.readouterr().err
    assert run(["snapshot", "list", "--provider", "nope"]) == 2

    sid = _json(capsys, ["snapshot", "create", "--json"])["id"]  # type: ignore[index]
    assert run(["snapshot", "restore", sid]) == 2  # no terminal to ask in, and no --yes
    assert "confirm with --yes" in capsys.readouterr().err
    assert _json(capsys, ["snapshot", "list", "--json"])[0]["id"] == sid  # type: ignore[index]

    sid = _json(capsys, ["snapshot", "create", "--json"])["id"]  # type: ignore[index]
    art = next((shop.path / ".rollback" / "snapshots" / sid / "files").glob("*.zst"))
    art.write_bytes(art.read_bytes() + b"garbage")
    result = _json(capsys, ["snapshot", "verify", sid, "--json"], code=3)
    assert result["ok"] is False and "checksum mismatch" in result["problems"][0]  # type: ignore[index]
    assert run(["snapshot", "verify", sid]) == 3
    assert run(["snapshot", "restore", sid, "--yes"]) == 3
    assert "is corrupted" in capsys.readouterr().err

    with store_lock(shop.path / ".rollback" / "snapshots", "rollback test holder"):
        assert run(["snapshot", "create"]) == 3
        assert "rollback test holder" in capsys.readouterr().err


def test_expired_is_refused_then_pruned(shop: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    write_settings(shop.path, paths=["var"], retention_days=0)
    sid = _json(capsys, ["snapshot", "create", "--json"])["id"]  # type: ignore[index]
    listed = _json(capsys, ["snapshot", "list", "--json"])
    assert listed[0]["restorable"] is False  # type: ignore[index]
    assert run(["snapshot", "restore", sid, "--yes"]) == 3
    assert "expired" in capsys.readouterr().err
    assert _json(capsys, ["snapshot", "prune", "--json"]) == {"removed": [sid]}
    assert _json(capsys, ["snapshot", "list", "--json"]) == []


def test_bad_settings_are_bad_input(shop: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    write_settings(shop.path, paths=["../outside"])
    assert run(["snapshot", "list"]) == 2
    assert "must be a folder inside the project" in capsys.readouterr().err
    write_settings(shop.path, services=[{"url": "ftp://example.com/x"}])
    assert run(["snapshot", "create"]) == 2


def test_password_never_shown(
    shop: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_PASSWORD", "hunter2-secret")
    write_settings(
        shop.path,
        paths=["var"],
        services=[{"url": "redis://127.0.0.1:1/0", "password_env": "CACHE_PASSWORD"}],
    )
    assert run(["snapshot", "create"]) == 1
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err
    assert "redis://127.0.0.1:1/0" in out.err


FAKES = Path(__file__).resolve().parent.parent / "fakes"


def test_magento_cloud_provider_selected_by_setting_or_flag(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("PATH", f"{FAKES}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_MC_MODE", "table2023")
    for key in ("FAKE_MC_ROWS", "FAKE_MC_FAIL_ON", "FAKE_MC_ENV_TYPE", "FAKE_MC_LOG"):
        monkeypatch.delenv(key, raising=False)
    (repo.path / "pyproject.toml").write_text(
        '[tool.rollback]\nprovider = "magento-cloud"\n\n'
        '[tool.rollback.magento-cloud]\nproject = "proj"\nenvironment = "develop-branch"\n'
    )
    listed = _json(capsys, ["snapshot", "list", "--json"])
    assert [(s["id"], s["provider"]) for s in listed] == [  # type: ignore[union-attr]
        ("my-snapshot", "magento-cloud")
    ]
    assert run(["snapshot", "prune"]) == 2
    assert "prune is not available for the magento-cloud provider" in capsys.readouterr().err
    # --provider local overrides the setting
    assert _json(capsys, ["snapshot", "list", "--provider", "local", "--json"]) == []


@pytest.mark.terminal
def test_restore_in_a_terminal_asks_first(shop: Repo) -> None:
    import os
    import sys

    pexpect = pytest.importorskip("pexpect")
    sid = run_json(shop.path, ["snapshot", "create", "--json"])["id"]
    (shop.path / "var" / "data.txt").write_text("v2\n")

    def spawn() -> pexpect.spawn:
        return pexpect.spawn(
            sys.executable,
            ["-m", "rollback", "snapshot", "restore", sid],
            cwd=str(shop.path),
            env=dict(os.environ, TERM="xterm"),
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 120),
        )

    child = spawn()
    child.expect(rf"Replace the current data with snapshot {sid} \(after a safety snapshot\)\?")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130
    assert (shop.path / "var" / "data.txt").read_text() == "v2\n"

    child = spawn()
    child.expect("Replace the current data")
    child.sendline("y")
    child.expect(r"to undo this restore, run:\s+\$ rollback snapshot restore (\S+-safety)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert (shop.path / "var" / "data.txt").read_text() == "v1\n"


def run_json(cwd: Path, args: list[str]) -> dict[str, object]:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "rollback", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result
