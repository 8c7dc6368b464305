"""Write the results: ``benchmarks.md`` (tables and targets), ``benchmarks.json``, a PNG plot."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.context import Context
from benchmarks.measure import Measurement, Scenario


def _first_line(args: list[str], env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=20, env=env)
    except (OSError, subprocess.TimeoutExpired):
        return "not available"
    text = (proc.stdout or proc.stderr).strip()
    return text.splitlines()[0] if proc.returncode == 0 and text else "not available"


def machine() -> dict[str, str]:
    """CPU model, core count, memory, kernel."""
    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "kernel": platform.release(),
        "load average at the end": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def versions(ctx: Context) -> dict[str, str]:
    """Versions of everything measured."""
    import git as gitpython

    return {
        "python": platform.python_version(),
        "rollback": _first_line([*ctx.rollback, "--version"]),
        "GitPython": str(gitpython.__version__),
        "git": _first_line(["git", "--version"]),
        "mariadb client": _first_line(["mariadb", "--version"]),
        "mariadb server": _first_line(
            ["mariadb", "-h127.0.0.1", "-uroot", "-N", "-B", "-e", "SELECT VERSION()"]
        ),
        "postgresql client": _first_line(["pg_dump", "--version"]),
        "postgresql server": _first_line(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "SHOW server_version"]
        ),
        "redis": _first_line(["redis-server", "--version"]),
        "gzip": _first_line(["gzip", "--version"]),
        "tar": _first_line(["tar", "--version"]),
    }


def _s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _ratio(ours: Measurement | None, other: Measurement) -> str:
    if ours is None or not ours.runs or not other.runs or other.median <= 0:
        return "—"
    r = ours.median / other.median
    return f"{r:.2f}×" if r >= 0.5 else f"{r:.3f}× ({1 / r:.0f}× faster)"


def _line(case: str, m: Measurement, ours: Measurement | None, is_ours: bool) -> str:
    if not m.runs:
        return f"| {case} | {m.label} | not available | | | | | {m.note} |"
    name = f"**{m.label}**" if is_ours else m.label
    ratio = "" if is_ours else _ratio(ours, m)
    rss = f"{m.peak_rss_mb:.0f}" if m.runs[0].max_rss_kb else "—"
    cpu = "—" if m.cpu is None else _s(m.cpu)
    spread = f"{_s(m.min)}–{_s(m.max)}" if len(m.runs) > 1 else "(1 run)"
    return f"| {case} | {name} | {_s(m.median)} | {spread} | {cpu} | {rss} | {ratio} | {m.note} |"


def scenario_markdown(sc: Scenario) -> list[str]:
    """One scenario's section: table, targets, notes."""
    out = [f"### {sc.title}", ""]
    if sc.unavailable:
        return [*out, f"**Not available:** {sc.unavailable}", ""]
    out += [
        "| case | command | median s | min–max s | CPU s | peak RSS MB | ours ÷ this | note |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in sc.rows:
        if row.ours is not None:
            out.append(_line(row.case, row.ours, row.ours, True))
        for other in row.others:
            out.append(_line("", other, row.ours, False))
        for note in row.notes:
            out.append(f"| | *{note}* | | | | | | |")
    out.append("")
    commands = {m.label: m.command for row in sc.rows for m in [row.ours, *row.others] if m}
    out += [f"- `{label}`: `{cmd}`" for label, cmd in commands.items()]
    out += [f"- {note}" for note in sc.notes]
    return [*out, ""]


def targets_markdown(scenarios: list[Scenario]) -> list[str]:
    out = ["| target | measured | met |", "|---|---|---|"]
    for sc in scenarios:
        for t in sc.targets:
            mark = "yes" if t.met else ("**no**" if t.met is False else "not measured")
            out.append(f"| {t.text} | {t.measured} | {mark} |")
    return out


def write(
    out: Path, ctx: Context, scenarios: list[Scenario], seconds: float, analysis: list[str]
) -> dict[str, Path]:
    """Write ``benchmarks.md``, ``benchmarks.json`` and (if matplotlib is there) the PNG."""
    out.mkdir(parents=True, exist_ok=True)
    _shorten_commands(ctx, scenarios)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mode = "smoke" if ctx.smoke else ("--quick" if ctx.quick else "full")
    info = {"machine": machine(), "versions": versions(ctx)}
    paths = {"md": out / "benchmarks.md", "json": out / "benchmarks.json"}
    png = plot(out / "benchmarks.png", scenarios)
    if png is not None:
        paths["png"] = png
    data: dict[str, Any] = {
        "generated": when,
        "mode": mode,
        "seconds": round(seconds, 1),
        "data_mb": ctx.data_mb,
        **info,
        "scenarios": [s.as_json() for s in scenarios],
    }
    paths["json"].write_text(json.dumps(data, indent=2) + "\n")
    md = [
        "# Benchmarks",
        "",
        f"Generated by `{' '.join(['python -m benchmarks', *sys.argv[1:]])}`"
        + f" on {when} ({mode} run, {seconds:.0f} s). Every figure is a whole process, "
        "measured in this run; ratios compare medians from the same run. Regenerate with the "
        "same command.",
        "",
        "Peak RSS is the kernel's `ru_maxrss` from `wait4` on the measured process: the largest "
        "resident set of that process or any descendant it waited for, i.e. the MAXIMUM over "
        "the processes of a pipeline such as `mariadb-dump | gzip` (not their sum). CPU s is "
        "the median user + system time of the whole process tree (from the same `wait4`): "
        "unlike wall time it barely moves when other work shares the two cores.",
        "",
        "## Targets",
        "",
        *targets_markdown(scenarios),
        "",
    ]
    if analysis:
        md += ["## Analysis", "", *analysis, ""]
    md += ["## Results", ""]
    for sc in scenarios:
        md += scenario_markdown(sc)
    if png is not None:
        md += ["## Time against N", "", f"![time against N]({png.name})", ""]
    md += ["## Machine", ""] + [f"- {k}: {v}" for k, v in info["machine"].items()]
    md += ["", "## Versions", ""] + [f"- {k}: {v}" for k, v in info["versions"].items()]
    paths["md"].write_text("\n".join(md) + "\n")
    return paths


def _shorten_commands(ctx: Context, scenarios: list[Scenario]) -> None:
    """Show ``rollback`` and ``python`` instead of their absolute paths."""
    for sc in scenarios:
        for row in sc.rows:
            for m in [row.ours, *row.others]:
                if m is not None:
                    m.command = m.command.replace(" ".join(ctx.rollback), "rollback").replace(
                        ctx.python, "python"
                    )


def plot(path: Path, scenarios: list[Scenario]) -> Path | None:
    """Log-log plot of time against N for restore, revert, git revert and the plumbing script."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the bench extra is not installed: the tables say everything
        return None
    series: dict[str, list[tuple[int, float, bool]]] = {}
    for sc in scenarios:
        if sc.key not in ("restore", "revert"):
            continue
        for row in sc.rows:
            if row.n is None:
                continue
            for m in [row.ours, *row.others]:
                if m is None or not m.runs:
                    continue
                series.setdefault(m.label, [])
                if all(n != row.n for n, _, _ in series[m.label]):
                    series[m.label].append((row.n, m.median, "EXTRAPOLATED" in m.note))
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=90)
    for label, points in series.items():
        points.sort()
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        (line,) = ax.plot(xs, ys, marker="o", label=label)
        extra = [(x, y) for x, y, e in points if e]
        if extra:
            ax.plot(
                [x for x, _ in extra],
                [y for _, y in extra],
                marker="o",
                linestyle="none",
                markerfacecolor="white",
                color=line.get_color(),
                label=f"{label} (extrapolated)",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("commits undone (N)")
    ax.set_ylabel("wall time, median (s)")
    ax.set_title("Rolling back N first-parent commits")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
