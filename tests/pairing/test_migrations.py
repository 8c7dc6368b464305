"""Migration state read from real trees, and the downgrade command for each framework."""

from __future__ import annotations

from rollback.data.downgrades import (
    FrameworkDowngrade,
    alembic_heads,
    django_latest,
    plan_downgrades,
    summarize,
)
from rollback.git.repo import GitRepo
from tests.gitrepo import Repo
from tests.pairing import projects


def _changed(repo: Repo, since: str) -> list[str]:
    return repo.git("diff", "--name-only", since, "HEAD").split()


def _downgrade(
    repo: Repo, preset: str, commits: dict[str, str], target: str = "target"
) -> FrameworkDowngrade:
    found = plan_downgrades(
        GitRepo.open(repo.path),
        (preset,),
        commits[target],
        commits["head"],
        _changed(repo, commits[target]),
    )
    assert len(found) == 1
    return found[0]


def test_alembic_head_at_the_target_from_the_tree(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    dg = _downgrade(repo, "alembic", commits)
    assert dg.needed and dg.supported
    assert dg.commands == (("alembic", "downgrade", "a1"),)
    assert dg.at_target == "a1"
    # the work tree is not read: only the commits' trees
    (repo.path / "migrations/versions/a3_stray.py").write_text("revision = 'a3'\n")
    assert _downgrade(repo, "alembic", commits).commands == (("alembic", "downgrade", "a1"),)


def test_alembic_heads_parsing_variants() -> None:
    lines = [
        ("v/1.py", "revision = '1'"),
        ("v/1.py", "down_revision = None"),
        ("v/2.py", 'revision: str = "2"'),
        ("v/2.py", "down_revision: Union[str, None] = '1'"),
        ("v/3.py", "revision = '3'"),
        ("v/3.py", "down_revision = '1'"),
        ("v/4.py", "revision = '4'"),
        ("v/4.py", "down_revision = ('2', '3')"),  # a merge revision
    ]
    assert alembic_heads(lines) == ("4",)
    assert alembic_heads(lines[:6]) == ("2", "3")
    assert alembic_heads([]) == ()


def test_alembic_to_base_when_the_target_has_no_revision(repo: Repo) -> None:
    first = repo.commit("before alembic", {"README": "shop\n"})
    commits = projects.alembic_project(repo)
    dg = _downgrade(repo, "alembic", {**commits, "first": first}, target="first")
    assert dg.commands == (("alembic", "downgrade", "base"),)


def test_django_latest_migration_per_app_and_zero_for_new_apps(repo: Repo) -> None:
    commits = projects.django_project(repo)
    repo.commit(
        "new app",
        {
            "blog/__init__.py": "",
            "blog/migrations/__init__.py": "",
            "blog/migrations/0001_initial.py": "# blog\n",
        },
    )
    commits["head"] = repo.head()
    dg = _downgrade(repo, "django", commits)
    assert dg.commands == (
        ("python", "manage.py", "migrate", "blog", "zero"),
        ("python", "manage.py", "migrate", "shop", "0001_initial"),
    )
    assert dg.at_target == "shop 0001_initial"
    assert django_latest(["a/migrations/0002_b.py", "a/migrations/0010_c.py", "x.py"]) == {
        "a": "0010_c"
    }


def test_rails_version_at_the_target(repo: Repo) -> None:
    commits = projects.rails_project(repo)
    dg = _downgrade(repo, "rails", commits)
    assert dg.commands == (("bin/rails", "db:migrate", "VERSION=20250201000000"),)


def test_laravel_steps_are_the_migrations_added_since(repo: Repo) -> None:
    commits = projects.laravel_project(repo)
    dg = _downgrade(repo, "laravel", commits)
    assert dg.commands == (("php", "artisan", "migrate:rollback", "--step=2"),)


def test_magento_has_no_downgrade_and_says_so(repo: Repo) -> None:
    commits = projects.magento_project(repo)
    dg = _downgrade(repo, "magento", commits)
    assert dg.needed and not dg.supported and dg.commands == ()
    facts = summarize([dg], [projects.MAGENTO_SCHEMA])
    assert not facts.possible and "Magento has no schema downgrade" in facts.reason


def test_summary_when_nothing_changed_or_unknown_files_changed(repo: Repo) -> None:
    commits = projects.alembic_project(repo)
    git = GitRepo.open(repo.path)
    found = plan_downgrades(git, ("alembic",), commits["migration"], commits["head"], [])
    assert not found[0].needed
    assert not summarize(found, []).needed
    custom = summarize(found, ["db/custom/001.sql"])  # a custom pattern no framework reverses
    assert custom.needed and not custom.possible and "db/custom/001.sql changed" in custom.reason
    changed = [p for p in _changed(repo, commits["target"]) if "/versions/" in p]  # data files
    found = plan_downgrades(git, ("alembic",), commits["target"], commits["head"], changed)
    both = summarize(found, changed)
    assert both.possible and both.commands == (("alembic", "downgrade", "a1"),)
    partly = summarize(found, [*changed, "db/custom/002.sql"])
    assert not partly.possible and "no migration framework here reverses" in partly.reason
