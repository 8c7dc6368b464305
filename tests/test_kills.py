"""The kill sweep: SIGKILL at every step boundary and inside the work-tree update, for apply,
undo and abort; after each kill, ``resume`` reaches the same result as an uninterrupted run,
and ``abort`` returns HEAD, index, work tree and refs exactly to the start.

Deterministic: step boundaries and the points of a branch move are named kill points
(``ROLLBACK_FAULT``, see rollback/run/faults.py); the inside of the work-tree update is a
smudge filter that waits for a marker file, and the whole process group is killed there.
Each kill runs once; the killed repository is copied so that both resume and abort start
from the very same state.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo
from tests.hostile import filtered_history, kill_group, start, state, wait_for

INSIDE = "inside-the-work-tree-update"
MOVE_POINTS = ("move-intent", "move-ref", INSIDE, "move-tree")


def _kill(repo: Repo, marks: Path, point: str, *args: str) -> None:
    """Run ``rollback ARGS`` and kill it (and its git and filter) at ``point``."""
    if point == INSIDE:
        (marks / "go").unlink(missing_ok=True)
        (marks / "started").unlink(missing_ok=True)
        proc = start(repo, *args)
        wait_for(marks / "started", proc)
        kill_group(proc)
        (marks / "go").touch()
        return
    (marks / "go").touch()
    proc = start(repo, *args, env={"ROLLBACK_FAULT": point})
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -9, f"{point}: not killed ({proc.returncode}): {err}{out}"


def _twins(repo: Repo, tmp_path: Path, name: str, bare: Path | None = None) -> tuple[Repo, Repo]:
    """Two copies of the killed repository (and of its remote): one to resume, one to abort."""
    twins = []
    for kind in ("resume", "abort"):
        copy = tmp_path / f"{name}-{kind}"
        shutil.copytree(repo.path, copy, symlinks=True)
        if bare is not None:
            shutil.copytree(bare, tmp_path / f"{name}-{kind}.git", symlinks=True)
            Repo(copy).git("remote", "set-url", "origin", str(tmp_path / f"{name}-{kind}.git"))
        twins.append(Repo(copy))
    return twins[0], twins[1]


def _in(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.chdir(repo.path)
    return repo


def _restored(repo: Repo, shas: dict[str, str]) -> None:
    """What an uninterrupted restore gives: the target's tree on top of the old head."""
    assert repo.tree() == repo.tree(shas["target"])
    assert repo.git("rev-parse", "HEAD~1") == shas["head"]
    assert repo.git("status", "--porcelain=v2", "--untracked-files=all") == ""
    assert repo.git("diff", "--stat", shas["target"]) == ""  # the work tree too
    assert (repo.path / "c.dat").read_text() == "c.dat v1\n"


APPLY_POINTS = (
    "after-step-0",  # the safety ref is written
    "after-step-1",  # the commit is written
    *(f"running:{p}" if p != INSIDE else p for p in MOVE_POINTS),  # inside the move
    "after-step-2",  # moved, not yet completed
)


@pytest.mark.parametrize("point", APPLY_POINTS)
def test_apply_killed_anywhere(repo: Repo, capsys, tmp_path: Path, monkeypatch, point) -> None:
    marks = tmp_path / "marks"
    shas = filtered_history(repo, marks)
    plan = tmp_path / "plan.json"
    assert (
        rollback(capsys, "plan", "--to", shas["target"], "-s", "restore", "-o", str(plan)).code == 0
    )
    before = state(repo)
    _kill(repo, marks, point, "apply", str(plan), "--yes")
    resumed, aborted = _twins(repo, tmp_path, "apply")
    _in(resumed, monkeypatch)
    result = rollback(capsys, "resume")
    assert result.code == 0, f"{point}: {result.err}"
    _restored(resumed, shas)
    assert "completed" in result.out
    _in(aborted, monkeypatch)
    result = rollback(capsys, "abort")
    assert result.code == 0, f"{point}: {result.err}"
    assert state(aborted)[:5] == _moved(before, repo.path, aborted.path)[:5]
    assert aborted.git("for-each-ref", "refs/rollback") == ""


def _moved(snapshot: tuple[str, ...], old: Path, new: Path) -> tuple[str, ...]:
    return tuple(s.replace(str(old), str(new)) for s in snapshot)


@pytest.mark.parametrize("point", [f"undoing:{p}" if p != INSIDE else p for p in MOVE_POINTS])
def test_undo_killed_anywhere(repo: Repo, capsys, tmp_path: Path, monkeypatch, point) -> None:
    marks = tmp_path / "marks"
    shas = filtered_history(repo, marks)
    before = state(repo)
    (marks / "go").touch()
    applied = rollback(capsys, "plan", "--to", shas["target"], "-s", "restore", "--apply", "-y")
    assert applied.code == 0, applied.err
    done = state(repo)
    _kill(repo, marks, point, "undo", "--yes")
    resumed, aborted = _twins(repo, tmp_path, "undo")
    _in(resumed, monkeypatch)
    result = rollback(capsys, "resume")
    assert result.code == 0, f"{point}: {result.err}"
    assert "undone" in result.out
    assert state(resumed)[1:3] == before[1:3]  # HEAD and the work tree as before the rollback
    assert resumed.git("ls-files", "-s") == before[4]
    _in(aborted, monkeypatch)
    result = rollback(capsys, "abort")
    assert result.code == 0, f"{point}: {result.err}"
    assert state(aborted)[:5] == _moved(done, repo.path, aborted.path)[:5]
    assert rollback(capsys, "status").out.splitlines()[0].endswith("-- completed")


@pytest.mark.parametrize("point", [f"aborting:{p}" if p != INSIDE else p for p in MOVE_POINTS])
def test_abort_killed_anywhere(repo: Repo, capsys, tmp_path: Path, monkeypatch, point) -> None:
    marks = tmp_path / "marks"
    shas = filtered_history(repo, marks)
    plan = tmp_path / "plan.json"
    assert (
        rollback(capsys, "plan", "--to", shas["target"], "-s", "restore", "-o", str(plan)).code == 0
    )
    before = state(repo)
    _kill(repo, marks, "after-step-2", "apply", str(plan), "--yes")  # moved, not completed
    _kill(repo, marks, point, "abort")
    resumed, aborted = _twins(repo, tmp_path, "abort")
    for twin, command in ((resumed, "resume"), (aborted, "abort")):
        _in(twin, monkeypatch)
        result = rollback(capsys, command)
        assert result.code == 0, f"{point} {command}: {result.err}"
        assert state(twin)[:5] == _moved(before, repo.path, twin.path)[:5]
        assert twin.git("for-each-ref", "refs/rollback") == ""


@pytest.mark.parametrize("point", ["after-step-0", "after-step-1", "after-step-2", "after-step-3"])
def test_park_push_killed_at_each_step(
    repo: Repo, capsys, tmp_path: Path, monkeypatch, point
) -> None:
    marks = tmp_path / "marks"
    shas = filtered_history(repo, marks)
    bare = tmp_path / "origin.git"
    repo.add_remote(bare)
    plan = tmp_path / "plan.json"
    made = rollback(capsys, "plan", "--to", shas["target"], "-s", "park", "--push", "-o", str(plan))
    assert made.code == 0, made.err
    before, remote_before = state(repo), repo.git("ls-remote", "origin")
    _kill(repo, marks, point, "apply", str(plan), "--yes")
    resumed, aborted = _twins(repo, tmp_path, "park", bare)
    _in(resumed, monkeypatch)
    result = rollback(capsys, "resume")
    assert result.code == 0, f"{point}: {result.err}"
    assert resumed.head() == shas["target"] and resumed.git("status", "--porcelain") == ""
    remote = resumed.git("ls-remote", "origin")
    assert f"{shas['target']}\trefs/heads/main" in remote
    assert any(f"{shas['head']}\trefs/heads/inactive/" in line for line in remote.splitlines())
    _in(aborted, monkeypatch)
    result = rollback(capsys, "abort")
    assert result.code == 0, f"{point}: {result.err}"
    assert state(aborted)[:5] == _moved(before, repo.path, aborted.path)[:5]
    assert aborted.git("ls-remote", "origin") == remote_before
