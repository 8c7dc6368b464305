"""Settings of the magento-cloud provider, ``[tool.rollback.magento-cloud]``, and the database
dump offered where Magento Cloud takes no snapshots. Values only; nothing here runs a process.

```toml
[tool.rollback.magento-cloud]
project = "abcdef123456"         # -p; omitted: the CLI uses the project of the current folder
environment = "develop-branch"   # -e; omitted: the CLI uses the checked-out branch
executable = "magento-cloud"     # name on PATH or a path
environment_type = "development" # development | integration | staging | production
plan = "pro"                     # pro | starter
retention_days = 7               # the documented restore window
```
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from rollback.config import Section
from rollback.errors import UsageError

SECTION = "magento-cloud"
ENV_TYPES = ("development", "integration", "staging", "production")
PLANS = ("pro", "starter")
SETTINGS = Section(
    SECTION, ("project", "environment", "executable", "environment_type", "plan", "retention_days")
)
DB_DUMP_NOTES = (
    "maintenance mode is recommended first: bin/magento maintenance:enable",
    "it writes dump-<timestamp>.sql.gz in the project directory where it runs",
    "it holds var/dbdump.lock so that only one node dumps at a time",
)


@dataclass(frozen=True)
class MagentoCloudSettings:
    """``[tool.rollback.magento-cloud]``; see docs/config.md."""

    project: str | None = None
    environment: str | None = None
    executable: str = "magento-cloud"
    environment_type: str | None = None  # development | integration | staging | production
    plan: str | None = None  # pro | starter
    retention_days: int = 7

    @classmethod
    def from_section(cls, section: dict[str, Any], where: str) -> MagentoCloudSettings:
        """Validate the section's keys and values; a wrong one is a UsageError naming it."""
        known = {"project", "environment", "executable", "environment_type", "plan"}
        unknown = set(section) - known - {"retention_days"}
        if unknown:
            raise UsageError(
                f"{where}: unknown key(s): {', '.join(sorted(unknown))}",
                hint=f"known keys: {', '.join(sorted(known | {'retention_days'}))}",
            )
        values: dict[str, Any] = {}
        for key in sorted(known):
            if key not in section:
                continue
            value = section[key]
            if not isinstance(value, str) or not value.strip() or value.startswith("-"):
                raise UsageError(f"{where} {key} must be a non-empty name")
            values[key] = value.strip()
        for key, allowed in (("environment_type", ENV_TYPES), ("plan", PLANS)):
            if key in values and values[key].lower() not in allowed:
                raise UsageError(f"{where} {key} must be one of {', '.join(allowed)}")
            if key in values:
                values[key] = values[key].lower()
        days = section.get("retention_days", 7)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise UsageError(f"{where} retention_days must be a whole number >= 1")
        return cls(**values, retention_days=days)


@dataclass(frozen=True)
class DbDump:
    """The database dump offered where snapshots are refused (``vendor/bin/ece-tools db-dump``)."""

    command: tuple[str, ...]
    notes: tuple[str, ...] = DB_DUMP_NOTES
    output: str = ""  # what the command printed, when it was run
    dump_file: str | None = None  # dump-<timestamp>.sql.gz, when the output names it

    @property
    def text(self) -> str:
        """The command as one shell-quoted line, for plans and runbooks."""
        return shlex.join(self.command)
