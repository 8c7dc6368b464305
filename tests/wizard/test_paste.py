"""Every command the wizard prints at 80 columns pastes and runs, for real.

The whole demo session (plan, execution view, summary, what to look at) is rendered on an
80-column console. Each ``$`` line is taken as a person would copy it from the screen, and
run in a shell: the plan's steps in order on a copy of the shop before the run (they must
bring code and data to v1.2 as ``apply`` does), every other command on its own copy of the
shop after the run (each must exit 0; the undo commands must put the code back).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rollback.ui.demo import Demo, what_to_look_at
from rollback.ui.lines import show
from tests.gitrepo import git
from tests.wizard.conftest import schema, text
from tests.wizard.test_flows import FULL, wizard

pexpect = pytest.importorskip("pexpect")

COMMAND = re.compile(r"^ *\$ (.*)$")
BIN = str(Path(sys.executable).parent)  # the venv's rollback, as on the user's PATH


def copy_shop(shop: Demo, dest: Path) -> Path:
    shutil.copytree(shop.path.parent, dest, symlinks=True)
    work = dest / shop.path.name
    git(work, "remote", "set-url", "origin", str(dest / "origin.git"))
    # a copied index has stale stat data ("not uptodate"); a person's clone would not
    git(work, "update-index", "-q", "--refresh", check=False)
    return work


def paste(line: str, cwd: Path) -> tuple[int, str]:
    """Run one pasted line in bash in a terminal, answering "y" to a question, as a person
    would; return (exit code, what the terminal showed)."""
    env = dict(
        os.environ, PATH=f"{BIN}:{os.environ['PATH']}", TERM="dumb", COLUMNS="80", PAGER="cat"
    )
    child = pexpect.spawn("bash", ["-c", line], cwd=str(cwd), env=env, encoding="utf-8", timeout=30)
    while child.expect([r"\[y/N\]", pexpect.EOF]) == 0:
        child.sendline("y")
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else -1), str(child.before)


@pytest.fixture
def session(shop: Demo, tmp_path: Path) -> tuple[str, Path]:
    """The 80-column render of the whole demo session, and a copy of the shop from before."""
    before = copy_shop(shop, tmp_path / "before")
    out = Console(file=__import__("io").StringIO(), width=80, no_color=True, highlight=False)
    wizard(shop.path, FULL, out)
    show(out, what_to_look_at(shop.path))
    return text(out), before


def test_every_printed_command_is_whole_on_its_own_line(session: tuple[str, Path]) -> None:
    screen, _ = session
    commands = [m.group(1) for m in map(COMMAND.match, screen.splitlines()) if m]
    assert len(commands) >= 12
    for cmd in commands:
        # a command cut by a newline would end in the middle of a quote or an id
        assert cmd.count("'") % 2 == 0 and cmd.count("(") == cmd.count(")"), cmd
    assert any(len(c) > 80 for c in commands)  # long ones stay whole too


def test_the_plan_steps_pasted_in_order_roll_back_code_and_data(
    session: tuple[str, Path], shop: Demo
) -> None:
    screen, before = session
    steps = screen.split("\nSteps:\n", 1)[1].split("\nRisks:\n", 1)[0]
    commands = [m.group(1) for m in map(COMMAND.match, steps.splitlines()) if m]
    assert [c.split()[:3] for c in commands] == [
        ["git", "update-ref", "-m"],
        ["rollback", "snapshot", "create"],
        ["rollback", "snapshot", "restore"],
        ["git", "revert", "--no-edit"],
    ]
    code, shown = paste("set -e\n" + "\n".join(commands), before)
    assert code == 0, shown
    assert git(before, "rev-parse", "HEAD^{tree}") == git(before, "rev-parse", "v1.2^{tree}")
    assert "price REAL" in schema(before)  # the data is back at v1.2
    assert git(before, "for-each-ref", "--format=%(refname)", "refs/rollback").endswith("/before")


def test_every_other_printed_command_runs_after_the_rollback(
    session: tuple[str, Path], shop: Demo, tmp_path: Path
) -> None:
    screen, _ = session
    after_steps = screen.split("\nRisks:\n", 1)[1]
    commands = [m.group(1) for m in map(COMMAND.match, after_steps.splitlines()) if m]
    assert any(c.startswith("rollback undo ") for c in commands)
    assert any(c.startswith("git push ") for c in commands)
    for i, line in enumerate(commands):
        work = copy_shop(shop, tmp_path / f"after-{i}")
        code, shown = paste(line, work)
        assert code == 0, f"{line}\n{shown}"
        if line.startswith(("rollback undo ", "git reset --keep ")):
            head = git(work, "rev-parse", "HEAD")
            assert head == git(work, "rev-parse", "v1.3^{commit}"), line
