"""Settings of the restic provider: ``[tool.rollback.restic]``.

```toml
[tool.rollback.restic]
repository = "rest:http://backup.internal:8000/shop/"   # or a path, s3:..., sftp:...
password_env = "SHOP_RESTIC_PASSWORD"                    # or password_command = "pass show shop"
paths = ["var", "pub/media", "app/etc"]
services = [{ url = "mysql://shop@127.0.0.1/shop", password_env = "SHOP_DB_PASSWORD" }]
retention_days = 7
```

The password reaches restic through its environment (``RESTIC_PASSWORD`` or
``RESTIC_PASSWORD_COMMAND``), never its command line; the repository goes the same way
(``RESTIC_REPOSITORY``), since a REST URL may carry a user and password.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rollback.config import Config, Section
from rollback.data.snapshots.settings import LocalSettings, parse_data, refuse_unknown
from rollback.errors import UsageError

SECTION = "restic"
LOCK_FOLDER = ".rollback/restic"  # our own lock (one operation at a time from this project)
DEFAULT_PASSWORD_ENV = "RESTIC_PASSWORD"  # noqa: S105 - the name of a variable
DEFAULT_CHECK_SUBSET = "5%"
_DATA_KEYS = {"paths", "services", "retention_days"}
_KNOWN = _DATA_KEYS | {
    "repository",
    "password_env",
    "password_command",
    "executable",
    "check_subset",
}
SETTINGS = Section(SECTION, tuple(sorted(_KNOWN)))
# restic's backends; anything else is a local path
_BACKENDS = ("local:", "rest:", "s3:", "sftp:", "b2:", "azure:", "gs:", "swift:", "rclone:")
_SUBSET = re.compile(r"^(\d+/\d+|\d+(\.\d+)?%|\d+[KMGT]?)$")
_GLOB = re.compile(r"[*?\[\]\\]")


@dataclass(frozen=True)
class ResticSettings:
    repository: str  # as restic takes it (a local path made absolute)
    password_env: str | None
    password_command: str | None
    executable: str
    check_subset: str  # restic check --read-data-subset
    data: LocalSettings  # paths, services, retention; ``store`` is our lock folder

    @property
    def safe_repository(self) -> str:
        """The repository for messages: a URL without its password."""
        return safe_repository(self.repository)

    @property
    def local_path(self) -> Path | None:
        """The repository's folder when it is on this machine's disk."""
        return local_path(self.repository)


def safe_repository(repository: str) -> str:
    """``rest:http://user:secret@host/`` -> ``rest:http://user@host/``."""
    for prefix in ("rest:",):
        if repository.startswith(prefix):
            parts = urlsplit(repository[len(prefix) :])
            if parts.password is not None:
                host = parts.hostname or ""
                netloc = f"{parts.username}@{host}" if parts.username else host
                netloc += f":{parts.port}" if parts.port else ""
                return prefix + urlunsplit(parts._replace(netloc=netloc))
    return repository


def local_path(repository: str) -> Path | None:
    if repository.startswith("local:"):
        return Path(repository[len("local:") :])
    if repository.startswith(_BACKENDS):
        return None
    return Path(repository)


def parse_restic(config: Config) -> ResticSettings:
    """Validate ``[tool.rollback.restic]``; raise UsageError naming the bad key."""
    section = config.section(SECTION)
    where = config.where_table(SECTION)
    refuse_unknown(section, where, _KNOWN)
    root = config.root.resolve()
    repository = _string(section, "repository", where)
    if repository is None:
        raise UsageError(
            f"{where}: repository is required",
            hint='e.g. repository = "/backup/restic-shop" or "rest:http://127.0.0.1:8000/shop/"',
        )
    path = local_path(repository)
    protected: tuple[Path, ...] = ()
    if path is not None:
        path = (path if path.is_absolute() else root / path).resolve()
        repository = ("local:" if repository.startswith("local:") else "") + str(path)
        protected = (path,)
    password_env = _string(section, "password_env", where)
    password_command = _string(section, "password_command", where)
    if password_env and password_command:
        raise UsageError(f"{where}: set password_env or password_command, not both")
    if not password_command:
        password_env = password_env or DEFAULT_PASSWORD_ENV
    executable = _string(section, "executable", where) or "restic"
    subset = _string(section, "check_subset", where) or DEFAULT_CHECK_SUBSET
    if not _SUBSET.match(subset):
        raise UsageError(
            f"{where}: check_subset {subset!r} is not a restic --read-data-subset",
            hint='use "n/t" (e.g. "1/10"), a percentage ("5%") or a size ("500M")',
        )
    data_section = {k: v for k, v in section.items() if k in _DATA_KEYS}
    lock = (root / LOCK_FOLDER).resolve()
    data = parse_data(data_section, root=root, store=lock, where=where, protected=protected)
    for rel in data.paths:
        if _GLOB.search(rel):  # restic restore --include would read it as a pattern
            raise UsageError(f"{where}: paths entry {rel!r} contains * ? [ ] or \\")
    return ResticSettings(repository, password_env, password_command, executable, subset, data)


def _string(section: dict[str, object], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: {key} must be a non-empty string")
    return value
