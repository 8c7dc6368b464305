"""Pairing code and data: which snapshot belongs with which commit, and what to do. Pure.

Every function here takes values (history, snapshots, the downgrade facts, "now") and returns
values; ``pairing_plan`` does the reading and turns the decision into plan steps.

Words users see:

- A snapshot's commit is **recorded** when the provider stored it (local manifests,
  ``rollback checkpoint``, magento-cloud's ``commit_id``); otherwise it is **inferred** as the
  newest first-parent commit committed at or before the snapshot was taken, and always shown
  with the word "inferred": it is a guess from the clock, never a fact.
- A snapshot **fits** target T when it is restorable and its commit is T or an ancestor of T on
  the first-parent line with no data-touching commit between them. Snapshots taken after T
  never fit: their data was written by the code being rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rollback.data.snapshots.base import Snapshot
from rollback.errors import UsageError
from rollback.git.history import CommitInfo, History

RECORDED, INFERRED, NO_COMMIT = "recorded", "inferred", "none"
AT_TARGET, BEFORE, AFTER, OFF_LINE = "target", "before-target", "after-target", "off-line"
OLDER = "older"  # expired, and older than the history read (only restorable ones are followed)
LOCAL_BYTES_PER_SECOND = 50_000_000  # rough: decompress + write; a figure to plan around only


@dataclass(frozen=True)
class Pairing:
    """One snapshot assessed against the code target."""

    snapshot: Snapshot
    commit: str | None
    source: str  # recorded | inferred | none
    relation: str  # target | before-target | after-target | off-line
    between: tuple[CommitInfo, ...]  # data-touching commits between the snapshot's commit and T
    expired: bool
    loss_seconds: float  # now - created_at: everything written since is lost on restore
    restore_seconds: float | None
    estimate_basis: str
    fits: bool
    note: str  # why it fits or not, in plain words


@dataclass(frozen=True)
class DowngradeFacts:
    """What ``migrations`` found, reduced to what the decision needs."""

    needed: bool  # some framework's migration state differs between T and HEAD
    possible: bool  # every framework that changed can be downgraded
    commands: tuple[tuple[str, ...], ...] = ()
    reason: str = ""  # why not possible, or what it does


@dataclass(frozen=True)
class Assessment:
    target: str
    head: str
    branch: str | None
    now: datetime
    data_commits: tuple[CommitInfo, ...]  # in T..HEAD, newest first
    pairings: tuple[Pairing, ...]  # newest snapshot first
    downgrade: DowngradeFacts


def duration(seconds: float) -> str:
    """'3 d 4 h', '2 h 5 min', '12 min', 'under a minute'."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def snapshot_commit(snap: Snapshot, history: History) -> tuple[str | None, str]:
    """The commit a snapshot belongs with and how we know: (sha, recorded|inferred|none)."""
    if snap.commit:
        found = full_sha(snap.commit, history)
        return found or snap.commit, RECORDED
    stamp = snap.created_at.timestamp()
    for commit in history.commits:  # newest first on the first-parent line
        if commit.committed_at <= stamp:
            return commit.sha, INFERRED
    return None, NO_COMMIT


def full_sha(sha: str, history: History) -> str | None:
    if history.position(sha) is not None:
        return sha
    if len(sha) >= 7:  # an abbreviated id (some listings shorten them)
        for c in history.commits:
            if c.sha.startswith(sha):
                return c.sha
    return None


def estimate_restore(snap: Snapshot) -> tuple[float | None, str]:
    """(seconds or None, where the figure comes from)."""
    if snap.size_bytes is None:
        return None, "size unknown"
    if snap.provider == "magento-cloud":
        from rollback.data.snapshots.magento_cloud_output import estimate_restore_seconds

        return estimate_restore_seconds(snap.size_bytes), "estimate from the documented figures"
    return max(1.0, snap.size_bytes / LOCAL_BYTES_PER_SECOND), "rough estimate from the size"


def is_expired(snap: Snapshot, now: datetime) -> bool:
    """Not restorable any more, by the provider's word or by its expiry date."""
    return not snap.restorable or (snap.expires_at is not None and snap.expires_at <= now)


def pair(
    snap: Snapshot, history: History, target: str, now: datetime, *, partial: bool = False
) -> Pairing:
    """Assess one snapshot against code target ``target`` (a commit of ``history``).

    ``partial``: ``history`` stops short of the root, so an expired snapshot's commit may lie
    beyond it; such a snapshot is shown as "older" rather than guessed at.
    """
    commit, source = snapshot_commit(snap, history)
    expired = is_expired(snap, now)
    seconds, basis = estimate_restore(snap)
    pos_t = history.position(target)
    pos_c = history.position(commit) if commit else None
    between: tuple[CommitInfo, ...] = ()
    label = f"{commit[:10]} ({source})" if commit else ""
    oldest = history.commits[-1].committed_at if history.commits else 0
    if pos_c is None and partial and expired and snap.created_at.timestamp() < oldest + 1:
        commit, source, relation = None, NO_COMMIT, OLDER
        note = "taken before the history read for this plan (only restorable ones are followed)"
    elif pos_t is None or pos_c is None:
        relation = OFF_LINE
        note = (
            f"its commit {label} is not on the first-parent line of "
            f"{history.branch or 'HEAD'}: which code it belongs with is unknown"
            if commit
            else "no commit is recorded and none is old enough to infer one"
        )
    elif pos_c == pos_t:
        relation, note = AT_TARGET, f"taken at the target commit {label}"
    elif pos_c > pos_t:
        relation = BEFORE
        between = tuple(c for c in history.commits[pos_t:pos_c] if c.touches_data)
        note = f"taken at {label}, before the target"
        if between:
            note += f"; {len(between)} schema change(s) since: {shorts(between)}"
        else:
            note += "; no schema change between it and the target"
    else:
        relation = AFTER
        between = tuple(c for c in history.commits[pos_c:pos_t] if c.touches_data)
        note = f"taken at {label}, after the target: its data was written by the code rolled back"
        if between:
            note += f" and uses {len(between)} newer schema change(s): {shorts(between)}"
    fits = not expired and snap.status == "complete" and relation in (AT_TARGET, BEFORE)
    fits = fits and not between
    if expired:
        note = "expired: can no longer be restored; " + note
    elif snap.status != "complete":
        note = f"status {snap.status}: cannot be restored; " + note
    return Pairing(
        snapshot=snap,
        commit=commit,
        source=source,
        relation=relation,
        between=between,
        expired=expired,
        loss_seconds=max(0.0, (now - snap.created_at).total_seconds()),
        restore_seconds=seconds,
        estimate_basis=basis,
        fits=fits,
        note=note,
    )


def shorts(commits: Sequence[CommitInfo]) -> str:
    text = ", ".join(c.short for c in commits[:5])
    return text + (f" and {len(commits) - 5} more" if len(commits) > 5 else "")


def assess(
    history: History,
    target: str,
    snapshots: Sequence[Snapshot],
    downgrade: DowngradeFacts,
    now: datetime,
    *,
    partial: bool = False,
) -> Assessment:
    """The facts for target ``target``: data-touching commits in T..HEAD and each snapshot.

    ``partial``: ``history`` does not reach the root commit (see ``pair``).
    """
    pos_t = history.position(target)
    if pos_t is None:
        raise UsageError(f"{target[:10]} is not on the first-parent history read for pairing")
    ordered = sorted(snapshots, key=lambda s: (s.created_at, s.id), reverse=True)
    return Assessment(
        target=target,
        head=history.head,
        branch=history.branch,
        now=now,
        data_commits=tuple(c for c in history.commits[:pos_t] if c.touches_data),
        pairings=tuple(pair(s, history, target, now, partial=partial) for s in ordered),
        downgrade=downgrade,
    )


def best_fit(assessment: Assessment) -> Pairing | None:
    """The newest snapshot that fits the target (the least data lost), or None."""
    return next((p for p in assessment.pairings if p.fits), None)


def code_target_for(p: Pairing) -> str | None:
    """The reverse question: the code target that matches snapshot ``p`` (its commit)."""
    return p.commit if p.relation != OFF_LINE else None
