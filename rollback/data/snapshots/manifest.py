"""``manifest.json``: what a local snapshot holds, written last and atomically.

A snapshot folder without a readable manifest is not a snapshot. The manifest records no
credentials: components describe themselves with ``ServiceURL.safe``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rollback.data.snapshots.components.base import Artifact
from rollback.errors import UsageError

FORMAT = 1
MANIFEST = "manifest.json"
ID = re.compile(r"^\d{8}-\d{6}(-[a-z0-9][a-z0-9-]*)?$")


class ManifestError(ValueError):
    """The manifest is missing or malformed."""


@dataclass(frozen=True)
class ComponentRecord:
    name: str
    kind: str
    describe: str  # e.g. "redis 127.0.0.1:6379/1"; never a password
    raw_bytes: int
    artifacts: tuple[Artifact, ...]
    server_version: str | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def size_bytes(self) -> int:
        return sum(a.size for a in self.artifacts)


@dataclass(frozen=True)
class Manifest:
    id: str
    created_at: datetime  # UTC
    components: tuple[ComponentRecord, ...]
    label: str | None = None
    commit: str | None = None
    branch: str | None = None
    tool_version: str = ""
    safety_for: str | None = None  # set on safety snapshots: the id whose restore it guards

    @property
    def size_bytes(self) -> int:
        return sum(c.size_bytes for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "label": self.label,
            "created_at": self.created_at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": self.commit,
            "branch": self.branch,
            "tool_version": self.tool_version,
            "safety_for": self.safety_for,
            "size_bytes": self.size_bytes,
            "components": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "describe": c.describe,
                    "raw_bytes": c.raw_bytes,
                    "size_bytes": c.size_bytes,
                    "server_version": c.server_version,
                    "details": c.details,
                    "artifacts": [
                        {"name": a.name, "size": a.size, "sha256": a.sha256} for a in c.artifacts
                    ],
                }
                for c in self.components
            ],
        }

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        try:
            if data["format"] != FORMAT:
                raise ManifestError(f"unknown manifest format {data['format']!r}")
            created = datetime.strptime(data["created_at"], "%Y-%m-%dT%H:%M:%SZ")
            comps = tuple(
                ComponentRecord(
                    name=str(c["name"]),
                    kind=str(c["kind"]),
                    describe=str(c["describe"]),
                    raw_bytes=int(c["raw_bytes"]),
                    server_version=c.get("server_version"),
                    details={str(k): str(v) for k, v in (c.get("details") or {}).items()},
                    artifacts=tuple(
                        Artifact(_artifact_name(a["name"]), int(a["size"]), str(a["sha256"]))
                        for a in c["artifacts"]
                    ),
                )
                for c in data["components"]
            )
            return cls(
                id=check_id(str(data["id"])),
                created_at=created.replace(tzinfo=timezone.utc),
                components=comps,
                label=data.get("label"),
                commit=data.get("commit"),
                branch=data.get("branch"),
                tool_version=str(data.get("tool_version", "")),
                safety_for=data.get("safety_for"),
            )
        except ManifestError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, UsageError) as exc:
            raise ManifestError(f"malformed manifest: {type(exc).__name__}: {exc}") from exc


def _artifact_name(name: Any) -> str:
    # artifact names are single file names: a manifest must never point outside its folder
    text = str(name)
    if not text or "/" in text or "\\" in text or text in (".", "..") or text == MANIFEST:
        raise ManifestError(f"bad artifact name {text!r}")
    return text


def check_id(text: str) -> str:
    """Return ``text`` if it is a well-formed snapshot id, else raise UsageError."""
    if not ID.match(text):
        raise UsageError(
            f"{text!r} is not a snapshot id",
            hint="ids look like 20261122-154200-before-deploy; see `rollback snapshot list`",
        )
    return text


def slug(label: str | None, limit: int = 40) -> str:
    """A file-name-safe form of ``label``: lowercase letters, digits and dashes."""
    text = re.sub(r"[^a-z0-9]+", "-", (label or "").lower()).strip("-")
    return text[:limit].strip("-")


def new_id(now: datetime, label: str | None, taken: set[str]) -> str:
    """A sortable, readable id such as ``20261122-154200-before-deploy``."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = f"{stamp}-{slug(label) or secrets.token_hex(3)}"
    candidate = base
    while candidate in taken:
        candidate = f"{base}-{secrets.token_hex(2)}"
    return candidate


def fsync_dir(path: Path) -> None:
    """Make a folder's entries (creations, renames) durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """fsync every file and folder below ``path`` (folders after their entries)."""
    for dirpath, _dirs, files in os.walk(path, topdown=False):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write ``folder/manifest.json`` durably: temp file, fsync, rename, fsync folder."""
    tmp = folder / f".{MANIFEST}.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(manifest.to_dict(), fh, indent=2, ensure_ascii=False)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MANIFEST)
    fsync_dir(folder)


def read_manifest(folder: Path) -> Manifest:
    """Read ``folder/manifest.json``; raise ManifestError when missing or malformed."""
    try:
        text = (folder / MANIFEST).read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"no manifest: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ManifestError(f"manifest is not JSON: {exc}") from exc
    return Manifest.from_dict(data)
