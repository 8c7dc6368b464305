"""Service URLs of the local store: ``sqlite:///path``, ``mysql://user:pass@host:port/db``,
``postgresql://...``, ``redis://host:port/db``.

A password may come from the environment instead of the file: ``${VAR}`` anywhere in the URL,
or ``password_env = "VAR"`` next to the URL in the service table. ``ServiceURL.safe`` is the form
to show users: it never contains the password.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from rollback.errors import UsageError

KINDS = {
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
    "postgres": "postgres",
    "postgresql": "postgres",
    "redis": "redis",
}
DEFAULT_PORTS = {"mysql": 3306, "postgres": 5432, "redis": 6379}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ServiceURL:
    kind: str  # sqlite | mysql | postgres | redis
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    database: str | None = None  # db name; redis: the db number as text; sqlite: None
    path: Path | None = None  # sqlite only

    @property
    def safe(self) -> str:
        """The URL without its password, for output, logs and manifests."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.path}"
        user = f"{self.user}@" if self.user else ""
        return f"{self.kind}://{user}{self.host}:{self.port}/{self.database or ''}"


def _expand(text: str, where: str) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise UsageError(f"{where}: environment variable {name} is not set")
        return os.environ[name]

    return _VAR.sub(sub, text)


def parse_service_url(
    url: str, *, root: Path, password_env: str | None = None, where: str = "service"
) -> ServiceURL:
    """Parse ``url`` (relative sqlite paths are taken from ``root``)."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    kind = KINDS.get(scheme)
    if kind is None:
        raise UsageError(
            f"{where}: unsupported URL scheme {scheme or url!r}; "
            "use sqlite://, mysql://, postgresql:// or redis://"
        )
    if kind == "sqlite":
        rest = url.split(":", 1)[1]
        if not rest.startswith("//"):
            raise UsageError(f"{where}: write SQLite URLs as sqlite:///relative/or/absolute.db")
        raw = _expand(rest[2:], where)
        # SQLAlchemy convention: sqlite:///relative/path, sqlite:////absolute/path
        raw = raw[1:] if raw.startswith("/") else raw
        path = Path(raw)
        return ServiceURL("sqlite", path=path if path.is_absolute() else root / path)
    parts = urlsplit(_expand(url, where))
    password = unquote(parts.password) if parts.password is not None else None
    if password_env:
        if password_env not in os.environ:
            raise UsageError(f"{where}: environment variable {password_env} is not set")
        password = os.environ[password_env]
    try:
        port = parts.port or DEFAULT_PORTS[kind]
    except ValueError as exc:
        raise UsageError(f"{where}: bad port in {url.split('@')[-1]!r}") from exc
    database = unquote(parts.path.lstrip("/")) or None
    if kind == "redis":
        database = database or "0"
        if not database.isdigit():
            raise UsageError(
                f"{where}: a Redis URL ends in a database number, e.g. redis://host:6379/0"
            )
    elif not database:
        raise UsageError(f"{where}: the URL names no database, e.g. {scheme}://user@host/dbname")
    return ServiceURL(
        kind,
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username) if parts.username else None,
        password=password,
        database=database,
    )
