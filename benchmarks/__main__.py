"""``python -m benchmarks [--quick] [--repo PATH] [--only SCENARIO ...] [--out DIR]``."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.context import Context
from benchmarks.measure import Scenario
from benchmarks.report import write

CODE = ("version", "log", "restore", "revert", "revert-selected")
DATA = ("sqlite", "mysql", "postgres", "redis", "files")
RESTIC = ("restic-files", "restic-mysql")
ANALYSIS = Path(__file__).with_name("ANALYSIS.md")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="N up to 1,000 and ~100 MB of data per store"
    )
    parser.add_argument("--repo", type=Path, help="run the code scenarios on a clone of PATH")
    parser.add_argument(
        "--only", nargs="+", choices=CODE + DATA + RESTIC, default=[], metavar="SCENARIO"
    )
    parser.add_argument("--out", type=Path, default=Path("docs"), help="where to write results")
    parser.add_argument("--data-mb", type=int, default=0, help="size of each data set (MB)")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the selected scenarios and write the report; return an exit code."""
    args = parse(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="rollback-bench-"))
    ctx = Context(
        work=work,
        quick=args.quick,
        smoke=args.smoke,
        repo=args.repo.resolve() if args.repo else None,
        data_mb=args.data_mb,
    )
    only = set(args.only)
    start = time.perf_counter()
    scenarios: list[Scenario] = []
    try:
        from benchmarks.scenarios_code import run_code

        scenarios += _guard("code", lambda: run_code(ctx, only), ctx)
        if not only or only & set(DATA):
            from benchmarks.scenarios_data import run_data

            scenarios += _guard("data", lambda: run_data(ctx, only), ctx)
        if not only or only & set(RESTIC):
            from benchmarks.scenarios_restic import run_restic

            scenarios += _guard("restic", lambda: run_restic(ctx, only), ctx)
    finally:
        if args.keep:
            ctx.say(f"scratch folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    analysis = ANALYSIS.read_text().splitlines() if ANALYSIS.exists() and not ctx.smoke else []
    paths = write(args.out, ctx, scenarios, time.perf_counter() - start, analysis)
    for path in paths.values():
        ctx.say(f"wrote {path}")
    return 0


def _guard(group: str, run: Callable[[], list[Scenario]], ctx: Context) -> list[Scenario]:
    """Run a group of scenarios; a crash becomes an 'unavailable' entry, not a lost report."""
    try:
        return run()
    except Exception as exc:  # report it and keep the figures of the other group
        ctx.say(f"{group} scenarios failed: {type(exc).__name__}: {exc}")
        return [Scenario(group, f"{group} scenarios", unavailable=f"{type(exc).__name__}: {exc}")]


if __name__ == "__main__":
    sys.exit(main())
