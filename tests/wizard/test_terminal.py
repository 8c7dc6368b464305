"""End-to-end runs in a real terminal (pexpect): keys in, screen out, exit codes.

A newcomer's path: ``rollback demo``, Enter through the recommended answers, a completed
rollback of code and data, then the undo commands the demo prints. Plus Esc and Ctrl-C.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rollback.ui.demo import build_demo
from tests.gitrepo import git
from tests.wizard.conftest import schema

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.terminal
ENTER = "\r"
ESC = "\x1b"
CTRL_C = "\x03"
DOWN = "\x1b[B"


def spawn(args: list[str], cwd: Path) -> pexpect.spawn:
    # pexpect is no terminal emulator: it never answers prompt_toolkit's cursor position
    # request, which would cost a one-second timeout per prompt
    env = dict(os.environ, TERM="xterm", COLUMNS="80", LINES="40", PROMPT_TOOLKIT_NO_CPR="1")
    return pexpect.spawn(
        sys.executable,
        ["-m", "rollback", *args],
        cwd=str(cwd),
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 80),
    )


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus)


def test_demo_rolls_back_code_and_data_with_enter_only_then_undo(tmp_path: Path) -> None:
    child = spawn(["demo", "--path", str(tmp_path / "demo")], tmp_path)
    for prompt in ("Roll back to what", "Which strategy", "Push the result", "the data"):
        child.expect(prompt)
        child.send(ENTER)
    child.expect("safety snapshot")
    child.send(ENTER)
    child.expect("What now")
    child.send(ENTER)
    child.expect(r"Done: main moved from \w+ to \w+")
    child.expect(r"undo it all \(code and data\):\s+\$ rollback undo (\S+)\s")
    plan_id = child.match.group(1)
    assert finish(child) == 0
    work = tmp_path / "demo" / "shop"
    assert git(work, "rev-parse", "HEAD^{tree}") == git(work, "rev-parse", "v1.2^{tree}")
    assert "price REAL" in schema(work)
    # the printed undo command puts code and data back as they were
    done = subprocess.run(
        [sys.executable, "-m", "rollback", "undo", "--yes", plan_id],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "data restored from the rollback's safety snapshot" in done.stdout
    assert git(work, "rev-parse", "HEAD") == git(work, "rev-parse", "v1.3^{commit}")
    assert "price_incl_tax" in schema(work)


def test_demo_escape_cancels_with_nothing_changed(tmp_path: Path) -> None:
    child = spawn(["demo", "--path", str(tmp_path / "demo")], tmp_path)
    child.expect("Roll back to what")
    child.send(ESC)
    child.expect("cancelled: nothing was changed")
    assert finish(child) == 0
    work = tmp_path / "demo" / "shop"
    assert git(work, "rev-parse", "HEAD") == git(work, "rev-parse", "v1.3^{commit}")
    assert git(work, "for-each-ref", "refs/rollback") == ""


def test_plain_rollback_starts_the_wizard_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    work = build_demo(tmp_path / "demo").path
    child = spawn([], work)
    child.expect("last checkpoint")  # the context panel
    child.expect("Roll back to what")
    child.send(DOWN)  # release v1.1
    child.send(ENTER)
    child.expect("Which strategy")
    screen = child.before
    assert re.search(r"undoes 3 commit\(s\): 1 merge\(s\), 3 pushed", screen)
    child.send(CTRL_C)
    child.expect("cancelled: nothing was changed")
    assert finish(child) == 130
    assert git(work, "for-each-ref", "refs/rollback") == ""
