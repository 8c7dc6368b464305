"""Migration state at a commit, and the commands that take the schema back to it.

The state is read from the tree of the commit itself (``git ls-tree`` and ``git grep`` on the
commit, two git processes per commit, never the work tree), so it is the state the code at
that commit expects:

- Alembic: the head revision(s) -> ``alembic downgrade <rev>`` (``base`` when none).
- Django: the latest migration of each app -> ``python manage.py migrate <app> <name>``
  (``zero`` for an app with no migration at the target).
- Rails: the latest version -> ``bin/rails db:migrate VERSION=<v>``.
- Laravel: the migrations added since -> ``php artisan migrate:rollback --step=<n>``.
- Magento: no downgrade exists (declarative schema and data patches only go forward).

Downgrades run while the newer migration files are still in the work tree, i.e. before the
code step of the plan: a framework can only reverse a migration whose file it can read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from rollback.data.frameworks import PRESETS, MigrationRules
from rollback.data.pairing.assess import DowngradeFacts

if TYPE_CHECKING:
    from rollback.git.repo import GitRepo

COMPUTED = ("alembic", "django", "rails", "laravel")
MAGENTO_WHY = (
    "Magento has no schema downgrade: setup:upgrade applies db_schema.xml and data patches "
    "forward only, so restore a snapshot taken at (or before) the target"
)
_ALEMBIC_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.*)$")
_QUOTED = re.compile(r"""['"]([^'"]+)['"]""")
_RAILS = re.compile(r"^db/migrate/([0-9]+)_[^/]*\.rb$")


@dataclass(frozen=True)
class FrameworkDowngrade:
    """One framework's migration state at the target and at HEAD, and how to go back."""

    framework: str
    needed: bool  # the state differs between the target and HEAD
    supported: bool  # rollback can compute the downgrade
    commands: tuple[tuple[str, ...], ...]  # argument lists, run in the repository's top folder
    at_target: str  # the state at the target, in words
    reason: str  # what the commands do, or why there are none


def _rules(framework: str) -> MigrationRules:
    return MigrationRules((framework,), PRESETS[framework].patterns)


# -- pure: state from file names and contents -----------------------------------------------


def alembic_heads(lines: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Head revisions from (path, line) pairs of ``revision = ...`` / ``down_revision = ...``."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for _path, line in lines:
        found = _ALEMBIC_LINE.match(line.strip())
        if not found:
            continue
        values = _QUOTED.findall(found.group(2))
        (downs if found.group(1) == "down_revision" else revisions).update(values)
    return tuple(sorted(revisions - downs))


def django_latest(paths: Iterable[str]) -> dict[str, str]:
    """{app label: latest migration name} from migration file paths (``<app>/migrations/N.py``).

    The app label is the folder holding ``migrations/`` (Django's default label); the latest
    migration is the highest-numbered name, as ``makemigrations`` numbers them.
    """
    latest: dict[str, str] = {}
    for path in paths:
        parts = PurePosixPath(path).parts
        if len(parts) < 3 or parts[-2] != "migrations":
            continue
        app, name = parts[-3], PurePosixPath(parts[-1]).stem
        latest[app] = max(latest.get(app, name), name)
    return latest


def rails_version(paths: Iterable[str]) -> str:
    versions = [m.group(1) for p in paths if (m := _RAILS.match(p))]
    return max(versions, key=int) if versions else "0"


# -- reading a tree -------------------------------------------------------------------------


def tree_files(repo: GitRepo, rev: str) -> list[str]:
    """Every file path in the tree of ``rev`` (one git process)."""
    out = repo.git("ls-tree", "-r", "--name-only", "-z", rev)
    return [p for p in out.split("\0") if p]


def alembic_lines(repo: GitRepo, rev: str) -> list[tuple[str, str]]:
    """(path, line) of every revision line in the version scripts of ``rev`` (one git grep)."""
    status, out, _ = repo.git_status(
        "grep",
        "-I",
        "--full-name",
        "-E",
        r"^(down_)?revision\b",
        rev,
        "--",
        *_rules("alembic").pathspecs(),
    )
    if status not in (0, 1):  # 1: no match
        return []
    found = []
    prefix = f"{rev}:"
    for raw in out.splitlines():
        rest = raw[len(prefix) :] if raw.startswith(prefix) else raw
        path, _, line = rest.partition(":")
        found.append((path, line))
    return found


# -- the downgrade per framework ------------------------------------------------------------


def plan_downgrades(
    repo: GitRepo,
    presets: Sequence[str],
    target: str,
    head: str,
    changed: Iterable[str],
) -> list[FrameworkDowngrade]:
    """For each migration framework in use, the state at ``target`` and the way back to it.

    ``changed``: the data files changed by the commits in target..head (from the history).
    """
    changed = list(changed)
    files_t = tree_files(repo, target)
    files_h = tree_files(repo, head)
    out: list[FrameworkDowngrade] = []
    for name in presets:
        rules = _rules(name)
        touched = any(rules.matches(p) for p in changed)
        if name == "alembic":
            out.append(_alembic(alembic_lines(repo, target), alembic_lines(repo, head)))
        elif name == "django":
            out.append(_django(files_t, files_h))
        elif name == "rails":
            out.append(_rails(files_t, files_h))
        elif name == "laravel":
            out.append(_laravel(files_t, files_h))
        elif name == "magento":
            out.append(FrameworkDowngrade(name, touched, False, (), "", MAGENTO_WHY))
        else:
            why = f"rollback computes no downgrade for {name}: restore a snapshot instead"
            out.append(FrameworkDowngrade(name, touched, False, (), "", why))
    return out


def _alembic(lines_t: list[tuple[str, str]], lines_h: list[tuple[str, str]]) -> FrameworkDowngrade:
    heads_t, heads_h = alembic_heads(lines_t), alembic_heads(lines_h)
    needed = heads_t != heads_h
    at = ", ".join(heads_t) or "base (no revision)"
    if len(heads_t) > 1:
        why = f"the target has {len(heads_t)} alembic heads ({at}): downgrade by hand"
        return FrameworkDowngrade("alembic", needed, False, (), at, why)
    rev = heads_t[0] if heads_t else "base"
    commands = (("alembic", "downgrade", rev),) if needed else ()
    return FrameworkDowngrade(
        "alembic", needed, True, commands, at, f"alembic downgrade to {rev}, the head at the target"
    )


def _django(files_t: list[str], files_h: list[str]) -> FrameworkDowngrade:
    rules = _rules("django")
    latest_t = django_latest(p for p in files_t if rules.matches(p))
    latest_h = django_latest(p for p in files_h if rules.matches(p))
    manage = min((p for p in files_h if PurePosixPath(p).name == "manage.py"), key=len, default="")
    commands = tuple(
        ("python", manage or "manage.py", "migrate", app, latest_t.get(app, "zero"))
        for app in sorted(latest_h)
        if latest_t.get(app) != latest_h[app]
    )
    at = ", ".join(f"{app} {name}" for app, name in sorted(latest_t.items())) or "no migrations"
    return FrameworkDowngrade(
        "django",
        bool(commands),
        True,
        commands,
        at,
        "Django migrate of each changed app back to its latest migration at the target",
    )


def _rails(files_t: list[str], files_h: list[str]) -> FrameworkDowngrade:
    v_t, v_h = rails_version(files_t), rails_version(files_h)
    needed = v_t != v_h
    commands = (("bin/rails", "db:migrate", f"VERSION={v_t}"),) if needed else ()
    return FrameworkDowngrade(
        "rails", needed, True, commands, f"version {v_t}", f"Rails db:migrate down to {v_t}"
    )


def _laravel(files_t: list[str], files_h: list[str]) -> FrameworkDowngrade:
    rules = _rules("laravel")
    at_t = {p for p in files_t if rules.matches(p)}
    added = sorted(p for p in files_h if rules.matches(p) and p not in at_t)
    commands = (("php", "artisan", "migrate:rollback", f"--step={len(added)}"),) if added else ()
    why = (
        f"Laravel rolls back the last {len(added)} migration(s), the ones added since the "
        "target (assuming they were the last ones run)"
    )
    return FrameworkDowngrade(
        "laravel", bool(added), True, commands, f"{len(at_t)} migration(s)", why
    )


def summarize(found: Sequence[FrameworkDowngrade], changed: Sequence[str]) -> DowngradeFacts:
    """Reduce per-framework results to the facts the pairing decision needs.

    ``changed``: the data files changed in target..HEAD (from the history). A downgrade is
    possible only when every one of them belongs to a framework whose downgrade is computed:
    a file nobody reverses (a custom pattern, a migration edited in place) means the commands
    would leave part of the schema change behind.
    """
    needed = [f for f in found if f.needed]
    if not needed and not changed:
        return DowngradeFacts(False, False, (), "no migration changed between target and HEAD")
    blocked = [f for f in needed if not f.supported]
    if blocked:
        return DowngradeFacts(True, False, (), "; ".join(f.reason for f in blocked))
    claimed = [_rules(f.framework) for f in needed]
    unclaimed = sorted({p for p in changed if not any(r.matches(p) for r in claimed)})
    if unclaimed:
        more = f" and {len(unclaimed) - 1} more" if len(unclaimed) > 1 else ""
        why = f"{unclaimed[0]}{more} changed, and no migration framework here reverses that"
        return DowngradeFacts(True, False, (), why)
    commands = tuple(c for f in needed for c in f.commands)
    words = "; ".join(f"{f.reason}: {' && '.join(' '.join(c) for c in f.commands)}" for f in needed)
    return DowngradeFacts(True, True, commands, words)
