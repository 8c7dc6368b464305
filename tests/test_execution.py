"""apply / status / resume / abort / undo: preflight refusals, killed runs, failures, undo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo


def history(repo: Repo, n: int = 3) -> list[str]:
    shas = [repo.commit("root", {"a.txt": "0\n"})]
    for i in range(1, n + 1):
        shas.append(repo.commit(f"c{i}", {f"f{i}.txt": f"{i}\n"}))
    return shas


def save_plan(capsys, tmp_path: Path, *args: str) -> Path:
    path = tmp_path / "plan.json"
    result = rollback(capsys, "plan", *args, "-o", str(path))
    assert result.code == 0, result.err
    return path


def state(repo: Repo) -> tuple[str, str, str, str]:
    return (
        repo.head(),
        repo.git("status", "--porcelain", "--untracked-files=all"),
        repo.git("symbolic-ref", "-q", "HEAD", check=False),
        repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads"),
    )


def test_plan_json_round_trips_exactly(repo: Repo, capsys, tmp_path: Path) -> None:
    from rollback.plan import plan_from_json

    shas = history(repo)
    path = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "restore")
    text = path.read_text()
    plan = plan_from_json(text)
    assert plan.to_json() == text
    assert plan_from_json(plan.to_json()) == plan


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda t: t[: len(t) // 2], "not a plan file (invalid JSON"),
        (lambda t: t.replace('"version": 1', '"version": 99'), "version 99 is not supported"),
        (lambda t: t.replace('"strategy": "restore"', '"strategy": "reset"'), "digest mismatch"),
        (lambda t: "[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_plan_files_are_refused(repo: Repo, capsys, tmp_path: Path, mutate, message) -> None:
    shas = history(repo)
    path = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "restore")
    path.write_text(mutate(path.read_text()))
    before = state(repo)
    result = rollback(capsys, "apply", str(path), "--yes")
    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) <= 2
    assert state(repo) == before


def test_missing_plan_file(repo: Repo, capsys, tmp_path: Path) -> None:
    history(repo)
    result = rollback(capsys, "apply", str(tmp_path / "nope.json"), "--yes")
    assert result.code == 2 and "cannot read the plan" in result.err


def _dirty(repo: Repo) -> None:
    (repo.path / "a.txt").write_text("edited\n")


def _index_lock(repo: Repo) -> None:
    (repo.path / ".git" / "index.lock").write_text("")


def _merge_in_progress(repo: Repo) -> None:
    repo.git("switch", "-q", "-c", "other", "HEAD~1")
    repo.commit("conflicting", {"f3.txt": "other\n"})
    repo.git("switch", "-q", "main")
    repo.git("merge", "other", check=False)


def _moved(repo: Repo) -> None:
    repo.commit("someone pushed more", {"late.txt": "x\n"})


def _detached(repo: Repo) -> None:
    repo.git("switch", "-q", "--detach", "HEAD")


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_dirty, "uncommitted changes (a.txt)"),
        (_index_lock, "index.lock exists"),
        (_merge_in_progress, "a merge is in progress"),
        (_moved, "main has moved since the plan was made"),
        (_detached, "HEAD is detached"),
    ],
)
def test_preflight_refuses_and_changes_nothing(
    repo: Repo, capsys, tmp_path: Path, spoil, message
) -> None:
    shas = history(repo)
    path = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "reset")
    spoil(repo)
    before = state(repo)
    result = rollback(capsys, "apply", str(path), "--yes")
    assert result.code == 3, result.err
    assert message in result.err
    assert state(repo) == before
    assert repo.git("for-each-ref", "refs/rollback") == ""


def test_merge_in_progress_names_the_command_that_finishes_it(repo: Repo, capsys, tmp_path) -> None:
    shas = history(repo)
    path = save_plan(capsys, tmp_path, "--to", shas[0])
    _merge_in_progress(repo)
    result = rollback(capsys, "apply", str(path), "--yes")
    assert "git merge --continue  (or: git merge --abort)" in result.err


def test_shallow_clone_past_the_target(repo: Repo, capsys, tmp_path: Path, monkeypatch) -> None:
    shas = history(repo, 4)
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "2", f"file://{repo.path}", str(shallow)], check=True
    )
    monkeypatch.chdir(shallow)
    result = rollback(capsys, "plan", "--to", shas[0])
    assert result.code == 3
    assert "shallow clone" in result.err and "git fetch --unshallow" in result.err


def test_untracked_file_in_the_way_is_cleaned_up(repo: Repo, capsys) -> None:
    """read-tree refuses to overwrite an untracked file: the run is undone, nothing lost."""
    shas = history(repo)
    repo.git("rm", "-q", "f3.txt")
    repo.commit("drop f3")
    (repo.path / "f3.txt").write_text("precious untracked work\n")
    before = state(repo)
    result = rollback(capsys, "plan", "--to", shas[3], "--strategy", "reset", "--apply", "--yes")
    print(result.err)
    assert result.code == 3
    assert "step 2 (move-branch) failed: files that git does not track" in result.err
    assert "f3.txt" in result.err
    assert "put back: main is at" in result.err and "NOT put back" not in result.err
    assert (repo.path / "f3.txt").read_text() == "precious untracked work\n"
    assert state(repo) == before
    status = rollback(capsys, "status")
    assert "-- failed" in status.out


def test_push_rejected_by_hook_is_undone(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = history(repo)
    remote = tmp_path / "origin.git"
    repo.add_remote(remote)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'deploy freeze: pushes are closed' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = state(repo)
    result = rollback(
        capsys, "plan", "--to", shas[1], "--strategy", "revert", "--push", "--apply", "--yes"
    )
    assert result.code == 1
    assert "deploy freeze: pushes are closed" in result.err
    assert "put back: main is at" in result.err and "index and work tree match it" in result.err
    assert "origin/main is at" in result.err and "NOT put back" not in result.err
    assert state(repo) == before


def _apply_killed(repo: Repo, plan: Path, after_step: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ROLLBACK_FAULT=f"after-step-{after_step}")
    return subprocess.run(
        [sys.executable, "-m", "rollback", "apply", str(plan), "--yes"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_killed_run_then_status_and_abort(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = history(repo)
    plan = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "restore")
    before = state(repo)
    killed = _apply_killed(repo, plan, 2)  # killed after the branch moved
    assert killed.returncode == -9
    assert repo.head() != before[0]
    status = rollback(capsys, "status")
    assert "-- interrupted" in status.out and "is gone" in status.out
    assert "[x] 3. Move main" in status.out and "rollback resume" in status.out
    again = rollback(capsys, "apply", str(plan), "--yes")
    assert again.code == 3 and "was interrupted: its process is gone" in again.err
    aborted = rollback(capsys, "abort")
    assert aborted.code == 0, aborted.err
    assert state(repo) == before
    assert rollback(capsys, "abort").code == 2


def test_killed_run_then_resume(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = history(repo)
    plan = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "revert")
    killed = _apply_killed(repo, plan, 1)  # killed after writing commits, before the move
    assert killed.returncode == -9
    result = rollback(capsys, "resume")
    assert result.code == 0, result.err
    assert "completed" in result.out
    assert repo.tree() == repo.tree(shas[0])


def test_abort_refuses_when_someone_moved_the_branch(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = history(repo)
    plan = save_plan(capsys, tmp_path, "--to", shas[0], "--strategy", "restore")
    _apply_killed(repo, plan, 2)
    moved = repo.commit("someone else", {"z.txt": "z\n"})
    result = rollback(capsys, "abort")
    assert result.code == 3
    assert "moved by someone else" in result.err
    assert repo.head() == moved


def test_undo_unpushed_moves_back(repo: Repo, capsys) -> None:
    shas = history(repo)
    head = repo.head()
    assert rollback(capsys, "plan", "--to", shas[0], "-s", "revert", "--apply", "--yes").code == 0
    result = rollback(capsys, "undo")
    assert result.code == 0, result.err
    assert repo.head() == head
    assert repo.git("status", "--porcelain") == ""
    assert rollback(capsys, "undo").code == 2  # nothing left to undo


def test_undo_after_push_plans_a_revert(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = history(repo)
    repo.add_remote(tmp_path / "origin.git")
    head_tree = repo.tree()
    result = rollback(capsys, "plan", "--to", shas[0], "-s", "restore", "--push", "--apply", "-y")
    assert result.code == 0, result.err
    undo = rollback(capsys, "undo", "--apply", "--yes")
    assert undo.code == 0, undo.err
    assert "already pushed: undo is a new revert plan" in undo.err
    assert repo.tree() == head_tree
    assert repo.git("log", "-1", "--format=%s").startswith('Revert "Roll back to')


def test_status_json_and_all(repo: Repo, capsys) -> None:
    shas = history(repo)
    assert rollback(capsys, "status").out.strip() == "no rollback has run in this repository"
    rollback(capsys, "plan", "--to", shas[1], "--apply", "--yes")
    body = json.loads(rollback(capsys, "status", "--all", "--json").out)
    assert len(body) == 1 and body[0]["status"] == "completed"
    assert body[0]["before"] == shas[-1]


def test_a_tag_named_like_the_branch_does_not_confuse_the_branch_name(repo: Repo, capsys) -> None:
    shas = history(repo)
    repo.git("tag", "main", shas[1])  # `symbolic-ref --short HEAD` now says "heads/main"
    result = rollback(capsys, "plan", "--to", shas[0], "-s", "restore", "--apply", "--yes")
    assert result.code == 0, result.err
    assert repo.git("symbolic-ref", "HEAD") == "refs/heads/main"
    assert repo.tree() == repo.tree(shas[0]) and repo.git("rev-parse", "HEAD~1") == shas[-1]
    assert repo.git("for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main"
    assert rollback(capsys, "undo").code == 0
    assert repo.head() == shas[-1]
