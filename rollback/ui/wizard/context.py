"""What the wizard shows before it asks: the context panel and the snapshots it can offer.

Snapshot providers are optional here: without one configured the wizard says so and plans
code only. A provider that fails to list (CLI missing, not logged in) is shown as such, not
raised: the code rollback must stay possible when the data side is unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rollback.errors import RollbackError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from rollback.config import Config
    from rollback.data.project import Project
    from rollback.data.snapshots.base import Provider, Snapshot
    from rollback.data.timeline import Timeline
    from rollback.git.history import History
    from rollback.git.repo import GitRepo


@dataclass(frozen=True)
class DataSide:
    """The snapshot provider as the wizard sees it."""

    provider: Provider | None
    name: str | None  # "local", "restic", "magento-cloud"; None: none configured
    environment: str | None
    snapshots: tuple[Snapshot, ...]  # newest first
    note: str  # one line for the context panel

    @property
    def last_checkpoint(self) -> Snapshot | None:
        """The newest snapshot that recorded its commit and is not a safety copy."""
        for snap in self.snapshots:
            if snap.commit and "safety_for" not in snap.extra and snap.restorable:
                return snap
        return None


def provider_configured(config: Config) -> bool:
    """Did the project configure any snapshot provider?"""
    return bool(
        config.get("provider")
        or config.data.get("local")
        or config.data.get("restic")
        or config.data.get("magento-cloud")
    )


def load_data_side(project: Project) -> DataSide:
    """Open the configured provider and list its snapshots; never raises for provider trouble."""
    config = project.config
    if not provider_configured(config):
        return DataSide(None, None, None, (), "no snapshot provider configured")
    name = str(config.get("provider") or "local")
    environment = None
    if name == "magento-cloud":
        section = config.data.get("magento-cloud") or {}
        environment = section.get("environment") if isinstance(section, dict) else None
    try:
        provider = project.provider()
        snapshots = tuple(provider.list())
    except (RollbackError, ImportError) as exc:
        return DataSide(None, name, environment, (), f"{name}: unavailable ({exc})")
    count = len(snapshots)
    return DataSide(provider, name, environment, snapshots, f"{name}: {count} snapshot(s)")


def age(when: datetime, now: datetime | None = None) -> str:
    """A short age: 5m, 3h, 2d."""
    seconds = int(((now or datetime.now(timezone.utc)) - when).total_seconds())
    if seconds < 3600:
        return f"{max(seconds, 0) // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def context_panel(
    repo: GitRepo, history: History, data: DataSide, timeline: Timeline | None = None
) -> RenderableType:
    """Repository, branch, upstream and ahead/behind, provider and environment; from the
    timeline (the data of ``rollback timeline``): last release, checkpoint and rollback."""
    from rich.panel import Panel
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("repository", str(repo.root))
    head = history.commits[0] if history.commits else None
    at = f" at {head.short} {head.subject}" if head else ""
    grid.add_row("branch", f"{history.branch or 'detached HEAD'}{at}")
    if history.upstream:
        ahead, behind = repo.ahead_behind(history.upstream)
        grid.add_row("upstream", f"{history.upstream}: {ahead} ahead, {behind} behind")
    else:
        grid.add_row("upstream", "none (nothing is pushed from here)")
    if history.presets:
        grid.add_row("migrations", ", ".join(history.presets))
    provider = data.note
    if data.environment:
        provider += f"; environment {data.environment}"
    grid.add_row("snapshots", provider)
    if timeline is not None:
        for kind, label in (
            ("release", "last release"),
            ("checkpoint", "last checkpoint"),
            ("run", "last rollback"),
        ):
            e = timeline.latest(kind)
            if e is None:
                continue
            if kind == "release":
                what = f"{' '.join(e.facts.get('tags') or [])} at {e.ref[:10]}"
            elif kind == "run":
                what = f"{e.ref}: {e.facts.get('strategy')}, {e.facts.get('status')}"
            else:
                what = f"{e.ref} at {str(e.commit)[:10]}"
            grid.add_row(label, f"{what} ({age(e.at)} ago)")
    return Panel(grid, title="rollback", title_align="left", expand=False)
