"""Which snapshot provider: opened from the project's settings.

Provider modules are imported only when chosen (``components.build`` does the same for
the local store's components).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rollback.config import Section
from rollback.errors import UsageError

if TYPE_CHECKING:
    from rollback.config import Config
    from rollback.data.snapshots.base import Provider

PROVIDERS = ("local", "restic", "magento-cloud")
SETTINGS = Section("", ("provider",))


def settings_sections() -> list[Section]:
    """The settings tables of the providers: each provider's settings module declares its
    own ``SETTINGS`` (a new provider adds its module here). Light modules: values only."""
    from rollback.data.snapshots import magento_cloud_settings, settings
    from rollback.data.snapshots.restic import settings as restic_settings

    return [
        SETTINGS,
        settings.SETTINGS,
        restic_settings.SETTINGS,
        magento_cloud_settings.SETTINGS,
    ]


def open_provider(
    config: Config, name: str | None = None, *, notify: Callable[[str], None] | None = None
) -> Provider:
    """Provider ``name``, else the configured one (``[tool.rollback] provider``; default local).

    ``notify`` receives one-line notices a provider may give (magento-cloud: restore estimates).
    """
    chosen = name or config.get("provider") or "local"
    if chosen == "local":
        from rollback.data.snapshots.local import LocalStore

        return LocalStore.from_config(config)
    if chosen == "restic":
        from rollback.data.snapshots.restic.provider import ResticProvider

        return ResticProvider.from_config(config)
    if chosen == "magento-cloud":
        try:
            from rollback.data.snapshots.magento_cloud import MagentoCloudProvider
        except ModuleNotFoundError as exc:
            if exc.name != "rollback.data.snapshots.magento_cloud":
                raise
            raise UsageError("magento-cloud provider not available") from exc
        return MagentoCloudProvider.from_config(config, notify=notify)
    raise UsageError(
        f"unknown snapshot provider {chosen!r}", hint=f"choose one of: {', '.join(PROVIDERS)}"
    )
