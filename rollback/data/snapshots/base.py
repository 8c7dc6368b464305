"""The provider protocol and the values every provider returns.

A provider lists, creates, restores, verifies and deletes snapshots. Callers never know which
provider they talk to; they see only ``Snapshot`` values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# progress(component, done_bytes, total_bytes_or_None); providers call it as work advances.
Progress = Callable[[str, int, "int | None"], None]


def no_progress(component: str, done: int, total: int | None) -> None:
    """The default progress callback: says nothing."""


@dataclass(frozen=True)
class Snapshot:
    """One snapshot as a provider reports it.

    ``commit`` is the git commit recorded when the snapshot was taken (local manifests,
    ``rollback checkpoint``, magento-cloud's ``commit_id``), or None when nothing was recorded;
    pairing then infers one and labels it "inferred".
    """

    id: str
    provider: str
    created_at: datetime  # timezone-aware
    label: str | None = None
    commit: str | None = None
    branch: str | None = None
    restorable: bool = True
    expires_at: datetime | None = None
    size_bytes: int | None = None
    components: tuple[str, ...] = ()
    status: str = "complete"
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    # bytes this snapshot added to its storage, where that differs from its size (restic
    # stores only chunks it does not hold yet); None when the provider cannot tell
    added_bytes: int | None = None


@dataclass(frozen=True)
class RestoreResult:
    snapshot: Snapshot
    safety_snapshot: Snapshot | None  # None only when the user declined it explicitly
    skipped_safety: bool = False


@dataclass(frozen=True)
class VerifyResult:
    snapshot_id: str
    ok: bool
    problems: tuple[str, ...] = ()


class Provider(Protocol):
    name: str

    def list(self) -> list[Snapshot]: ...

    def create(
        self,
        label: str | None = None,
        *,
        live: bool = True,
        commit: str | None = None,
        branch: str | None = None,
        progress: Progress = no_progress,
    ) -> Snapshot: ...

    def restore(
        self,
        snapshot_id: str,
        *,
        safety: bool = True,
        progress: Progress = no_progress,
    ) -> RestoreResult: ...

    def verify(self, snapshot_id: str) -> VerifyResult: ...

    def delete(self, snapshot_id: str) -> None: ...
