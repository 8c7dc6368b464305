"""The pure pairing functions: snapshot -> commit, the assessment, every recommendation branch."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from rollback.data.pairing.assess import (
    DowngradeFacts,
    assess,
    duration,
    estimate_restore,
    snapshot_commit,
)
from rollback.data.pairing.decide import decide, recommend
from rollback.data.snapshots.base import Snapshot
from rollback.errors import RefusedError, UsageError
from rollback.git.history import CommitInfo, History

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(hours=10)
NO_DOWNGRADE = DowngradeFacts(True, False, (), "Magento has no schema downgrade")
DOWNGRADE = DowngradeFacts(True, True, (("alembic", "downgrade", "a1"),), "alembic downgrade a1")


def commit(name: str, hour: int, *, data: bool = False) -> CommitInfo:
    sha = (name * 40)[:40]
    return CommitInfo(
        sha=sha,
        parents=(),
        committed_at=int((T0 + timedelta(hours=hour)).timestamp()),
        author="Ada",
        email="ada@example.com",
        subject=f"commit {name}",
        data_files=("app/etc/db_schema.xml",) if data else (),
    )


# oldest -> newest: a (data), b (data), t (target, code), m (data), h (code, HEAD)
A, B, T, M, H = (
    commit("a", 0, data=True),
    commit("b", 1, data=True),
    commit("c", 2),
    commit("d", 3, data=True),
    commit("e", 4),
)
HISTORY = History(branch="main", head=H.sha, upstream=None, commits=(H, M, T, B, A), complete=True)


def snap(
    sid: str,
    hours: float,
    commit_: CommitInfo | None = None,
    *,
    provider: str = "local",
    restorable: bool = True,
    size: int | None = 100_000_000,
) -> Snapshot:
    created = T0 + timedelta(hours=hours)
    return Snapshot(
        id=sid,
        provider=provider,
        created_at=created,
        commit=commit_.sha if commit_ else None,
        restorable=restorable,
        expires_at=created + timedelta(days=7),
        size_bytes=size,
    )


def test_recorded_commit_wins_and_inferred_is_the_newest_commit_at_or_before_the_time() -> None:
    assert snapshot_commit(snap("s", 2.5, B), HISTORY) == (B.sha, "recorded")
    assert snapshot_commit(snap("s", 2.5), HISTORY) == (T.sha, "inferred")
    assert snapshot_commit(snap("s", 2.0), HISTORY) == (T.sha, "inferred")  # at the same second
    assert snapshot_commit(snap("s", -1), HISTORY) == (None, "none")
    abbreviated = Snapshot("s", "magento-cloud", T0, commit=B.sha[:12])
    assert snapshot_commit(abbreviated, HISTORY) == (B.sha, "recorded")


def test_assessment_relations_between_commits_and_loss_window() -> None:
    a = assess(
        HISTORY, T.sha, [snap("at-a", 0.5, A), snap("at-t", 2.5, T), snap("at-m", 3.5, M)],
        NO_DOWNGRADE, NOW,
    )  # fmt: skip
    assert [c.sha for c in a.data_commits] == [M.sha]
    by_id = {p.snapshot.id: p for p in a.pairings}
    assert [p.snapshot.id for p in a.pairings] == ["at-m", "at-t", "at-a"]  # newest first
    assert (by_id["at-t"].relation, by_id["at-t"].fits, by_id["at-t"].between) == (
        "target", True, ()
    )  # fmt: skip
    assert by_id["at-a"].relation == "before-target"
    assert [c.sha for c in by_id["at-a"].between] == [B.sha]  # b changed the schema since
    assert not by_id["at-a"].fits
    assert by_id["at-m"].relation == "after-target"
    assert [c.sha for c in by_id["at-m"].between] == [M.sha]
    assert "written by the code rolled back" in by_id["at-m"].note
    assert by_id["at-t"].loss_seconds == 7.5 * 3600


def test_no_data_commit_means_code_only_and_data_restore_optional() -> None:
    a = assess(HISTORY, M.sha, [snap("at-m", 3.5, M)], DowngradeFacts(False, False), NOW)
    rec = recommend(a)
    assert rec.action == "code-only"
    assert "code-only rollback is safe" in rec.reasons[0]
    assert "optional" in rec.reasons[1] and "at-m" in rec.reasons[1]
    decision = decide(a, rec, snapshot="auto", data=None)
    assert (decision.action, decision.risks) == ("none", ())
    # asked explicitly to restore anyway: the newest snapshot that fits
    assert decide(a, rec, snapshot="auto", data="restore").pairing.snapshot.id == "at-m"  # type: ignore[union-attr]


def test_restore_recommends_the_newest_restorable_snapshot_that_fits() -> None:
    snaps = [
        snap("at-a", 0.5, A),  # b changed the schema since: does not fit
        snap("at-t-old", 2.2, T),  # fits, older
        snap("at-t-expired", 2.8, T, restorable=False),  # would fit, but expired
        snap("at-t", 2.5, T),  # fits: the newest restorable one
        snap("at-m", 3.5, M),  # after the target
    ]
    a = assess(HISTORY, T.sha, snaps, DOWNGRADE, NOW)
    rec = recommend(a)
    assert (rec.action, rec.snapshot) == ("restore", "at-t")
    text = " ".join(rec.reasons)
    assert "1 commit(s) between" in text and M.sha[:10] in text
    assert "data-loss window: 7 h 30 min" in text
    assert "restore time: under a minute (rough estimate from the size)" in text
    assert any("--data downgrade" in alt for alt in rec.alternatives)
    expired = next(p for p in a.pairings if p.snapshot.id == "at-t-expired")
    assert expired.expired and not expired.fits and expired.note.startswith("expired")
    decision = decide(a, rec, snapshot="auto", data=None)
    assert decision.action == "restore" and decision.pairing is not None
    assert decision.pairing.snapshot.id == "at-t"


def test_expired_by_date_is_excluded_even_when_the_provider_says_restorable() -> None:
    old = Snapshot("old", "local", T0, commit=T.sha, expires_at=NOW - timedelta(minutes=1))
    a = assess(HISTORY, T.sha, [old], NO_DOWNGRADE, NOW)
    assert a.pairings[0].expired and recommend(a).action == "none-fits"


def test_inferred_commit_is_labelled_everywhere() -> None:
    cloud = snap("cloud-1", 2.5, provider="magento-cloud", size=60_000_000_000)
    a = assess(HISTORY, T.sha, [cloud], NO_DOWNGRADE, NOW)
    p = a.pairings[0]
    assert (p.commit, p.source, p.fits) == (T.sha, "inferred", True)
    assert "(inferred)" in p.note
    rec = recommend(a)
    assert "(inferred)" in rec.reasons[1]
    assert any("rollback checkpoint" in r for r in rec.reasons)
    assert p.restore_seconds == 3600 and "documented" in p.estimate_basis  # 60 GB: about 1 h
    decision = decide(a, rec, snapshot="cloud-1", data=None)
    assert any("inferred" in r for r in decision.risks)


def test_no_snapshot_fits_but_a_downgrade_exists() -> None:
    a = assess(HISTORY, T.sha, [snap("at-m", 3.5, M), snap("at-a", 0.5, A)], DOWNGRADE, NOW)
    rec = recommend(a)
    assert rec.action == "downgrade"
    text = " ".join(rec.reasons)
    assert "1 taken after the target" in text and "1 with schema changes before" in text
    assert "before the code step" in text
    decision = decide(a, rec, snapshot="auto", data=None)
    assert decision.action == "downgrade" and decision.pairing is None


def test_nothing_fits_and_no_downgrade_offers_the_matching_code_target() -> None:
    a = assess(HISTORY, T.sha, [snap("at-m", 3.5, M)], NO_DOWNGRADE, NOW)
    rec = recommend(a)
    assert rec.action == "none-fits"
    assert any("Magento has no schema downgrade" in r for r in rec.reasons)
    assert f"rollback plan --to {M.sha[:10]} --snapshot at-m" in rec.alternatives[0]
    assert "--snapshot none" in rec.alternatives[-1]
    decision = decide(a, rec, snapshot="auto", data=None)
    assert decision.action == "none"
    assert "may not run against it" in decision.risks[0]
    with pytest.raises(RefusedError, match="no restorable snapshot fits"):
        decide(a, rec, snapshot="auto", data="restore")
    with pytest.raises(RefusedError, match="cannot downgrade: Magento"):
        decide(a, rec, snapshot=None, data="downgrade")


def test_no_snapshots_at_all() -> None:
    a = assess(HISTORY, T.sha, [], NO_DOWNGRADE, NOW)
    rec = recommend(a)
    assert rec.action == "none-fits" and "there are no snapshots" in rec.reasons[1]


def test_a_chosen_snapshot_that_does_not_fit_is_allowed_with_the_reverse_question() -> None:
    a = assess(HISTORY, T.sha, [snap("at-a", 0.5, A), snap("old", 0.2, A, restorable=False)],
               NO_DOWNGRADE, NOW)  # fmt: skip
    rec = recommend(a)
    decision = decide(a, rec, snapshot="at-a", data=None)
    assert decision.action == "restore"
    assert "does not fit" in decision.risks[0]
    assert f"rollback plan --to {A.sha[:10]} --snapshot at-a" in decision.risks[1]
    with pytest.raises(RefusedError, match="expired"):
        decide(a, rec, snapshot="old", data=None)
    with pytest.raises(UsageError, match="no snapshot 'nope'"):
        decide(a, rec, snapshot="nope", data=None)


@pytest.mark.parametrize(
    ("snapshot", "data", "message"),
    [
        ("at-a", "downgrade", "drop --snapshot ID"),
        ("none", "restore", "needs a snapshot"),
        (None, "sideways", "choose restore, downgrade or none"),
    ],
)
def test_contradictory_options_are_refused(snapshot: str | None, data: str, message: str) -> None:
    a = assess(HISTORY, T.sha, [snap("at-a", 0.5, A)], DOWNGRADE, NOW)
    with pytest.raises(UsageError, match=message):
        decide(a, recommend(a), snapshot=snapshot, data=data)


def test_data_none_and_snapshot_none_keep_the_data() -> None:
    a = assess(HISTORY, T.sha, [snap("at-t", 2.5, T)], DOWNGRADE, NOW)
    rec = recommend(a)
    assert decide(a, rec, snapshot="none", data=None).action == "none"
    assert decide(a, rec, snapshot="auto", data="none").action == "none"
    assert decide(a, rec, snapshot="none", data="downgrade").action == "downgrade"
    same = DowngradeFacts(False, False, (), "no migration changed")
    b = assess(HISTORY, M.sha, [], same, NOW)
    with pytest.raises(UsageError, match="nothing to downgrade"):
        decide(b, recommend(b), snapshot=None, data="downgrade")


def test_estimates_and_durations() -> None:
    assert estimate_restore(snap("s", 0, size=None)) == (None, "size unknown")
    seconds, basis = estimate_restore(snap("s", 0, size=500_000_000))
    assert seconds == 10 and basis.startswith("rough estimate")
    assert duration(30) == "under a minute"
    assert duration(3 * 3600 + 5 * 60) == "3 h 5 min"
    assert duration(2 * 86400 + 3600) == "2 d 1 h"


def test_json_times_are_utc_as_the_tables_say() -> None:
    from rollback.data.pairing.serialize import _pairing_dict

    seed_2018 = datetime(2018, 4, 9, 14, 43, 39, tzinfo=timezone(timedelta(hours=-5)))
    snapshot = Snapshot("s", "magento-cloud", seed_2018, expires_at=seed_2018 + timedelta(days=7))
    p = assess(HISTORY, T.sha, [snapshot], NO_DOWNGRADE, NOW).pairings[0]
    row = _pairing_dict(p)
    assert row["created_at"] == "2018-04-09T19:43:39+00:00"
    assert row["expires_at"] == "2018-04-16T19:43:39+00:00"
