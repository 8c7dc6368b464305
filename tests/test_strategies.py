"""Every strategy, applied to real repositories: the resulting tree, and nothing lost."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo


def linear(repo: Repo, n: int = 4) -> list[str]:
    """root + n commits, each changing its own file and a shared one."""
    shas = [repo.commit("root", {"shared.txt": "0\n"})]
    for i in range(1, n + 1):
        shas.append(repo.commit(f"change {i}", {f"f{i}.txt": f"{i}\n", "shared.txt": f"{i}\n"}))
    return shas


def with_merge(repo: Repo) -> list[str]:
    shas = linear(repo, 2)
    repo.git("switch", "-q", "-c", "topic", shas[1])
    repo.commit("topic work", {"topic.txt": "t\n"})
    repo.git("switch", "-q", "main")
    shas.append(repo.merge("topic"))
    shas.append(repo.commit("after merge", {"late.txt": "l\n"}))
    return shas


def apply(capsys, *args: str):
    return rollback(capsys, "plan", *args, "--apply", "--yes")


@pytest.mark.parametrize("strategy", ["revert", "restore", "park", "reset"])
def test_tree_equals_target_and_nothing_is_lost(repo: Repo, capsys, strategy: str) -> None:
    shas = with_merge(repo)
    before = repo.all_reachable()
    result = apply(capsys, "--to", shas[1], "--strategy", strategy)
    assert result.code == 0, result.err
    assert repo.tree() == repo.tree(shas[1])
    assert repo.git("status", "--porcelain") == ""
    assert (repo.path / "topic.txt").exists() is False
    repo.git("gc", "-q", "--prune=now")
    assert before <= set(repo.git("rev-list", "--all").split()), "a commit became unreachable"


def test_revert_writes_what_git_revert_writes(repo: Repo, capsys, tmp_path: Path) -> None:
    """Same trees, same messages, same identities and dates => the very same commit ids."""
    shas = with_merge(repo)
    fixed = {"GIT_AUTHOR_DATE": "@1800000000 +0000", "GIT_COMMITTER_DATE": "@1800000000 +0000"}
    os.environ.update(fixed)
    try:
        twin = tmp_path / "twin"
        subprocess.run(["git", "clone", "-q", str(repo.path), str(twin)], check=True)
        undone = repo.git("rev-list", "--first-parent", f"{shas[1]}..HEAD").split()
        subprocess.run(
            ["git", "revert", "--no-edit", "-m", "1", *undone],
            cwd=twin,
            check=True,
            capture_output=True,
        )
        result = apply(capsys, "--to", shas[1], "--strategy", "revert")
    finally:
        for key in fixed:
            del os.environ[key]
    assert result.code == 0, result.err
    ours = repo.git("log", "--format=%H %T%n%B", f"{shas[-1]}..HEAD")
    theirs = subprocess.run(
        ["git", "log", "--format=%H %T%n%B", f"{shas[-1]}..HEAD"],
        cwd=twin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert ours == theirs
    assert 'Revert "Merge branch' in ours and "reversing\nchanges made to" in ours


def test_revert_skips_an_empty_revert_like_git_revert_skip(repo: Repo, capsys) -> None:
    shas = linear(repo, 2)
    repo.git("commit", "-q", "--allow-empty", "-m", "empty")
    repo.commit("last", {"z.txt": "z\n"})
    result = apply(capsys, "--to", shas[1], "--strategy", "revert")
    assert result.code == 0, result.err
    subjects = repo.git("log", "--format=%s", "-3").splitlines()
    assert subjects == ['Revert "change 2"', 'Revert "last"', "last"]
    assert repo.tree() == repo.tree(shas[1])


def test_root_commit_as_target(repo: Repo, capsys) -> None:
    shas = linear(repo, 3)
    result = apply(capsys, "--to", shas[0], "--strategy", "restore")
    assert result.code == 0, result.err
    assert repo.tree() == repo.tree(shas[0])
    message = repo.git("log", "-1", "--format=%B")
    assert message.startswith(f'Roll back to {shas[0][:10]} "root"')
    assert "undoing 3 commit(s)" in message


def test_revert_selected_equals_plain_git_revert(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = linear(repo, 5)
    repo.commit("unrelated", {"u.txt": "u\n"})
    twin = tmp_path / "twin"
    subprocess.run(["git", "clone", "-q", str(repo.path), str(twin)], check=True)
    # given oldest first on purpose: applied newest first
    picks = [shas[1], shas[3]]
    result = rollback(
        capsys,
        "plan",
        "--strategy",
        "revert-selected",
        "--commits",
        ",".join(p[:8] for p in picks),
        "--apply",
        "--yes",
    )
    # change 1 and change 3 both edit shared.txt, which later commits change too: conflict
    assert result.code == 3
    assert "would conflict in shared.txt" in result.err
    assert repo.git("for-each-ref", "refs/rollback") == ""
    assert repo.git("status", "--porcelain") == ""
    # a clean case: revert a commit that adds its own file only
    clean = repo.commit("adds feature file", {"feature.txt": "x\n"})
    repo.commit("later", {"later.txt": "y\n"})
    subprocess.run(["git", "pull", "-q", str(repo.path), "main"], cwd=twin, check=True)
    subprocess.run(["git", "revert", "--no-edit", clean], cwd=twin, check=True, capture_output=True)
    result = rollback(capsys, "plan", "-s", "revert-selected", "--commits", clean, "--apply", "-y")
    assert result.code == 0, result.err
    twin_tree = subprocess.run(
        ["git", "rev-parse", "HEAD^{tree}"], cwd=twin, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert repo.tree() == twin_tree
    assert repo.git("log", "-1", "--format=%s") == 'Revert "adds feature file"'


def test_predicted_conflict_lists_files_and_changes_nothing(repo: Repo, capsys) -> None:
    shas = linear(repo, 3)
    head = repo.head()
    result = rollback(capsys, "plan", "-s", "revert-selected", "--commits", shas[1])
    assert result.code == 3
    assert "shared.txt" in result.err and "nothing was changed" in result.err
    assert repo.head() == head
    assert repo.git("for-each-ref", "refs/rollback") == ""


def test_stop_at_conflict_then_abort(repo: Repo, capsys) -> None:
    shas = linear(repo, 3)
    head = repo.head()
    result = rollback(
        capsys,
        "plan",
        "-s",
        "revert-selected",
        "--commits",
        shas[1],
        "--stop-at-conflict",
        "--apply",
        "--yes",
    )
    assert result.code == 0, result.err
    assert "stopped at the conflict" in result.out
    assert (repo.path / ".git" / "REVERT_HEAD").exists()
    status = rollback(capsys, "status")
    assert "-- stopped" in status.out and "rollback resume" in status.out
    aborted = rollback(capsys, "abort")
    assert aborted.code == 0, aborted.err
    assert repo.head() == head
    assert repo.git("status", "--porcelain") == ""


def test_reset_refused_when_commits_are_pushed(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = linear(repo, 2)
    repo.add_remote(tmp_path / "origin.git")
    result = rollback(capsys, "plan", "--to", shas[0], "--strategy", "reset")
    assert result.code == 3
    assert "already pushed" in result.err


def test_park_keeps_head_on_inactive_branch_and_says_force_push(
    repo: Repo, capsys, tmp_path: Path
) -> None:
    shas = linear(repo, 2)
    repo.add_remote(tmp_path / "origin.git")
    head = repo.head()
    plan = rollback(capsys, "plan", "--to", shas[0], "--strategy", "park")
    assert "rewrites published history" in plan.out
    assert f"git push --force-with-lease=main:{head} origin main" in plan.out
    result = apply(capsys, "--to", shas[0], "--strategy", "park")
    assert result.code == 0, result.err
    parked = repo.git(
        "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/inactive"
    )
    name, sha = parked.split()
    assert name.startswith("inactive/main-") and sha == head
    assert repo.head() == shas[0]


def test_park_with_push_force_pushes_with_lease(repo: Repo, capsys, tmp_path: Path) -> None:
    shas = linear(repo, 2)
    remote = tmp_path / "origin.git"
    repo.add_remote(remote)
    result = apply(capsys, "--to", shas[0], "--strategy", "park", "--push")
    assert result.code == 0, result.err
    remote_heads = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"],
        cwd=remote,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"main {shas[0]}" in remote_heads
    assert f" {shas[-1]}" in remote_heads  # the parked head is on the remote too


def test_before_picks_newest_commit_at_or_before(repo: Repo, capsys) -> None:
    shas = linear(repo, 3)  # commits one hour apart from 2025-11-20 13:00 UTC
    result = rollback(capsys, "plan", "--before", "2025-11-20T14:30:00+00:00", "-f", "json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["target"] == shas[1]


def test_before_with_no_commit_that_old(repo: Repo, capsys) -> None:
    linear(repo, 2)
    result = rollback(capsys, "plan", "--before", "2001-01-01")
    assert result.code == 2
    assert "no commit on this branch is as old as 2001-01-01" in result.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "no-such-ref"], "unknown revision 'no-such-ref'"),
        (["--to", "HEAD"], "nothing to roll back"),
        (["--before", "yesterday-ish"], "not a date"),
        (["--to", "HEAD~1", "--strategy", "sideways"], "unknown strategy 'sideways'"),
        ([], "name exactly one target"),
        (["--to", "HEAD~1", "--format", "yaml"], "--format 'yaml'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(repo: Repo, capsys, args, message) -> None:
    linear(repo, 2)
    result = rollback(capsys, "plan", *args)
    assert result.code == 2, result.err
    assert message in result.err
    assert "Traceback" not in result.err


def test_target_off_the_first_parent_line(repo: Repo, capsys) -> None:
    linear(repo, 1)
    repo.git("switch", "-q", "-c", "topic")
    side = repo.commit("side", {"s.txt": "s\n"})
    repo.git("switch", "-q", "main")
    repo.commit("main work", {"m.txt": "m\n"})
    repo.merge("topic")
    result = rollback(capsys, "plan", "--to", side)
    assert result.code == 2
    assert "not on the first-parent line" in result.err
