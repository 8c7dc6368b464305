"""The command line fits the user's hands: installed names, help with examples, completion,
JSON errors, --quiet, snapshot listings for scripts, and snapshot delete."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from rollback.cli import _register, app
from rollback.ui.demo import Demo
from tests.cli import rollback
from tests.gitrepo import Repo, git

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def commands() -> list[list[str]]:
    _register()
    found: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_help_has_examples_and_no_escaped_brackets(capsys) -> None:
    paths = commands()
    assert ["timeline"] in paths and ["snapshot", "delete"] in paths and ["completion"] in paths
    for path in paths:
        result = rollback(capsys, *path, "--help")
        assert result.code == 0, path
        assert "\\[" not in result.out, path  # was: "\[default: 30]"
        assert "\nExamples:\n" in result.out or "\n  Examples:\n" in result.out, path
        assert "  rollback" in result.out.split("Examples:", 1)[1], path
        assert rollback(capsys, *path, "-h").out == result.out  # -h: git eats --help


def test_git_rollback_runs_as_a_git_subcommand(repo: Repo) -> None:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    done = subprocess.run(["git", "rollback", "--version"], cwd=repo.path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("rollback ")
    usage = subprocess.run(["git", "rollback", "log", "--no-such"], cwd=repo.path, env=env,
                           capture_output=True, text=True)  # fmt: skip
    assert usage.returncode == 2 and "--no-such" in usage.stderr


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    assert blocks[0].startswith("python3 -m venv .venv && ") and "rollback demo" in blocks[0]
    assert blocks[1].startswith("python3 -m venv .venv && ") and "pytest" in blocks[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert blocks[1] in ci  # exactly the README's test command, on its own line
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert (
        'name = "git-rollback"' in pyproject and 'git-rollback = "rollback.cli:main"' in pyproject
    )


def test_bash_completion_completes_commands_for_real(tmp_path: Path) -> None:
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    script = "source <(rollback completion bash)\nCOMP_WORDS=(rollback {words}); COMP_CWORD={n}\n"
    script += '_rollback_completion rollback; echo "${{COMPREPLY[@]}}"'
    for words, n, expected in (("snap", 1, "snapshot"), ('snapshot ""', 2, "delete")):
        done = subprocess.run(["bash", "-c", script.format(words=words, n=n)], env=env,
                              capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
        assert expected in done.stdout.split(), done.stdout + done.stderr


@pytest.mark.parametrize(
    ("shell", "extra", "expected"),
    [("zsh", {}, '"snapshot":'), ("fish", {"_TYPER_COMPLETE_FISH_ACTION": "get-args"}, "snapshot")],
)
def test_zsh_and_fish_completion(shell: str, extra: dict[str, str], expected: str) -> None:
    """zsh and fish are not installed here: their script (printed) calls this protocol."""
    script = subprocess.run([BIN / "rollback", "completion", shell], capture_output=True,
                            text=True)  # fmt: skip
    assert "_ROLLBACK_COMPLETE" in script.stdout and script.returncode == 0
    env = dict(os.environ, _ROLLBACK_COMPLETE=f"complete_{shell}",
               _TYPER_COMPLETE_ARGS="rollback snap", **extra)  # fmt: skip
    done = subprocess.run([BIN / "rollback"], env=env, capture_output=True, text=True)
    assert expected in done.stdout


def test_json_errors_on_stdout_with_the_same_exit_code(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # not a repository
    plain = rollback(capsys, "log")
    as_json = rollback(capsys, "log", "--json")
    assert plain.code == as_json.code == 2
    body = json.loads(as_json.out)
    assert body["error"]["code"] == 2 and as_json.err == ""
    assert body["error"]["message"] == plain.err.splitlines()[0].removeprefix("rollback: ")
    usage = rollback(capsys, "snapshot", "list", "--json", "--no-such")
    assert usage.code == 2 and json.loads(usage.out)["error"]["code"] == 2


def test_quiet_prints_only_the_result(shop: Demo, capsys) -> None:
    made = rollback(capsys, "snapshot", "create", "--label", "q", "-q")
    assert made.code == 0, made.err
    assert made.out.strip().endswith("-q") and len(made.out.splitlines()) == 1
    again = rollback(capsys, "-q", "checkpoint")
    assert len(again.out.splitlines()) == 1 and again.err == ""


def test_snapshot_list_limit_formats_and_columns(shop: Demo, capsys) -> None:
    ids = sorted(shop.checkpoints.values(), reverse=True)
    table = rollback(capsys, "snapshot", "list", "--limit", "2")
    assert ids[0] in table.out and ids[1] in table.out and ids[2] not in table.out
    rows = list(csv.DictReader(io.StringIO(rollback(capsys, "snapshot", "list", "-f", "csv").out)))
    assert [r["id"] for r in rows] == ids and rows[0]["commit"] == git(
        shop.path, "rev-parse", "v1.2^{commit}"
    )
    tsv = rollback(capsys, "snapshot", "list", "-f", "tsv", "--columns", "id,restorable").out
    assert tsv.splitlines()[0] == "id\trestorable" and len(tsv.splitlines()) == 4
    picked = json.loads(rollback(capsys, "snapshot", "list", "--json", "--columns", "id,code").out)
    assert set(picked[0]) == {"id", "code"}
    bad = rollback(capsys, "snapshot", "list", "--columns", "id,comit")
    assert bad.code == 2 and "did you mean 'commit'?" in bad.err


def test_refused_create_and_delete_create_nothing(repo: Repo, capsys) -> None:
    repo.commit("root")
    created = rollback(capsys, "snapshot", "create")
    assert created.code == 2 and "nothing to snapshot" in created.err
    deleted = rollback(capsys, "snapshot", "delete", "20260101-000000-nope")
    assert deleted.code == 2
    assert not (repo.path / ".rollback").exists()


def test_delete_refuses_what_a_run_in_progress_needs(shop: Demo, capsys) -> None:
    settings = shop.path / ".rollback.toml"
    settings.write_text(
        settings.read_text() + "\n[hooks]\nbefore_restore = \"sh -c 'kill -9 $PPID'\"\n"
    )
    git(shop.path, "commit", "-qam", "a hook that kills the run")
    assert rollback(capsys, "plan", "--to", "v1.2", "--snapshot", "auto", "-o", "p.json").code == 0
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}")
    killed = subprocess.run([BIN / "rollback", "apply", "p.json", "--yes"], cwd=shop.path,
                            env=env, capture_output=True, text=True)  # fmt: skip
    assert killed.returncode == -9  # the run died after its safety snapshot
    v12, v10 = shop.checkpoints["v1.2"], shop.checkpoints["v1.0"]
    refused = rollback(capsys, "snapshot", "delete", v12)
    assert refused.code == 3 and "in progress" in refused.err
    assert v12 in rollback(capsys, "snapshot", "list").out
    assert rollback(capsys, "snapshot", "delete", v10).code == 0  # not needed: it does not fit
    forced = rollback(capsys, "snapshot", "delete", "--force", v12, "--json")
    assert forced.code == 0 and json.loads(forced.out) == {"deleted": v12, "forced": True}


def test_demo_hint_runs_from_a_venv_that_is_not_activated(tmp_path: Path) -> None:
    # the README's line runs .venv/bin/rollback demo: `rollback` alone is not on PATH then
    program = Path(sys.executable).with_name("rollback")
    if not program.exists():
        pytest.skip(f"no rollback script beside {sys.executable}")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(program), "demo", "--no-wizard", "--path", str(tmp_path / "d")],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    hint = next(line for line in done.stdout.splitlines() if line.startswith("Try it: "))
    shell = hint.removeprefix("Try it: ") + " --version"
    assert str(program.resolve()) in shell, hint
    ran = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=env)
    assert ran.returncode == 0 and ran.stdout.startswith("rollback"), ran.stderr
