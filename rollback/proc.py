"""The one runner for external programs: argument lists only, never a shell.

Its error carries the command, return code, stdout and stderr, and never the environment
(credentials travel there, never on a command line).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rollback.errors import OperationError


@dataclass(frozen=True)
class Completed:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class ProcessError(OperationError):
    def __init__(self, args: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        last = (stderr or stdout).strip().splitlines()
        reason = last[-1] if last else f"exit code {returncode}"
        super().__init__(f"{args[0]} failed (exit {returncode}): {reason}")
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def details(self) -> str:
        return (
            f"command: {' '.join(self.args_)}\nreturn code: {self.returncode}\n"
            f"stdout:\n{self.stdout}\nstderr:\n{self.stderr}"
        )


def run(
    args: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float | None = None,
) -> Completed:
    """Run ``args`` and return its output as text. ``env`` is added to the current environment."""
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    data = input.encode() if isinstance(input, str) else input
    try:
        proc = subprocess.run(
            list(args),
            cwd=cwd,
            env=full_env,
            input=data,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise OperationError(f"{args[0]} is not installed or not on PATH") from exc
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise ProcessError(args, proc.returncode, out, err)
    return Completed(tuple(args), proc.returncode, out, err)
