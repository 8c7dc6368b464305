"""Build real git repositories for tests: real git, hermetic identity and dates."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

BASE_EPOCH = 1_763_640_000  # 2025-11-20 12:00:00 UTC; each commit is one hour after the last


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


class Repo:
    """A work tree with helpers to commit, merge, tag and push with deterministic dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tick = 0

    @classmethod
    def init(cls, path: Path, *, branch: str = "main") -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "-q", "-b", branch)
        return cls(path)

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.path, *args, check=check)

    def _date_env(self) -> dict[str, str]:
        import os

        self.tick += 1
        stamp = f"@{BASE_EPOCH + 3600 * self.tick} +0000"
        env = dict(os.environ)
        env["GIT_AUTHOR_DATE"] = stamp
        env["GIT_COMMITTER_DATE"] = stamp
        return env

    def write(self, files: Mapping[str, str | None]) -> None:
        for name, content in files.items():
            target = self.path / name
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    def commit(self, message: str, files: Mapping[str, str | None] | None = None) -> str:
        """Write ``files`` (None deletes), commit everything, return the new sha."""
        self.write(files or {f"file-{self.tick}.txt": f"{message}\n"})
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message, env=self._date_env())
        return self.head()

    def merge(self, branch: str, message: str | None = None) -> str:
        git(
            self.path,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            message or f"Merge branch '{branch}'",
            branch,
            env=self._date_env(),
        )
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def tree(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", f"{rev}^{{tree}}")

    def add_remote(self, bare: Path, *, push: bool = True) -> None:
        git(bare.parent, "init", "-q", "--bare", str(bare))
        self.git("remote", "add", "origin", str(bare))
        if push:
            branch = self.git("symbolic-ref", "--short", "HEAD")
            self.git("push", "-q", "-u", "origin", branch)

    def all_reachable(self) -> set[str]:
        out = self.git("rev-list", "--all", "--reflog")
        return set(out.split())
