"""How a rollback snapshot lives in restic: a set of restic snapshots tied by tags.

Every part carries ``rollback``, ``rollback-id=<id>`` and ``rollback-part=<component>``; the
manifest part (written last) also carries the label, commit, branch, safety origin,
components and sizes, percent-encoded (restic splits tags at commas), so one ``restic
snapshots`` call lists everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, unquote

TAG = "rollback"
MANIFEST = "manifest"


@dataclass
class Part:
    restic_id: str
    time: datetime
    host: str
    tags: dict[str, str]


@dataclass
class SnapshotSet:
    id: str
    parts: dict[str, Part] = field(default_factory=dict)

    @property
    def manifest(self) -> Part | None:
        return self.parts.get(MANIFEST)

    def ids(self) -> list[str]:
        return [p.restic_id for p in self.parts.values()]


def parse_sets(listing: Any) -> dict[str, SnapshotSet]:
    """The sets in a ``restic snapshots --json`` document; foreign snapshots are skipped."""
    found: dict[str, SnapshotSet] = {}
    for item in listing if isinstance(listing, list) else []:
        if not isinstance(item, dict):
            continue
        tags = decode_tags(item.get("tags") or [])
        sid, part = tags.get("rollback-id"), tags.get("rollback-part")
        if not sid or not part:
            continue
        found.setdefault(sid, SnapshotSet(sid)).parts[part] = Part(
            str(item["id"]), restic_time(str(item["time"])), str(item.get("hostname", "")), tags
        )
    return found


def part_tags(sid: str, part: str, extra: dict[str, str | None] | None = None) -> list[str]:
    """``--tag`` arguments of one part of set ``sid``."""
    tags = [TAG, f"rollback-id={sid}", f"rollback-part={part}"]
    tags += [f"{k}={quote(v, safe='')}" for k, v in (extra or {}).items() if v]
    args: list[str] = []
    for tag in tags:
        args += ["--tag", tag]
    return args


def decode_tags(raw: list[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in raw:
        key, sep, value = str(tag).partition("=")
        if sep:
            out[key] = unquote(value)
    return out


def restic_time(text: str) -> datetime:
    """restic's times (nanoseconds and an offset: ``2026-12-02T18:31:21.629841116+01:00``)."""
    head, _, rest = text.partition(".")
    if not rest:  # no fraction: the offset follows the seconds
        head, rest = text[:19], text[19:]
    offset = ""
    for sign in ("Z", "+", "-"):
        if sign in rest:
            offset = rest[rest.index(sign) :]
            break
    stamp = datetime.fromisoformat(head + (offset.replace("Z", "+00:00") or "+00:00"))
    return stamp.astimezone(timezone.utc)


def as_int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
