"""Which components, built from the local store's settings.

Component modules are imported only when a service of their kind is configured, so a
project with SQLite and files never imports the MySQL or PostgreSQL code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.data.snapshots.components.base import Component
    from rollback.data.snapshots.settings import LocalSettings
    from rollback.data.snapshots.urls import ServiceURL

MODULES = {
    "sqlite": "rollback.data.snapshots.components.sqlite",
    "mysql": "rollback.data.snapshots.components.mysql",
    "postgres": "rollback.data.snapshots.components.postgres",
    "redis": "rollback.data.snapshots.components.redis",
}


def build_components(settings: LocalSettings) -> list[Component]:
    """One component per configured service, plus ``files`` when there are paths to take."""
    from rollback.data.snapshots.components.files import FilesComponent

    components: list[Component] = []
    paths = settings.present_paths()
    if paths:
        components.append(FilesComponent(settings.root, paths))
    for spec in settings.services:
        components.append(component_for(spec.name, spec.url))
    return components


def component_for(name: str, url: ServiceURL) -> Component:
    """The component for one service URL: ``<module of url.kind>.from_url(name, url)``."""
    module_name = MODULES.get(url.kind)
    if module_name is None:
        raise UsageError(f"service {name!r}: no snapshot component for kind {url.kind!r}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UsageError(
            f"service {name!r}: {url.kind} snapshots are not available in this version"
        ) from exc
    factory = cast("Callable[[str, ServiceURL], Component]", module.from_url)
    return factory(name, url)
