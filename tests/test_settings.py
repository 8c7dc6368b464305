"""Settings are validated: every unknown key or table is refused with its file, line and the
nearest valid name; .rollback.toml and [tool.rollback] accept the same tables, and messages
name a table as the file spells it."""

from __future__ import annotations

import json

import pytest

from tests.cli import rollback
from tests.gitrepo import Repo

PYPROJECT = '[project]\nname = "shop"\n\n[tool.rollback]\n'


@pytest.fixture
def shop(repo: Repo) -> Repo:
    repo.commit("v1", {"bin/magento": "#!/bin/sh\n", "app/etc/config.php": "<?php\n"})
    repo.git("tag", "v1.0")
    repo.commit("schema", {"app/code/A/B/etc/db_schema.xml": "<schema/>\n"})
    return repo


@pytest.mark.parametrize(
    ("name", "text", "line", "said"),
    [
        (
            "pyproject.toml",
            PYPROJECT + 'provder = "local"\n',
            5,
            "unknown setting 'provder' in [tool.rollback]; did you mean 'provider'?",
        ),
        (
            "pyproject.toml",
            PYPROJECT + 'provider = "local"\n\n[tool.rollback.locl]\npaths = ["var"]\n',
            7,
            "unknown table [tool.rollback.locl]; did you mean [tool.rollback.local]?",
        ),
        (
            ".rollback.toml",
            '# settings\n[locl]\npaths = ["var"]\n',
            2,
            "unknown table [locl]; did you mean [local]?",
        ),
        (
            ".rollback.toml",
            '[local]\npaths = ["var"]\nretention_dayz = 3\n',
            3,
            "unknown setting 'retention_dayz' in [local]; did you mean 'retention_days'?",
        ),
        (
            "pyproject.toml",
            PYPROJECT + '[tool.rollback.magento-cloud]\nenvironmnt = "staging"\n',
            6,
            "unknown setting 'environmnt' in [tool.rollback.magento-cloud]; "
            "did you mean 'environment'?",
        ),
        (
            ".rollback.toml",
            '[hooks]\nbefore_restor = "bin/magento maintenance:enable"\n',
            2,
            "unknown setting 'before_restor' in [hooks]; did you mean 'before_restore'?",
        ),
    ],
)
def test_a_typo_is_refused_with_file_line_and_the_nearest_name(
    shop: Repo, capsys: pytest.CaptureFixture[str], name: str, text: str, line: int, said: str
) -> None:
    (shop.path / name).write_text(text)
    for args in (["log"], ["snapshot", "list"], ["plan", "--to", "v1.0"]):
        result = rollback(capsys, *args)
        assert result.code == 2, (args, result.err)
        first = result.err.splitlines()[0]
        assert first == f"rollback: {shop.path / name}:{line}: {said}", args
    assert not (shop.path / ".rollback").exists()  # refused before anything was made


def test_values_are_named_as_the_file_spells_the_table(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (shop.path / ".rollback.toml").write_text("[local]\nretention_days = -1\n")
    result = rollback(capsys, "snapshot", "list")
    assert result.code == 2
    assert f"{shop.path / '.rollback.toml'}:1: [local]: retention_days must be" in result.err
    (shop.path / ".rollback.toml").unlink()
    (shop.path / "pyproject.toml").write_text(PYPROJECT + "[tool.rollback.local]\npaths = 3\n")
    result = rollback(capsys, "snapshot", "list")
    assert result.code == 2
    assert f"{shop.path / 'pyproject.toml'}:5: [tool.rollback.local]: paths must be" in result.err


def test_hooks_in_dot_rollback_toml_are_in_the_plan(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    (shop.path / ".gitignore").write_text("/var/\n/.rollback/\n")
    (shop.path / ".rollback.toml").write_text(
        '[local]\npaths = ["var"]\n\n[hooks]\nbefore_restore = "bin/magento maintenance:enable"\n'
        'after_restore = ["bin/magento cache:flush"]\n'
    )
    shop.git("add", "-A")
    shop.git("commit", "-qm", "settings")
    (shop.path / "var").mkdir()
    (shop.path / "var" / "a.txt").write_text("a\n")
    assert rollback(capsys, "snapshot", "create", "--label", "before").code == 0
    shop.commit("schema 2", {"app/code/A/B/etc/db_schema.xml": "<schema v='2'/>\n"})
    made = rollback(capsys, "plan", "--to", "HEAD~1", "--snapshot", "auto", "-f", "json")
    assert made.code == 0, made.err
    plan = json.loads(made.out)
    hooks = [s["params"]["argv"] for s in plan["steps"] if s["kind"] == "hook"]
    assert hooks == [["bin/magento", "maintenance:enable"], ["bin/magento", "cache:flush"]]


def test_the_two_forms_mixed_in_dot_rollback_toml_are_refused(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo wrote [tool.rollback.local] into .rollback.toml; a [hooks] added below it was
    silently dropped (the file was read as the pyproject form)."""
    (shop.path / ".rollback.toml").write_text(
        '[tool.rollback.local]\npaths = ["var"]\n\n[hooks]\nbefore_restore = "true"\n'
    )
    result = rollback(capsys, "log")
    assert result.code == 2
    assert f"{shop.path / '.rollback.toml'}:4: [hooks] sits beside [tool.rollback" in result.err


def test_settings_in_both_files_are_refused(shop: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (shop.path / "pyproject.toml").write_text(PYPROJECT + 'provider = "local"\n')
    (shop.path / ".rollback.toml").write_text('provider = "local"\n')
    result = rollback(capsys, "log")
    assert result.code == 2
    assert f"{shop.path / 'pyproject.toml'}:4: [tool.rollback] would be ignored" in result.err


def test_every_documented_table_is_accepted_in_both_files(
    shop: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = {
        "": 'provider = "local"\npresets = ["magento"]\nmigrations = ["db/*.sql"]\n',
        "local": 'paths = ["var"]\nretention_days = 7\n',
        "hooks": 'before_restore = "true"\nafter_restore = "true"\n',
        "downgrade": 'prefix = "docker compose exec -T app"\n',
        "magento-cloud": 'project = "abc"\nenvironment = "dev"\n',
    }
    dot = "".join(f"[{n}]\n{body}\n" if n else body for n, body in tables.items())
    (shop.path / ".rollback.toml").write_text(dot)
    assert rollback(capsys, "log").code == 0
    (shop.path / ".rollback.toml").unlink()
    py = "".join(
        f"[tool.rollback.{n}]\n{body}\n" if n else f"[tool.rollback]\n{body}\n"
        for n, body in tables.items()
    )
    (shop.path / "pyproject.toml").write_text(py)
    result = rollback(capsys, "log")
    assert result.code == 0, result.err
