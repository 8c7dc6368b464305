"""A dump killed half-way leaves no snapshot; SIGTERM cleans up, SIGKILL leaves only leftovers."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rollback.errors import RefusedError
from tests.snapshots.localstore import make_store

SLOW_DUMP = """
import sys, time
from pathlib import Path
from rollback.config import load_config
from rollback.data.snapshots.local import LocalStore
from rollback.data.snapshots.lock import sigterm_as_interrupt

class Slow:
    kind = "sqlite"
    name = "slow"
    def describe(self): return "slow"
    def dump(self, dest, progress):
        (dest / "part.zst").write_bytes(b"half written")
        print("dumping", flush=True)
        time.sleep(60)

base = LocalStore.from_config(load_config(Path(sys.argv[1])))
store = LocalStore(base.settings, [*base.components, Slow()])
with sigterm_as_interrupt():
    store.create("killed")
"""


def _start(root: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_DUMP, str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "dumping\n"
    return proc


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_dump_leaves_no_snapshot(tmp_path: Path, sig: signal.Signals) -> None:
    root = tmp_path / "shop"
    (root / "var").mkdir(parents=True)
    (root / "var" / "a.txt").write_text("a")
    store = make_store(root, paths=["var"])
    older = store.create("older")

    proc = _start(root)
    proc.send_signal(sig)
    proc.wait(timeout=30)

    assert [s.id for s in store.list()] == [older.id]
    assert store.verify(older.id).ok
    leftovers = sorted(p.name for p in store.store.glob(".tmp-*"))
    if sig == signal.SIGTERM:
        assert leftovers == []  # cleaned on the way out, and the lock released
        assert not (store.store / "lock").exists()
        return
    assert len(leftovers) == 1 and "killed" in leftovers[0]
    with pytest.raises(RefusedError, match="stale"):
        store.prune()
    (store.store / "lock").unlink()
    assert store.prune() == leftovers
    assert [s.id for s in store.list()] == [older.id]
