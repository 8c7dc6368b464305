"""Gather the timeline's facts: history (git), snapshots (the provider), past runs (journals).

Here, above ``data``, because the past runs live in the run journals; the timeline itself is
built by the pure ``data.timeline.build_timeline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from rollback.data.timeline import PastRun, Timeline, build_timeline
from rollback.errors import RollbackError, UsageError

if TYPE_CHECKING:
    from rollback.data.project import Project
    from rollback.data.snapshots.base import Snapshot
    from rollback.git.history import History
    from rollback.git.repo import GitRepo


def past_runs(repo: GitRepo) -> list[PastRun]:
    """Every rollback run of the repository, from its journal."""
    from rollback.run import journal

    runs = []
    for j in journal.all_runs(repo.git_dir):
        p = j.plan
        started = datetime.fromisoformat(j.started_at)
        runs.append(
            PastRun(
                p.id,
                started,
                j.status,
                p.strategy,
                p.branch,
                p.head,
                j.after,
                p.target,
                p.target_ref,
            )
        )
    return runs


def deploy_marks(project: Project) -> list[Snapshot]:
    """The local store's deploy marks (``checkpoint --mark-only``) as ``mark`` events: a
    snapshot-like value that restores nothing by itself (``restorable`` is False)."""
    from rollback.data.marks import list_marks
    from rollback.data.snapshots.base import Snapshot

    if project.provider_name != "local":
        return []
    try:
        store = project.provider("local")
    except RollbackError:
        return []
    folder = getattr(store, "store", None)
    if folder is None:
        return []
    return [
        Snapshot(
            id=m.id,
            provider="local",
            created_at=m.created_at,
            label=m.label,
            commit=m.commit,
            branch=m.branch,
            restorable=False,
            components=tuple(m.logged()),
            extra={"kind": "mark"},
        )
        for m in list_marks(folder)
    ]


def gather(
    repo: GitRepo,
    project: Project,
    *,
    limit: int | None = None,
    target: str | None = None,
    snapshots: Sequence[Snapshot] | None = None,
    history: History | None = None,
    now: datetime | None = None,
) -> Timeline:
    """The timeline of the current branch: ``limit`` newest first-parent commits and what
    happened around them. ``snapshots``: already listed (the wizard), else listed here; a
    provider that cannot list becomes a note, never an error."""
    from rollback.git.history import read_history

    history = history or read_history(repo, project.rules, limit=limit)
    goal = None
    if target is not None:
        goal = repo.rev_parse(target)
        if goal is None or history.position(goal) is None:
            raise UsageError(
                f"{target!r} is not on the first-parent history shown",
                hint="name a commit, tag or branch listed by rollback log (or raise --limit)",
            )
    notes: list[str] = []
    if snapshots is None:
        try:
            snapshots = project.provider().list()
        except RollbackError as exc:
            snapshots = []
            notes.append(f"snapshots could not be listed: {exc}")
    snapshots = [*snapshots, *deploy_marks(project)]
    try:
        runs = past_runs(repo)
    except UsageError as exc:  # a damaged journal: say so, show the rest
        runs = []
        notes.append(str(exc))
    return build_timeline(
        history,
        snapshots,
        runs,
        now or datetime.now(timezone.utc),
        target=goal,
        target_ref=target or "HEAD",
        notes=notes,
    )
