"""The timeline: what a release lead reasons about, on one time axis. Pure: values in, values out.

First-parent commits (releases are tagged ones, migrations are data-touching ones), snapshots
(checkpoints record their commit; safety snapshots are taken by rollbacks) with their expiry
and whether each fits the code target (the head, unless another is asked for), deploy marks,
and past rollback runs. ``run/timeline.py`` gathers the facts; ``ui/render_timeline.py``
draws them (terminal, Mermaid, JSON).

Deploy marks: a snapshot-like value with no dump that ties a moment of the database's log to
a commit (``checkpoint --mark-only``, to come). A provider reports one as a ``Snapshot`` whose
``extra["kind"]`` is ``"mark"``; it becomes a ``mark`` event here, with nothing else to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rollback.data.pairing.assess import is_expired, pair
from rollback.data.snapshots.base import Snapshot
from rollback.git.history import CommitInfo, History

KINDS = ("run", "mark", "checkpoint", "snapshot", "release", "migration", "commit")


@dataclass(frozen=True)
class PastRun:
    """A rollback run as its journal recorded it."""

    id: str
    started_at: datetime
    status: str  # running | stopped | completed | failed | aborted | undone
    strategy: str
    branch: str
    before: str  # the head before the run
    after: str | None  # the head after it, when it completed
    target: str
    target_ref: str


@dataclass(frozen=True)
class Event:
    """One moment on the axis. ``commit``: the code it belongs with (None: unknown)."""

    at: datetime  # UTC
    kind: str  # one of KINDS
    ref: str  # a sha, a snapshot id, or a plan id
    title: str
    commit: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # kind-specific, JSON-ready


@dataclass(frozen=True)
class Timeline:
    branch: str | None
    head: str
    target: str  # what "fits" is measured against
    target_ref: str
    events: tuple[Event, ...]  # newest first
    complete: bool  # the history reaches the root commit
    notes: tuple[str, ...] = ()  # what could not be read (a provider that failed to list)

    def latest(self, kind: str) -> Event | None:
        return next((e for e in self.events if e.kind == kind), None)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def commit_event(c: CommitInfo) -> Event:
    kind = "release" if c.tags else "migration" if c.touches_data else "commit"
    facts: dict[str, Any] = {"tags": list(c.tags), "merge": c.is_merge, "pushed": c.pushed}
    if c.touches_data:
        facts["migration_files"] = list(c.data_files)
    return Event(_utc(c.committed_at), kind, c.sha, c.subject, c.sha, facts)


def snapshot_kind(s: Snapshot) -> str:
    if s.extra.get("kind") == "mark":
        return "mark"
    # a rollback's own safety snapshot (pairing.attach.safety_label) is no checkpoint
    safety = s.extra.get("safety_for") or (s.label or "").startswith("before rollback ")
    if s.commit and not safety:
        return "checkpoint"  # recorded its commit: code and data tied together
    return "snapshot"


def snapshot_event(s: Snapshot, history: History, target: str, now: datetime) -> Event:
    p = pair(s, history, target, now, partial=not history.complete)
    facts: dict[str, Any] = {
        "label": s.label,
        "provider": s.provider,
        "commit_source": p.source,
        "expires_at": s.expires_at.astimezone(timezone.utc).isoformat() if s.expires_at else None,
        "expired": is_expired(s, now),
        "fits": p.fits,
        "why": p.note,
        "size_bytes": s.size_bytes,
        "safety_for": s.extra.get("safety_for"),
    }
    return Event(
        s.created_at.astimezone(timezone.utc),
        snapshot_kind(s),
        s.id,
        s.label or "",
        p.commit,
        facts,
    )


def run_event(r: PastRun) -> Event:
    to = r.target[:10] if r.target.startswith(r.target_ref) else r.target_ref
    title = f"{r.strategy} of {r.branch} to {to}: {r.status}"
    if r.after and r.status in ("completed", "undone"):
        title += f" ({r.branch} was at {r.before[:10]}, then {r.after[:10]})"
    facts = {
        "status": r.status,
        "strategy": r.strategy,
        "branch": r.branch,
        "before": r.before,
        "after": r.after,
        "target": r.target,
    }
    return Event(r.started_at.astimezone(timezone.utc), "run", r.id, title, r.target, facts)


def build_timeline(
    history: History,
    snapshots: Sequence[Snapshot],
    runs: Sequence[PastRun],
    now: datetime,
    *,
    target: str | None = None,
    target_ref: str = "HEAD",
    notes: Sequence[str] = (),
) -> Timeline:
    """Every event, newest first (a tie: runs, then data, then code)."""
    goal = target or history.head
    events = [commit_event(c) for c in history.commits]
    oldest = events[-1].at if events and not history.complete else None
    for s in snapshots:
        if oldest is None or s.created_at >= oldest:  # older ones lie beyond the history read
            events.append(snapshot_event(s, history, goal, now))
    events += [run_event(r) for r in runs if oldest is None or r.started_at >= oldest]
    events.sort(key=lambda e: (e.at, -KINDS.index(e.kind), e.ref), reverse=True)
    return Timeline(
        history.branch,
        history.head,
        goal,
        target_ref,
        tuple(events),
        history.complete,
        tuple(notes),
    )


def checkpointed(timeline: Timeline) -> dict[str, list[str]]:
    """Commit -> ids of the checkpoints (and marks) that recorded it, for ``rollback log``."""
    found: dict[str, list[str]] = {}
    for e in timeline.events:
        if (
            e.kind in ("checkpoint", "mark")
            and e.commit
            and e.facts.get("commit_source") == ("recorded")
        ):
            found.setdefault(e.commit, []).append(e.ref)
    return found
