"""`rollback log`: first-parent history with tags, merges, pushed state and data flags."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rollback.config import load_config
from rollback.data.frameworks import glob_to_regex, migration_rules
from rollback.git.history import read_history
from rollback.git.repo import GitRepo
from tests.cli import rollback
from tests.gitrepo import Repo


def build(repo: Repo, tmp_path: Path) -> dict[str, str]:
    shas = {"root": repo.commit("root", {"bin/magento": "#!php\n"})}
    shas["a"] = repo.commit("feature a", {"a.txt": "a\n"})
    repo.git("tag", "v1.0")
    repo.add_remote(tmp_path / "remote.git")
    repo.git("switch", "-q", "-c", "topic")
    repo.commit("schema change", {"app/code/Shop/etc/db_schema.xml": "<schema/>\n"})
    repo.git("switch", "-q", "main")
    shas["merge"] = repo.merge("topic", "Merge topic")
    shas["local"] = repo.commit("local only", {"b.txt": "b\n"})
    return shas


def test_log_json_annotates_each_commit(repo: Repo, tmp_path: Path, capsys) -> None:
    shas = build(repo, tmp_path)
    result = rollback(capsys, "log", "--json")
    assert result.code == 0, result.err
    body = json.loads(result.out)
    rows = {c["sha"]: c for c in body["commits"]}
    assert [c["sha"] for c in body["commits"]] == [
        shas["local"],
        shas["merge"],
        shas["a"],
        shas["root"],
    ], "first-parent only: the topic commit is not listed"
    assert rows[shas["merge"]]["merge"] is True
    assert rows[shas["merge"]]["touches_data"] is True
    assert rows[shas["merge"]]["data_files"] == ["app/code/Shop/etc/db_schema.xml"]
    assert rows[shas["a"]]["tags"] == ["v1.0"]
    assert rows[shas["local"]]["pushed"] is False
    assert rows[shas["a"]]["pushed"] is True
    assert rows[shas["local"]]["touches_data"] is False
    assert body["presets"] == ["magento"]
    assert body["complete"] is True


def test_log_table_and_limit(repo: Repo, tmp_path: Path, capsys) -> None:
    build(repo, tmp_path)
    result = rollback(capsys, "log", "--limit", "2")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "main (upstream origin/main); migrations: magento"
    assert "local only" in lines[2] and "local" in lines[2]
    assert "Merge topic" in lines[3] and "merge local data" in lines[3]
    assert "feature a" not in result.out
    assert "older commits not shown (--limit 2)" in result.out


@pytest.mark.parametrize("columns", [80, 120])
def test_log_table_fits_the_terminal_and_never_cuts_a_sha_or_a_tag(
    repo: Repo, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    shas = build(repo, tmp_path)
    repo.git("branch", "release/2026-11", shas["a"])
    repo.commit("A subject long enough to be cut on any terminal " * 3)
    monkeypatch.setenv("COLUMNS", str(columns))
    result = rollback(capsys, "log")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert all(len(line) <= columns for line in lines), lines
    table = {line.split()[0]: line for line in lines[2:]}
    short = {name: sha[:10] for name, sha in shas.items()}
    assert set(short.values()) < set(table)  # every sha whole, in the first column
    assert "(tag: v1.0, release/2026-11) " in table[short["a"]]  # refs lead; not the current
    rows = "\n".join(lines[2:])
    assert "main" not in rows  # the branch and its upstream are named in the header line
    assert table[short["merge"]].rstrip().endswith("merge local data")  # flags never cut
    assert "…" in lines[2] and lines[2].rstrip().endswith("local")  # the long subject gives way
    assert ("author" in lines[1]) is (columns >= 100)  # the author goes first on 80 columns


def test_no_remote_means_pushed_unknown(repo: Repo) -> None:
    repo.commit("one")
    git = GitRepo.open(repo.path)
    history = read_history(git, migration_rules(load_config(repo.path)))
    assert history.commits[0].pushed is None


def test_history_costs_a_fixed_number_of_git_processes(repo: Repo, tmp_path: Path) -> None:
    """Reading 5 or 60 commits starts the same number of git processes."""
    counts = []
    for n in (5, 55):
        for i in range(n):
            repo.commit(f"c{len(counts)}-{i}")
        trace = tmp_path / f"trace-{n}"
        os.environ["GIT_TRACE2_EVENT"] = str(trace)
        try:
            git = GitRepo.open(repo.path)
            history = read_history(git, migration_rules(load_config(repo.path)), limit=100)
        finally:
            del os.environ["GIT_TRACE2_EVENT"]
        assert len(history.commits) in (5, 60)
        events = [json.loads(line) for line in trace.read_text().splitlines()]
        counts.append(sum(1 for e in events if e.get("event") == "start"))
    assert counts[0] == counts[1]
    assert counts[0] <= 8


def test_config_patterns_and_explicit_presets(repo: Repo) -> None:
    repo.write({".rollback.toml": 'presets = ["django"]\nmigrations = ["sql/*.sql"]\n'})
    repo.commit("config")
    migration = repo.commit("add migration", {"shop/migrations/0002_price.py": "# m\n"})
    sql = repo.commit("add sql", {"sql/001.sql": "create table t();\n"})
    other = repo.commit("other", {"shop/migrations/__init__.py": ""})
    git = GitRepo.open(repo.path)
    history = read_history(git, migration_rules(load_config(repo.path)))
    flagged = {c.sha for c in history.commits if c.touches_data}
    assert flagged == {migration, sql}
    assert other not in flagged


def test_unknown_preset_is_a_usage_error(repo: Repo, capsys) -> None:
    repo.write({".rollback.toml": 'presets = ["cobol"]\n'})
    repo.commit("config")
    result = rollback(capsys, "log")
    assert result.code == 2
    assert "unknown preset 'cobol'" in result.err


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("**/etc/db_schema.xml", "app/code/A/B/etc/db_schema.xml", True),
        ("**/etc/db_schema.xml", "etc/db_schema.xml", True),
        ("**/Setup/Patch/**", "app/code/A/Setup/Patch/Data/X.php", True),
        ("**/Setup/*Install*.php", "app/code/A/Setup/InstallSchema.php", True),
        ("**/Setup/*Install*.php", "app/code/A/Setup/Sub/InstallSchema.php", False),
        ("**/migrations/[0-9]*.py", "shop/migrations/0001_initial.py", True),
        ("**/migrations/[0-9]*.py", "shop/migrations/__init__.py", False),
        ("db/migrate/*.rb", "db/migrate/20240101_add.rb", True),
    ],
)
def test_glob_patterns(pattern: str, path: str, hit: bool) -> None:
    import re

    assert (re.fullmatch(glob_to_regex(pattern), path) is not None) is hit


def test_not_a_repository(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = rollback(capsys, "log")
    assert result.code == 2
    assert result.err.startswith("rollback: ") and "is not inside a git repository" in result.err


def test_empty_repository(repo: Repo, capsys) -> None:
    result = rollback(capsys, "log")
    assert result.code == 2
    assert "no commits yet" in result.err
