"""What every scenario needs: run sizes, the executables, a hermetic environment, a log."""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


def rollback_command() -> list[str]:
    """The installed ``rollback`` script next to this Python (not a pyenv shim, which adds
    ~60 ms of bash per call), else ``python -m rollback``."""
    script = Path(sys.executable).parent / "rollback"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rollback"]


def bench_env(home: Path) -> dict[str, str]:
    """The environment of every measured process, ours and the raw tools alike."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "ROLLBACK_"))}
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n")
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Bench Author",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench Author",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_EDITOR="true",
        NO_COLOR="1",
        COLUMNS="120",
        TZ="UTC",
    )
    return env


@dataclass
class Context:
    """Options of one benchmark run."""

    work: Path  # scratch folder, removed at the end
    quick: bool = False
    smoke: bool = False  # the test suite's tiny run: one run per command, smallest sizes
    repo: Path | None = None  # a real repository for the code scenarios (cloned, never touched)
    data_mb: int = 0  # size of each generated database / folder
    env: dict[str, str] = field(default_factory=dict)
    rollback: list[str] = field(default_factory=rollback_command)
    python: str = sys.executable
    started: float = field(default_factory=time.perf_counter)
    verbose: bool = True

    def __post_init__(self) -> None:
        if not self.env:
            self.env = bench_env(self.work / "home")
        if not self.data_mb:
            self.data_mb = 2 if self.smoke else (100 if self.quick else 1024)

    @property
    def sizes(self) -> list[int]:
        """Commit counts for the restore and revert scenarios."""
        if self.smoke:
            return [10]
        return [10, 100, 1000] if self.quick else [10, 100, 1000, 10000]

    def runs(self, kind: str) -> int:
        """How many times to run a command of this kind (fast / medium / slow)."""
        if self.smoke:
            return 1
        table = {"fast": (10, 20), "medium": (5, 7), "slow": (3, 3)}
        return table[kind][0 if self.quick else 1]

    def say(self, message: str) -> None:
        """Progress on stderr, with the time since the start."""
        if self.verbose:
            print(f"[{time.perf_counter() - self.started:7.1f} s] {message}", file=sys.stderr)

    def which(self, name: str) -> str | None:
        return shutil.which(name, path=self.env.get("PATH"))
