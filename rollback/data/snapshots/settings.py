"""Settings of the local snapshot store: ``[tool.rollback.local]``.

```toml
[tool.rollback.local]
path = ".rollback/snapshots"          # where snapshots live, relative to the project root
paths = ["var", "pub/media", "app/etc"]  # folders (or files) to snapshot
retention_days = 7                     # how long a snapshot stays restorable
services = [
  { kind = "mysql", url = "mysql://shop@127.0.0.1/shop", password_env = "SHOP_DB_PASSWORD" },
  { name = "cache", url = "redis://127.0.0.1:6379/1" },
]
```

Without ``paths`` the store takes the Magento mounted folders (``var``, ``pub/media``,
``app/etc``) that exist when the snapshot is taken. Listed ``paths`` are always taken: one
that is missing is recorded as absent, and restoring the snapshot removes it again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rollback.config import Config, Section
from rollback.data.snapshots.urls import KINDS, ServiceURL, parse_service_url
from rollback.errors import UsageError

DEFAULT_STORE = ".rollback/snapshots"
DEFAULT_PATHS = ("var", "pub/media", "app/etc")
DEFAULT_RETENTION_DAYS = 7.0
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_KNOWN_KEYS = {"path", "paths", "services", "retention_days"}
_SERVICE_KEYS = {"name", "kind", "url", "password_env"}
SETTINGS = Section("local", tuple(sorted(_KNOWN_KEYS)))


@dataclass(frozen=True)
class ServiceSpec:
    """One configured service: a unique component name, its kind and its parsed URL."""

    name: str
    kind: str  # sqlite | mysql | postgres | redis
    url: ServiceURL


@dataclass(frozen=True)
class LocalSettings:
    root: Path  # the project's top folder
    store: Path  # absolute folder holding the snapshots
    paths: tuple[str, ...]  # relative POSIX paths below root
    paths_explicit: bool  # False: the defaults, taken only where they exist
    services: tuple[ServiceSpec, ...]
    retention_days: float

    def present_paths(self) -> tuple[str, ...]:
        """The paths to snapshot now: all listed ones, or the defaults that exist."""
        if self.paths_explicit:
            return self.paths
        return tuple(p for p in self.paths if (self.root / p).exists())


def parse_local(config: Config) -> LocalSettings:
    """Validate ``[tool.rollback.local]`` of ``config``; raise UsageError naming the bad key."""
    section = config.section("local")
    where = config.where_table("local")
    refuse_unknown(section, where, _KNOWN_KEYS)
    root = config.root.resolve()
    store_raw = section.get("path", DEFAULT_STORE)
    if not isinstance(store_raw, str) or not store_raw:
        raise UsageError(f"{where}: path must be a folder name, e.g. {DEFAULT_STORE!r}")
    store = Path(store_raw)
    store = (store if store.is_absolute() else root / store).resolve()
    return parse_data(section, root=root, store=store, where=where)


def refuse_unknown(section: dict[str, Any], where: str, known: set[str]) -> None:
    """UsageError naming the first key of ``section`` that is not in ``known``."""
    unknown = sorted(set(section) - known)
    if unknown:
        raise UsageError(
            f"{where}: unknown setting {unknown[0]!r}",
            hint=f"known settings: {', '.join(sorted(known))}",
        )


def parse_data(
    section: dict[str, Any],
    *,
    root: Path,
    store: Path,
    where: str,
    protected: tuple[Path, ...] = (),
) -> LocalSettings:
    """The data part of a provider's section: ``paths``, ``services``, ``retention_days``.

    ``store`` (and every folder in ``protected``) must not lie inside a listed path:
    restoring that path would delete the snapshots themselves.
    """
    raw_paths = section.get("paths")
    explicit = raw_paths is not None
    paths: tuple[str, ...]
    if raw_paths is None:
        paths = DEFAULT_PATHS
    elif isinstance(raw_paths, list) and all(isinstance(p, str) for p in raw_paths):
        paths = tuple(_clean_path(p, where) for p in raw_paths)
    else:
        raise UsageError(f'{where}: paths must be a list of folders, e.g. ["var", "pub/media"]')
    for folder in (store, *protected):
        _check_paths(paths, root, folder, where)

    retention = section.get("retention_days", DEFAULT_RETENTION_DAYS)
    if isinstance(retention, bool) or not isinstance(retention, (int, float)) or retention < 0:
        raise UsageError(f"{where}: retention_days must be a number of days >= 0")

    services = _parse_services(section.get("services", []), root, where)
    return LocalSettings(root, store, paths, explicit, services, float(retention))


def _clean_path(raw: str, where: str) -> str:
    pure = PurePosixPath(raw.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or str(pure) in ("", "."):
        raise UsageError(
            f"{where}: paths entry {raw!r} must be a folder inside the project, e.g. 'var'"
        )
    return str(pure)


def _check_paths(paths: tuple[str, ...], root: Path, store: Path, where: str) -> None:
    for i, a in enumerate(paths):
        if store == root / a or (root / a) in store.parents:
            # restoring that path would delete the snapshots themselves
            raise UsageError(f"{where}: paths entry {a!r} contains the snapshot store {store}")
        for b in paths[i + 1 :]:
            pa, pb = PurePosixPath(a), PurePosixPath(b)
            if pa == pb or pa in pb.parents or pb in pa.parents:
                raise UsageError(f"{where}: paths {a!r} and {b!r} overlap; list each folder once")


def _parse_services(raw: Any, root: Path, where: str) -> tuple[ServiceSpec, ...]:
    if not isinstance(raw, list):
        raise UsageError(f'{where}: services must be a list of tables, e.g. [{{url = "..."}}]')
    specs: list[ServiceSpec] = []
    seen = {"files"}
    for i, item in enumerate(raw):
        at = f"{where} services[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            raise UsageError(f"{at}: each service needs a url, e.g. {{url = 'redis://.../0'}}")
        unknown = sorted(set(item) - _SERVICE_KEYS)
        if unknown:
            raise UsageError(
                f"{at}: unknown key {unknown[0]!r} (known: name, kind, url, password_env)"
            )
        password_env = item.get("password_env")
        if password_env is not None and not isinstance(password_env, str):
            raise UsageError(f"{at}: password_env must be the name of an environment variable")
        url = parse_service_url(item["url"], root=root, password_env=password_env, where=at)
        kind = item.get("kind", url.kind)
        if KINDS.get(str(kind)) != url.kind:
            raise UsageError(f"{at}: kind {kind!r} does not match the URL scheme ({url.kind})")
        name = item.get("name") or _default_name(url.kind, seen)
        if not isinstance(name, str) or not NAME.match(name):
            raise UsageError(f"{at}: name {name!r} must be lowercase letters, digits, - or _")
        if name in seen:
            raise UsageError(f"{at}: two components are named {name!r}; give each a unique name")
        seen.add(name)
        specs.append(ServiceSpec(name, url.kind, url))
    return tuple(specs)


def _default_name(kind: str, seen: set[str]) -> str:
    if kind not in seen:
        return kind
    n = 2
    while f"{kind}-{n}" in seen:
        n += 1
    return f"{kind}-{n}"
