"""Repositories that make a rollback's life hard: smudge filters that wait or fail (as git-lfs
does when its server is slow or unreachable), and runs started in their own process group so
that a test can kill the whole group (rollback, git and the filter) at a chosen moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.gitrepo import Repo

DAT = ("a.dat", "b.dat", "c.dat", "d.dat")


def state(repo: Repo) -> tuple[str, ...]:
    """HEAD, branch, index and work tree (tracked and untracked), and every ref."""
    return (
        repo.git("symbolic-ref", "-q", "HEAD", check=False),
        repo.head(),
        repo.git("status", "--porcelain=v2", "--untracked-files=all", "--ignored"),
        repo.git("for-each-ref", "--format=%(refname) %(objectname)"),
        repo.git("ls-files", "-s"),
        "\n".join(f"{p}:{(repo.path / p).read_bytes()!r}" for p in DAT if (repo.path / p).exists()),
    )


def filtered_history(repo: Repo, marks: Path) -> dict[str, str]:
    """A history whose last commit changes four filtered files; returns the shas.

    The ``slow`` filter (a pass-through, as a clean/smudge pair should be) waits on the
    smudge of ``c.dat`` until ``marks/go`` exists, after writing ``marks/started``; with
    ``marks/fail`` present it fails on ``c.dat`` instead, as git-lfs does without its server.
    """
    marks.mkdir(parents=True, exist_ok=True)
    smudge = (
        'sh -c \'if [ "$1" = c.dat ]; then '
        f'[ -e "{marks}/fail" ] && exit 1; '
        f'touch "{marks}/started"; '
        f'while [ ! -e "{marks}/go" ]; do sleep 0.01; done; '
        "fi; cat' -- %f"
    )
    repo.git("config", "filter.slow.smudge", smudge)
    repo.git("config", "filter.slow.clean", "cat")
    repo.git("config", "filter.slow.required", "true")
    info = repo.path / ".git" / "info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "attributes").write_text("*.dat filter=slow\n")
    (marks / "go").touch()  # building the history must not wait
    shas = {"root": repo.commit("root", {"README": "shop\n"})}
    shas["target"] = repo.commit("v1", {p: f"{p} v1\n" for p in DAT} | {"keep.txt": "k\n"})
    shas["middle"] = repo.commit("v2 code", {"code.txt": "v2\n"})
    shas["head"] = repo.commit("v2 data", {p: f"{p} v2\n" for p in DAT})
    (marks / "go").unlink()
    return shas


def start(repo: Repo, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m rollback ARGS`` in its own session (process group), like a terminal job."""
    return subprocess.Popen(
        [sys.executable, "-m", "rollback", *args],
        cwd=repo.path,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"process ended ({proc.returncode}) before {path}: {err}{out}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.01)


def kill_group(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group (rollback, git, the filter), then reap rollback."""
    os.killpg(proc.pid, sig)
    proc.communicate(timeout=20)
    try:  # the group's last members may take a moment to go
        for _ in range(200):
            os.killpg(proc.pid, 0)
            time.sleep(0.01)
    except ProcessLookupError:
        pass
