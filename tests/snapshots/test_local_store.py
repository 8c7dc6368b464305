"""The store's guarantees: atomic creation, lock, retention, corruption, prune, failed restore."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import DumpResult
from rollback.data.snapshots.components.files import FilesComponent
from rollback.data.snapshots.local import LocalStore
from rollback.errors import OperationError, RefusedError, UsageError
from tests.snapshots.localstore import make_store


def _store(tmp_path: Path, **local: object) -> LocalStore:
    root = tmp_path / "shop"
    (root / "var").mkdir(parents=True, exist_ok=True)
    (root / "var" / "data.txt").write_text("v1\n")
    return make_store(root, paths=["var"], **local)


class Exploding:
    """A component whose dump fails after writing part of an artifact."""

    kind = "sqlite"
    name = "exploding"

    def describe(self) -> str:
        return "exploding test component"

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        (dest / "half.zst").write_bytes(b"partial")
        raise RuntimeError("disk full (simulated)")

    def check_restore(self, src: Path) -> None:
        pass

    def restore(self, src: Path, progress: Progress) -> None:
        raise RuntimeError("server went away (simulated)")

    def verify(self, src: Path) -> list[str]:
        return []


def test_ids_are_sortable_and_list_is_newest_first(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first = store.create("Before Deploy!")
    second = store.create()
    assert first.id.endswith("-before-deploy")
    assert len(second.id.split("-")[-1]) == 6  # 6 hex when there is no label
    assert [s.id for s in store.list()] == [second.id, first.id] or (
        first.created_at == second.created_at
    )
    data = json.loads((store.store / first.id / "manifest.json").read_text())
    assert data["label"] == "Before Deploy!"
    assert data["created_at"].endswith("Z")
    art = data["components"][0]["artifacts"][0]
    assert len(art["sha256"]) == 64 and art["size"] > 0
    assert data["size_bytes"] == first.size_bytes
    assert first.expires_at == first.created_at + timedelta(days=7)


def test_failing_dump_leaves_no_snapshot_and_keeps_older_ones(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good = store.create("good")
    broken = LocalStore(
        store.settings, [FilesComponent(store.settings.root, ("var",)), Exploding()]
    )
    with pytest.raises(OperationError, match="exploding: RuntimeError: disk full"):
        broken.create("bad")
    assert [s.id for s in store.list()] == [good.id]
    assert sorted(p.name for p in store.store.iterdir()) == [".gitignore", good.id]
    assert store.verify(good.id).ok


def test_killed_run_leftovers_are_ignored_by_list_and_removed_by_prune(tmp_path: Path) -> None:
    store = _store(tmp_path)
    good = store.create("good")
    leftover = store.store / ".tmp-20260101-000000-killed-abc123"
    (leftover / "files").mkdir(parents=True)
    assert [s.id for s in store.list()] == [good.id]
    assert store.prune() == [leftover.name]
    assert not leftover.exists()
    assert [s.id for s in store.list()] == [good.id]


def test_corrupted_artifact_fails_verify_and_restore_refuses(tmp_path: Path) -> None:
    store = _store(tmp_path)
    snap = store.create("v1")
    art = next((store.store / snap.id / "files").glob("*.tar.zst"))
    data = bytearray(art.read_bytes())
    data[len(data) // 2] ^= 0xFF
    art.write_bytes(bytes(data))
    result = store.verify(snap.id)
    assert not result.ok
    assert "checksum mismatch" in result.problems[0]
    (store.settings.root / "var" / "data.txt").write_text("v2\n")
    with pytest.raises(RefusedError, match="corrupted"):
        store.restore(snap.id)
    assert (store.settings.root / "var" / "data.txt").read_text() == "v2\n"
    assert len(store.list()) == 1  # no safety snapshot taken for a refused restore


def test_expired_snapshot_is_refused_and_pruned(tmp_path: Path) -> None:
    store = _store(tmp_path)
    snap = store.create("old")
    later = LocalStore(store.settings, clock=lambda: datetime.now(timezone.utc) + timedelta(days=8))
    assert later.list()[0].restorable is False
    with pytest.raises(RefusedError, match="expired"):
        later.restore(snap.id)
    assert later.prune() == [snap.id]
    assert later.list() == []


def test_zero_retention_expires_at_once(tmp_path: Path) -> None:
    store = _store(tmp_path, retention_days=0)
    snap = store.create()
    assert not store.get(snap.id).restorable


def test_unknown_and_malformed_ids_are_usage_errors(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with pytest.raises(UsageError, match="no snapshot"):
        store.restore("20200101-000000-nope")
    with pytest.raises(UsageError, match="not a snapshot id"):
        store.verify("../../etc")


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from rollback.data.snapshots.lock import store_lock
with store_lock(Path(sys.argv[1]), "rollback snapshot create (test holder)"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_process_holding_the_lock_refuses_operations(tmp_path: Path) -> None:
    store = _store(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(store.store)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(RefusedError, match=f"pid {holder.pid}") as info:
            store.create("second")
        assert "test holder" in str(info.value)
        assert store.list() == []
    finally:
        holder.kill()
        holder.wait()
    # the killed holder left its lock behind: reported as stale, with how to remove it
    with pytest.raises(RefusedError, match="stale") as info:
        store.create("third")
    assert info.value.hint is not None and f"rm {store.store / 'lock'}" in info.value.hint
    (store.store / "lock").unlink()
    assert store.create("fourth").label == "fourth"


def test_failed_restore_keeps_the_safety_snapshot_and_names_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    flaky = _FailsOnce()
    # files restore first, then the second component fails
    failing = LocalStore(store.settings, [FilesComponent(store.settings.root, ("var",)), flaky])
    snap = failing.create("v1")
    (store.settings.root / "var" / "data.txt").write_text("changed\n")
    with pytest.raises(OperationError) as info:
        failing.restore(snap.id)
    safety = [s for s in failing.list() if s.extra.get("safety_for") == snap.id]
    assert len(safety) == 1
    assert f"restore of {snap.id} failed in exploding" in str(info.value)
    assert f"safety snapshot {safety[0].id}" in str(info.value)
    assert info.value.hint == (
        "to get back to the state before this restore, run: "
        f"rollback snapshot restore {safety[0].id}"
    )
    assert (store.settings.root / "var" / "data.txt").read_text() == "v1\n"  # half restored
    # following the hint brings back exactly the state from before the restore
    failing.restore(safety[0].id, safety=False)
    assert (store.settings.root / "var" / "data.txt").read_text() == "changed\n"


class _FailsOnce(Exploding):
    """Dumps fine, fails on its first restore only."""

    def __init__(self) -> None:
        self.failed = False

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        return DumpResult((), 0)

    def restore(self, src: Path, progress: Progress) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("server went away (simulated)")


def test_no_safety_snapshot_is_recorded(tmp_path: Path) -> None:
    store = _store(tmp_path)
    snap = store.create()
    result = store.restore(snap.id, safety=False)
    assert result.safety_snapshot is None and result.skipped_safety
    assert len(store.list()) == 1


class FailingTool(Exploding):
    """A component whose dump tool exits non-zero (the runner's ProcessError)."""

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        from rollback import proc

        proc.run([sys.executable, "-c", "import sys; sys.exit('dump tool: access denied')"])
        raise AssertionError("unreachable")


def test_a_dump_tool_exiting_non_zero_names_the_component(tmp_path: Path) -> None:
    from rollback.proc import ProcessError

    store = _store(tmp_path)
    failing = LocalStore(store.settings, [FailingTool()])
    with pytest.raises(ProcessError) as info:
        failing.create()
    assert str(info.value).startswith("exploding: ")
    assert "access denied" in str(info.value) and "access denied" in info.value.stderr
    assert info.value.hint == "no snapshot was created; existing snapshots are untouched"
    assert store.list() == []
