"""Which provider, which components: built from the project's settings.

Component modules are imported only when a service of their kind is configured, so a
project with SQLite and files never imports the MySQL or PostgreSQL code.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.config import Config
    from rollback.snapshots.base import Provider
    from rollback.snapshots.components.base import Component
    from rollback.snapshots.settings import LocalSettings
    from rollback.snapshots.urls import ServiceURL

PROVIDERS = ("local", "magento-cloud")
MODULES = {
    "sqlite": "rollback.snapshots.components.sqlite",
    "mysql": "rollback.snapshots.components.mysql",
    "postgres": "rollback.snapshots.components.postgres",
    "redis": "rollback.snapshots.components.redis",
}


def build_components(settings: LocalSettings) -> list[Component]:
    """One component per configured service, plus ``files`` when there are paths to take."""
    from rollback.snapshots.components.files import FilesComponent

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


def open_provider(
    config: Config, name: str | None = None, *, notify: Callable[[str], None] | None = None
) -> Provider:
    """Provider ``name``, else the configured one (``[tool.rollback] provider``; default local).

    ``notify`` receives one-line notices a provider may give (magento-cloud: restore estimates).
    """
    chosen = name or config.get("provider") or "local"
    if chosen == "local":
        from rollback.snapshots.local import LocalStore

        return LocalStore.from_config(config)
    if chosen == "magento-cloud":
        try:
            from rollback.snapshots.magento_cloud import MagentoCloudProvider
        except ModuleNotFoundError as exc:
            if exc.name != "rollback.snapshots.magento_cloud":
                raise
            raise UsageError("magento-cloud provider not available") from exc
        return MagentoCloudProvider.from_config(config, notify=notify)
    raise UsageError(
        f"unknown snapshot provider {chosen!r}", hint=f"choose one of: {', '.join(PROVIDERS)}"
    )
