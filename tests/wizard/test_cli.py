"""The wizard and demo commands without a terminal, and the execution view's summary."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console

from rollback.plan import Step
from rollback.ui.demo import Demo
from rollback.ui.execview import ExecView, human_bytes, next_steps
from rollback.ui.lines import fold
from tests.cli import rollback
from tests.gitrepo import git
from tests.wizard.conftest import schema


def test_wizard_without_a_terminal_refuses_and_points_to_plan(shop: Demo, capsys) -> None:
    result = rollback(capsys, "wizard")
    assert result.code == 2
    assert result.err.splitlines()[0] == (
        "rollback: the wizard needs a terminal to ask its questions (no TTY here)"
    )
    assert "rollback plan --to REF" in result.err


def test_plain_rollback_without_a_terminal_prints_help(shop: Demo, capsys) -> None:
    result = rollback(capsys)
    assert result.code == 0 and "Usage: rollback" in result.out


def test_wizard_yes_with_flags_runs_without_a_terminal(shop: Demo, capsys, tmp_path) -> None:
    runbook = tmp_path / "rb.md"
    result = rollback(
        capsys, "wizard", "--yes", "--to", "v1.2", "--snapshot", "auto", "--save-runbook",
        str(runbook),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Done: main moved from" in result.out
    assert runbook.read_text().startswith("# Rollback runbook ")
    assert "price REAL" in schema(shop.path)


def test_wizard_yes_with_a_bad_flag_is_a_usage_error(shop: Demo, capsys) -> None:
    result = rollback(capsys, "wizard", "--yes", "--to", "no-such-ref")
    assert result.code == 2 and "unknown revision 'no-such-ref'" in result.err
    assert git(shop.path, "for-each-ref", "refs/rollback") == ""


def test_demo_no_wizard_builds_fast(tmp_path: Path, capsys) -> None:
    started = time.monotonic()
    result = rollback(capsys, "demo", "--path", str(tmp_path / "d"), "--no-wizard")
    elapsed = time.monotonic() - started
    assert result.code == 0, result.err
    assert elapsed < 5, f"the demo took {elapsed:.1f} s to build"
    work = tmp_path / "d" / "shop"
    assert f"cd {work} && rollback" in result.out.replace("\n", "")
    tags = git(work, "tag").split()
    assert tags == ["v1.0", "v1.1", "v1.2", "v1.3"]
    listed = rollback(capsys, "snapshot", "list", "--json", "--repo", str(work))
    assert listed.out.count('"commit"') == 3


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys) -> None:
    (tmp_path / "keep.txt").write_text("mine\n")
    result = rollback(capsys, "demo", "--path", str(tmp_path), "--no-wizard")
    assert result.code == 2 and "is not empty" in result.err
    assert (tmp_path / "keep.txt").read_text() == "mine\n"


# -- the execution view ----------------------------------------------------------------------


def test_exec_view_ticks_each_step_with_its_undo_and_bytes() -> None:
    out = Console(file=io.StringIO(), width=80, no_color=True)
    view = ExecView(out)
    step = Step("safety-snapshot", "Take a safety snapshot")
    view.step_started(0, step)
    view.progress("files", 500, 1000)
    view.step_done(0, step, {"bytes": 1536, "snapshot": "S1"})
    restore = Step("restore-snapshot", "Restore", undo="restore <safety snapshot id>")
    view.step_started(1, restore)
    view.step_done(1, restore, {})
    view.close()
    assert isinstance(out.file, io.StringIO)
    lines = out.file.getvalue().splitlines()
    assert lines == [
        "✓ 1. Take a safety snapshot (1.5 KB)",
        "     safety snapshot: S1",
        "✓ 2. Restore",
        "     $ restore S1  # undo",
    ]


@pytest.mark.parametrize(("n", "shown"), [(0, "0 B"), (999, "999 B"), (10**6, "1.0 MB")])
def test_human_bytes(n: int, shown: str) -> None:
    assert human_bytes(n) == shown


def test_next_steps_for_magento_cloud_say_the_next_deploy_ships_git(shop: Demo, capsys) -> None:
    from rollback.code.planner import make_plan
    from rollback.git.repo import GitRepo

    plan = make_plan(GitRepo.open(shop.path), strategy="park", to="v1.2")
    steps = fold(next_steps(plan, "magento-cloud"), 80)
    assert steps[0] == "  - push (history is rewritten: force, with lease):"
    assert steps[1].startswith("    $ git push --force-with-lease=main:")
    assert "the next deploy ships what is in git" in steps[2]
    assert steps[-1].startswith("  - verify:")
