"""Run whole processes and measure them: wall time, and peak memory of the process tree.

Peak memory comes from the kernel, not from sampling: GNU ``/usr/bin/time -f %M`` reports the
``ru_maxrss`` that ``wait4`` returns for its child, which on Linux is the largest resident set
of the child *or any descendant it waited for*. For a pipeline run through ``bash -c 'a | b'``
that is the MAXIMUM over the pipeline's processes (not their sum). It is exact, costs nothing
while the command runs (no polling thread competing for the two cores), and is the same rule
on both sides of every comparison: for ``rollback snapshot create`` it covers the Python
process and the dump tool it drives, for ``mariadb-dump | gzip`` both of those processes.

Why not ``wait4`` on our own child: Python starts children with vfork/fork, and the kernel
carries the parent's high-water mark across ``exec``, so every child would report at least the
benchmark process's own ~30 MB. ``/usr/bin/time`` is a small C program, so what it passes on
is ~2 MB. Without it we fall back to ``wait4`` and say so in the note.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class CommandFailed(RuntimeError):
    """A measured command exited non-zero; carries its output for the report."""


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_kb: int
    cpu_s: float | None = None  # user + system CPU of the process tree (GNU time only)


@dataclass
class Measurement:
    """Several runs of one command: the figures the report shows."""

    label: str
    command: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def min(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def max(self) -> float:
        return max(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float | None:
        """Median CPU seconds (user + system) of the process tree, when GNU time measured it."""
        values = [r.cpu_s for r in self.runs if r.cpu_s is not None]
        return statistics.median(values) if values else None

    @property
    def peak_rss_mb(self) -> float:
        return max(r.max_rss_kb for r in self.runs) / 1024

    def as_json(self) -> dict[str, Any]:
        """The measurement as plain data for results.json."""
        return {
            "label": self.label,
            "command": self.command,
            "runs": len(self.runs),
            "median_s": round(self.median, 4),
            "min_s": round(self.min, 4),
            "max_s": round(self.max, 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "cpu_s": None if self.cpu is None else round(self.cpu, 4),
            "seconds": [round(r.seconds, 4) for r in self.runs],
            "note": self.note,
        }


def run_once(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_path: Path | None = None,
    stdout_path: Path | None = None,
) -> Run:
    """Run ``args`` once (no shell unless ``args`` is ``bash -c ...``); time it and its memory."""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    rss_file = None
    if gnu_time:
        fd, rss_file = tempfile.mkstemp(prefix="bench-rss-")
        os.close(fd)
        args = [gnu_time, "-f", "%M %U %S", "-o", rss_file, *args]
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    stdout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL  # noqa: SIM115
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
        )
        # Read stderr while waiting so a chatty command cannot block on a full pipe.
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stderr.close()
    finally:
        if stdin_path:
            stdin.close()  # type: ignore[union-attr]
        if stdout_path:
            stdout.close()  # type: ignore[union-attr]
    max_rss, cpu = int(usage.ru_maxrss), None
    if rss_file:
        # the last line is "%M %U %S" (a line before it may say the command failed)
        fields = Path(rss_file).read_text().strip().splitlines()[-1:]
        os.unlink(rss_file)
        parts = fields[0].split() if fields else []
        if len(parts) == 3 and parts[0].isdigit():
            max_rss, cpu = int(parts[0]), float(parts[1]) + float(parts[2])
        else:
            max_rss = 0
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip()[-800:]
        raise CommandFailed(f"{' '.join(args)[:300]} exited {proc.returncode}: {tail}")
    return Run(seconds, max_rss, cpu)


def measure(
    label: str,
    args: Sequence[str],
    *,
    runs: int,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
    stdin_path: Path | None = None,
    stdout_path: Path | None = None,
    warmup: bool = False,
    note: str = "",
) -> Measurement:
    """Run ``args`` ``runs`` times; ``before``/``after`` reset state outside the timed window."""
    result = Measurement(label, " ".join(args), note=note)
    if warmup:
        if before:
            before()
        run_once(args, cwd=cwd, env=env, stdin_path=stdin_path, stdout_path=stdout_path)
        if after:
            after()
    for _ in range(runs):
        if before:
            before()
        result.runs.append(
            run_once(args, cwd=cwd, env=env, stdin_path=stdin_path, stdout_path=stdout_path)
        )
        if after:
            after()
    return result


def shell(script: str) -> list[str]:
    """A pipeline or small script as an argument list (bash, with pipefail)."""
    return ["bash", "-c", f"set -euo pipefail; {script}"]


def ratio(ours: Measurement | None, theirs: Measurement | None) -> float | None:
    """ours.median / theirs.median, or None when either side is missing."""
    if ours is None or theirs is None or not ours.runs or not theirs.runs:
        return None
    return ours.median / theirs.median if theirs.median > 0 else None


def os_environ(**extra: str) -> dict[str, str]:
    """The current environment plus ``extra``."""
    env = dict(os.environ)
    env.update(extra)
    return env


@dataclass
class Row:
    """One line of a scenario's table: our command next to its raw-tool equivalents."""

    case: str
    n: int | None = None
    ours: Measurement | None = None
    others: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def ratio_to(self, label: str) -> float | None:
        """ours / the baseline named ``label`` (medians), or None."""
        other = next((m for m in self.others if m.label == label), None)
        return ratio(self.ours, other)

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "n": self.n,
            "ours": self.ours.as_json() if self.ours else None,
            "others": [m.as_json() for m in self.others],
            "ratios": {m.label: _round(ratio(self.ours, m)) for m in self.others},
            "notes": self.notes,
        }


@dataclass
class Target:
    """A target from the issue: what was asked, what was measured, met or not (None: unmeasured)."""

    text: str
    measured: str
    met: bool | None

    def as_json(self) -> dict[str, Any]:
        return {"target": self.text, "measured": self.measured, "met": self.met}


@dataclass
class Scenario:
    """The result of one scenario: its table rows, its targets and notes."""

    key: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None  # why the scenario could not run at all

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "unavailable": self.unavailable,
            "rows": [r.as_json() for r in self.rows],
            "targets": [t.as_json() for t in self.targets],
            "notes": self.notes,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
