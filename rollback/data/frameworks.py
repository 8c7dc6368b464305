"""Migration presets: which files mean "this commit touches the data (schema)".

A preset applies when one of its marker files exists in the work tree, unless
``[tool.rollback] presets = [...]`` names the presets explicitly. ``migrations = [...]`` adds
patterns of the project's own. Patterns are git-style globs: ``**`` crosses folders, ``*``
does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rollback.config import Config, Section
from rollback.errors import UsageError

SETTINGS = Section("", ("presets", "migrations"))  # top-level keys this module reads


@dataclass(frozen=True)
class Preset:
    name: str
    markers: tuple[str, ...]
    patterns: tuple[str, ...]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "magento",
            ("bin/magento", "app/etc/env.php", "app/etc/config.php"),
            (
                "**/etc/db_schema.xml",
                "**/etc/db_schema_whitelist.json",
                "**/Setup/Patch/**",
                "**/Setup/*Install*.php",
                "**/Setup/*Upgrade*.php",
                "app/etc/config.php",
            ),
        ),
        Preset("django", ("manage.py",), ("**/migrations/[0-9]*.py",)),
        Preset(
            "rails",
            ("bin/rails", "config/application.rb"),
            ("db/migrate/*.rb", "db/schema.rb", "db/structure.sql"),
        ),
        Preset("laravel", ("artisan",), ("database/migrations/*.php",)),
        Preset("alembic", ("alembic.ini",), ("**/versions/*.py",)),
        Preset(
            "flyway",
            ("flyway.conf", "flyway.toml"),
            ("**/db/migration/V*__*.sql", "**/db/migration/R__*.sql", "**/db/migration/U*__*.sql"),
        ),
        Preset(
            "liquibase",
            ("liquibase.properties",),
            ("**/db/changelog/**", "**/changelog*.xml", "**/changelog*.yaml", "**/changelog*.sql"),
        ),
        Preset(
            "prisma",
            ("prisma/schema.prisma",),
            ("prisma/migrations/**", "prisma/schema.prisma"),
        ),
    )
}


@dataclass(frozen=True)
class MigrationRules:
    presets: tuple[str, ...]
    patterns: tuple[str, ...]

    def matches(self, path: str) -> bool:
        return bool(self.patterns) and _compile(self.patterns).fullmatch(path) is not None

    def pathspecs(self) -> list[str]:
        """The patterns as git pathspecs (``:(glob)...``)."""
        return [f":(glob){p}" for p in self.patterns]


def detect_presets(root: Path) -> tuple[str, ...]:
    return tuple(name for name, p in PRESETS.items() if any((root / m).exists() for m in p.markers))


def migration_rules(config: Config) -> MigrationRules:
    """The presets and patterns in force for the project at ``config.root``."""
    named = config.get("presets")
    if named is None:
        presets = detect_presets(config.root)
    else:
        if not isinstance(named, list) or not all(isinstance(n, str) for n in named):
            raise UsageError(f"{config.where()}: presets must be a list of names")
        unknown = [n for n in named if n not in PRESETS]
        if unknown:
            raise UsageError(
                f"{config.where()}: unknown preset {unknown[0]!r}; known: {', '.join(PRESETS)}"
            )
        presets = tuple(named)
    extra = config.get("migrations", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) for p in extra):
        raise UsageError(f"{config.where()}: migrations must be a list of glob patterns")
    patterns: list[str] = []
    for name in presets:
        patterns.extend(PRESETS[name].patterns)
    patterns.extend(extra)
    return MigrationRules(presets, tuple(dict.fromkeys(patterns)))


def glob_to_regex(pattern: str) -> str:
    """Translate a git-style glob to a regular expression matching whole paths."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            close = pattern.find("]", i + 1)
            if close == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = close + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


_cache: dict[tuple[str, ...], re.Pattern[str]] = {}


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    if patterns not in _cache:
        _cache[patterns] = re.compile("|".join(f"(?:{glob_to_regex(p)})" for p in patterns))
    return _cache[patterns]
