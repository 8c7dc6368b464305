"""The project as rollback sees it, loaded once per command and passed down.

Its settings (``config``: pyproject.toml ``[tool.rollback]`` or ``.rollback.toml``), the
migration rules in force, the hooks and the downgrade prefix, each parsed once on first use,
and the snapshot providers opened from those settings, each opened once.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from rollback.config import Config, Section, load_config
from rollback.data.frameworks import MigrationRules, migration_rules
from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.data.snapshots.base import Provider

HOOK_PHASES = ("before_restore", "after_restore")
SETTINGS = (Section("hooks", HOOK_PHASES), Section("downgrade", ("prefix",)))


def settings_sections() -> list[Section]:
    """Every settings table and its known keys, as each owner declares them; the top-level
    keys of several owners are merged into one section."""
    from rollback.data import frameworks
    from rollback.data.snapshots.registry import settings_sections as provider_sections

    merged: dict[str, tuple[str, ...]] = {}
    for s in (frameworks.SETTINGS, *SETTINGS, *provider_sections()):
        merged[s.name] = (*merged.get(s.name, ()), *s.keys)
    return [Section(name, keys) for name, keys in merged.items()]


@dataclass
class Project:
    """One project's settings and what follows from them; parsed lazily, each part once."""

    config: Config
    _providers: dict[str, Provider] = field(default_factory=dict, repr=False)

    @property
    def root(self) -> Path:
        return self.config.root

    @cached_property
    def rules(self) -> MigrationRules:
        """Which changed files touch the data (presets found or named, plus own patterns)."""
        return migration_rules(self.config)

    @cached_property
    def hooks(self) -> dict[str, list[list[str]]]:
        return read_hooks(self.config)

    @cached_property
    def downgrade_prefix(self) -> list[str]:
        return read_downgrade_prefix(self.config)

    @property
    def provider_name(self) -> str:
        """The configured provider (``[tool.rollback] provider``; default local)."""
        return str(self.config.get("provider") or "local")

    def provider(
        self, name: str | None = None, *, notify: Callable[[str], None] | None = None
    ) -> Provider:
        """Provider ``name`` (default: the configured one), opened once per project value."""
        from rollback.data.snapshots.registry import open_provider

        if notify is not None:
            return open_provider(self.config, name, notify=notify)
        key = name or self.provider_name
        if key not in self._providers:
            self._providers[key] = open_provider(self.config, name)
        return self._providers[key]


def load_project(root: Path) -> Project:
    """Read the settings of the project whose top folder is ``root`` (once), and refuse an
    unknown key or table (file, line and the nearest valid name)."""
    config = load_config(root)
    config.validate(settings_sections())
    return Project(config)


def read_hooks(config: Config) -> dict[str, list[list[str]]]:
    """``[tool.rollback.hooks]``: before_restore / after_restore, each a command or a list."""
    section = config.section("hooks")
    where = config.where_table("hooks")
    unknown = sorted(set(section) - set(HOOK_PHASES))
    if unknown:
        raise UsageError(f"{where}: unknown hook {unknown[0]!r}; known: {', '.join(HOOK_PHASES)}")
    hooks: dict[str, list[list[str]]] = {}
    for phase in HOOK_PHASES:
        raw = section.get(phase, [])
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise UsageError(f"{where}: {phase} must be a command or a list of commands")
        try:
            hooks[phase] = [shlex.split(i) for i in items if i.strip()]
        except ValueError as exc:
            raise UsageError(f"{where}: {phase}: cannot split {items!r}: {exc}") from exc
    return hooks


def read_downgrade_prefix(config: Config) -> list[str]:
    """``[tool.rollback.downgrade] prefix``: put before each downgrade command, e.g. to run it
    in the application's container (``"docker compose exec -T app"``)."""
    section = config.section("downgrade")
    where = config.where_table("downgrade")
    unknown = sorted(set(section) - {"prefix"})
    if unknown:
        raise UsageError(f"{where}: unknown setting {unknown[0]!r}; known: prefix")
    raw = section.get("prefix", "")
    if not isinstance(raw, str):
        raise UsageError(f'{where}: prefix must be a command, e.g. "docker compose exec -T app"')
    try:
        return shlex.split(raw)
    except ValueError as exc:
        raise UsageError(f"{where}: prefix: cannot split {raw!r}: {exc}") from exc
