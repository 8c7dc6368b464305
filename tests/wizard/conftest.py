"""Fixtures of the wizard tests: the demo shop (built once, copied per test) and a console."""

from __future__ import annotations

import io
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from rollback.ui.demo import Demo, build_demo
from tests.gitrepo import git


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo-template") / "demo"
    return build_demo(root)


@pytest.fixture
def shop(demo_template: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """A fresh copy of the demo sandbox; the current directory is its work tree."""
    root = tmp_path / "demo"
    shutil.copytree(demo_template.path.parent, root, symlinks=True)
    work = root / demo_template.path.name
    git(work, "remote", "set-url", "origin", str(root / "origin.git"))
    monkeypatch.chdir(work)
    return Demo(work, root / "origin.git", dict(demo_template.checkpoints), "v1.3")


@pytest.fixture
def out() -> Console:
    """An 80-column console without colour, writing to a buffer (``out.file.getvalue()``)."""
    return Console(file=io.StringIO(), width=80, no_color=True, highlight=False)


def text(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def schema(work: Path) -> str:
    """The catalog_product table's SQL in the demo database."""
    with sqlite3.connect(work / "var" / "shop.sqlite") as db:
        row = db.execute("SELECT sql FROM sqlite_master WHERE name = 'catalog_product'").fetchone()
    return str(row[0])


def snapshot_state(work: Path) -> tuple[str, str, str, str]:
    """Everything a cancelled wizard must leave alone: head, refs, work tree, schema."""
    return (
        git(work, "rev-parse", "HEAD"),
        git(work, "for-each-ref", "--format=%(refname) %(objectname)"),
        git(work, "status", "--porcelain"),
        schema(work),
    )


Snap = Callable[[Path], tuple[str, str, str, str]]
