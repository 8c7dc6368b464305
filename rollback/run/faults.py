"""Test hook: kill this process with SIGKILL at a named point of a run.

``ROLLBACK_FAULT=after-step-2`` (or ``running:move-ref``, ``undoing:move-tree``, ...; several
names separated by commas) makes the kill-point sweep in tests/test_kills.py deterministic.
Unset, a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def point(name: str) -> None:
    wanted = os.environ.get("ROLLBACK_FAULT")
    if wanted and name in wanted.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
