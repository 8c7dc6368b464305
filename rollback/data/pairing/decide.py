"""What to do with the data, and why in plain words: the recommendation and the decision. Pure.

``recommend`` answers "what should happen to the data when the code goes back to T?" from an
``Assessment``; ``decide`` applies the user's ``--snapshot`` / ``--data`` to it, refusing
impossible or contradictory choices in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from rollback.data.pairing.assess import (
    AFTER,
    AT_TARGET,
    BEFORE,
    INFERRED,
    OFF_LINE,
    Assessment,
    Pairing,
    best_fit,
    code_target_for,
    duration,
    shorts,
)
from rollback.errors import RefusedError, UsageError


@dataclass(frozen=True)
class Recommendation:
    action: str  # code-only | restore | downgrade | none-fits
    snapshot: str | None
    reasons: tuple[str, ...]
    alternatives: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What the plan will do with the data: nothing, restore a snapshot, or downgrade."""

    action: str  # none | restore | downgrade
    pairing: Pairing | None
    reasons: tuple[str, ...]
    risks: tuple[str, ...]


def _restore_words(p: Pairing) -> list[str]:
    snap = p.snapshot
    words = [
        f"restoring {snap.id} loses everything written since "
        f"{snap.created_at:%Y-%m-%d %H:%M %Z} (data-loss window: {duration(p.loss_seconds)})"
    ]
    if p.restore_seconds is not None:
        took = duration(p.restore_seconds)
        took = took if took.startswith("under") else f"about {took}"
        words.append(f"restore time: {took} ({p.estimate_basis})")
    else:
        words.append("restore time: unknown (the snapshot's size is not known)")
    return words


def recommend(assessment: Assessment) -> Recommendation:
    """What to do with the data when rolling the code back to the target, and why."""
    a = assessment
    best = best_fit(a)
    dg = a.downgrade
    alternatives: list[str] = []
    if not a.data_commits:
        reasons = [
            f"no commit between {a.target[:10]} and HEAD changes a migration file: the data "
            "already has the schema the target code expects, so a code-only rollback is safe",
        ]
        if best is not None:
            reasons.append(
                f"restoring data is optional (only if the bad release wrote bad data): "
                f"the newest snapshot that fits is {best.snapshot.id}"
            )
            reasons += _restore_words(best)
        return Recommendation("code-only", None, tuple(reasons), ())
    changes = (
        f"{len(a.data_commits)} commit(s) between {a.target[:10]} and HEAD change the data "
        f"schema: {shorts(a.data_commits)}"
    )
    if best is not None:
        relation = (
            "is the target itself"
            if best.relation == AT_TARGET
            else "is an ancestor of the target with no schema change in between"
        )
        reasons = [
            changes,
            f"snapshot {best.snapshot.id} was taken at {best.commit and best.commit[:10]} "
            f"({best.source}), which {relation}: its data fits the target code",
            *_restore_words(best),
        ]
        if best.source == INFERRED:
            reasons.append(
                "its commit is inferred from the time it was taken, not recorded: check it, "
                "and take snapshots with `rollback checkpoint` to record it next time"
            )
        if dg.possible and dg.needed:
            alternatives.append(
                "downgrade the migrations instead (--data downgrade): keeps the data written "
                "since, but drops what the newer migrations added"
            )
        return Recommendation("restore", best.snapshot.id, tuple(reasons), tuple(alternatives))
    reasons = [changes, "no restorable snapshot fits the target: " + _why_none(a)]
    alternatives = _reverse_alternatives(a)
    if dg.possible:
        reasons.append(f"the migrations can be reversed instead: {dg.reason}")
        reasons.append(
            "the downgrade runs before the code step, while the newer migration files still "
            "exist; it keeps the data written since, but drops what those migrations added"
        )
        return Recommendation("downgrade", None, tuple(reasons), tuple(alternatives))
    reasons.append(f"no downgrade either: {dg.reason}")
    alternatives.append(
        "roll back the code only (--snapshot none) and repair the data by hand, or fix forward"
    )
    return Recommendation("none-fits", None, tuple(reasons), tuple(alternatives))


def _why_none(a: Assessment) -> str:
    if not a.pairings:
        return "there are no snapshots"
    counts = {
        "expired": sum(p.expired for p in a.pairings),
        "taken after the target": sum(p.relation == AFTER and not p.expired for p in a.pairings),
        "with schema changes before the target": sum(
            p.relation == BEFORE and bool(p.between) and not p.expired for p in a.pairings
        ),
        "of unknown code": sum(p.relation == OFF_LINE and not p.expired for p in a.pairings),
    }
    return ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "none is complete"


def _reverse_alternatives(a: Assessment) -> list[str]:
    out = []
    for p in a.pairings:
        target = code_target_for(p)
        if p.expired or target is None or p.snapshot.status != "complete":
            continue
        out.append(
            f"roll the code back to the commit of snapshot {p.snapshot.id} instead "
            f"({target[:10]}, {p.source}): rollback plan --to {target[:10]} "
            f"--snapshot {p.snapshot.id}"
        )
        break
    return out


def decide(
    assessment: Assessment,
    recommendation: Recommendation,
    *,
    snapshot: str | None,
    data: str | None,
) -> Decision:
    """Turn the user's ``--snapshot`` / ``--data`` into a decision, or refuse in one line.

    ``snapshot``: an id, "auto" or "none" (None: not given). ``data``: restore | downgrade |
    none (None: the recommendation).
    """
    if data not in (None, "restore", "downgrade", "none"):
        raise UsageError(f"--data {data!r}: choose restore, downgrade or none")
    explicit = snapshot not in (None, "auto", "none")
    if data == "downgrade" and explicit:
        raise UsageError("--data downgrade does not restore a snapshot: drop --snapshot ID")
    if data == "restore" and snapshot == "none":
        raise UsageError("--data restore needs a snapshot: --snapshot auto or --snapshot ID")
    if data == "none" or (snapshot == "none" and data is None):
        flag = "--data none" if data == "none" else "--snapshot none"
        return _none(assessment, reasons=(f"you chose {flag}",))
    if data == "downgrade":
        return _downgrade(assessment)
    if explicit:
        return _chosen(assessment, str(snapshot))
    action = "restore" if data == "restore" else recommendation.action
    if action == "restore":
        best = best_fit(assessment)
        if best is None:
            raise RefusedError(
                "no restorable snapshot fits the target: " + _why_none(assessment),
                hint="pick one anyway with --snapshot ID, or see the assessment with "
                "--snapshot auto",
            )
        words = (f"restore snapshot {best.snapshot.id}: {best.note}", *_restore_words(best))
        return Decision("restore", best, words, ())
    if action == "downgrade":
        return _downgrade(assessment)
    return _none(assessment)


def _none(a: Assessment, reasons: tuple[str, ...] = ()) -> Decision:
    risks: tuple[str, ...] = ()
    if a.data_commits:
        risks = (
            f"the data stays as it is although {len(a.data_commits)} undone commit(s) change "
            "its schema: the target code may not run against it",
        )
    return Decision("none", None, reasons, risks)


def _downgrade(a: Assessment) -> Decision:
    dg = a.downgrade
    if not dg.needed:
        raise UsageError(
            "nothing to downgrade: the migrations at the target and at HEAD are the same"
        )
    if not dg.possible:
        raise RefusedError(f"cannot downgrade: {dg.reason}", hint="restore a snapshot instead")
    return Decision(
        "downgrade",
        None,
        (
            f"downgrade the migrations to the state of the target: {dg.reason}",
            "runs before the code step, while the newer migration files still exist",
        ),
        ("the downgrade drops what the newer migrations added (columns, tables and their data)",),
    )


def _chosen(a: Assessment, snapshot_id: str) -> Decision:
    found = [p for p in a.pairings if p.snapshot.id == snapshot_id]
    if not found:
        raise UsageError(
            f"no snapshot {snapshot_id!r}",
            hint="see the snapshots with: rollback snapshot list",
        )
    p = found[0]
    if p.expired:
        raise RefusedError(
            f"snapshot {snapshot_id} has expired and can no longer be restored",
            hint="choose a restorable one: rollback plan ... --snapshot auto",
        )
    risks: list[str] = []
    if not p.fits:
        risks.append(f"snapshot {snapshot_id} does not fit the target: {p.note}")
        target = code_target_for(p)
        if target is not None and target != a.target:
            risks.append(
                f"the code that matches it is {target[:10]} ({p.source}): "
                f"rollback plan --to {target[:10]} --snapshot {snapshot_id}"
            )
    elif p.source == INFERRED:
        risks.append(f"the commit of snapshot {snapshot_id} is inferred from its time: check it")
    words = (f"restore the chosen snapshot {snapshot_id}: {p.note}", *_restore_words(p))
    return Decision("restore", p, words, tuple(risks))
