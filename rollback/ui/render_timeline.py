"""The timeline as a person sees it: a time axis in the terminal (fits 80 columns), a Mermaid
diagram in the Markdown runbook (GitHub and GitLab draw it), and JSON for scripts.

Newest first, one day header per day, times in UTC. Ids and shas are never cut: a line that
names a snapshot or a run starts with its id; the facts about it follow on the next line.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rollback.ui.lines import Line, fit_words, prose

if TYPE_CHECKING:
    from rich.console import Console

    from rollback.data.timeline import Event, Timeline

GLYPHS = {
    "run": "↺",
    "mark": "◇",
    "checkpoint": "■",
    "snapshot": "□",
    "release": "◆",
    "migration": "▲",
    "commit": "·",
}
ASCII = {
    "run": "R",
    "mark": "m",
    "checkpoint": "#",
    "snapshot": "o",
    "release": "*",
    "migration": "^",
    "commit": ".",
}
STYLES = {
    "run": "magenta",
    "mark": "cyan",
    "checkpoint": "green",
    "snapshot": "green",
    "release": "bold yellow",
    "migration": "red",
    "commit": None,
}
GUTTER = 19  # "HH:MM g label      "


def _target_name(t: Timeline) -> str:
    return "HEAD" if t.target_ref == "HEAD" else f"{t.target_ref} ({t.target[:10]})"


def _code(e: Event) -> str:
    tags = " ".join(e.facts.get("tags") or [])
    migration = " (migration)" if e.facts.get("migration_files") and e.kind == "release" else ""
    return f"{e.ref[:10]} {tags + ' ' if tags else ''}{e.title}{migration}"


def _data_facts(e: Event, t: Timeline) -> str:
    f = e.facts
    parts = []
    if f.get("expired"):
        parts.append("expired")
    else:
        fits = "fits" if f.get("fits") else "does not fit"
        parts.append(f"{fits} {_target_name(t)}")
        if f.get("expires_at"):
            parts.append(f"restorable until {str(f['expires_at'])[:10]}")
    if e.commit:
        parts.append(f"code {e.commit[:10]} ({f.get('commit_source')})")
    if f.get("safety_for"):
        parts.append(f"taken before rollback {f['safety_for']}")
    elif e.title:
        parts.append(f"label {e.title}")
    return "; ".join(parts)


def timeline_lines(t: Timeline, width: int, *, unicode: bool = True) -> list[Line]:
    """The axis, newest first, fitted to ``width`` columns."""
    glyphs = GLYPHS if unicode else ASCII
    where = t.branch or "detached HEAD"
    lines = [
        prose(
            f"{where} at {t.head[:10]}: snapshots fit {_target_name(t)}? (times in UTC)",
            style="bold",
        ),
        prose("  ".join(f"{glyphs[k]} {k}" for k in GLYPHS), style="dim"),
    ]
    day = None
    room = max(width - GUTTER, 20)
    for e in t.events:
        if e.at.date() != day:
            day = e.at.date()
            rule = "─" if unicode else "-"
            lines.append(
                Line(
                    f"{rule * 2} {day:%a %Y-%m-%d} {rule * max(width - 20, 2)}"[:width], style="dim"
                )
            )
        head = f"{e.at:%H:%M} {glyphs[e.kind]} {e.kind:<10} "
        style = STYLES[e.kind]
        if e.kind in ("release", "migration", "commit"):
            text = _code(e)
            if e.ref == t.target and t.target_ref != "HEAD":
                text = f"{e.ref[:10]} ◀ target {text[11:]}"
            lines.append(Line(head + fit_words(text, room), style=style))
        elif e.kind == "run":
            lines.append(Line(head + e.ref, style=style, whole=True))
            lines.append(Line(" " * GUTTER + fit_words(e.title, room), style=style))
        else:
            lines.append(Line(head + e.ref, style=style, whole=True))
            lines.append(prose(_data_facts(e, t), GUTTER, hang=2, style="dim"))
    if not t.complete:
        lines.append(prose("... older history not shown (--limit)", style="dim"))
    lines += [prose(f"note: {n}", style="yellow") for n in t.notes]
    return lines


def show_timeline(out: Console, t: Timeline) -> None:
    from rollback.ui.lines import show

    unicode = (out.encoding or "").lower().startswith("utf")
    show(out, timeline_lines(t, min(out.width, 120), unicode=unicode))


# -- Mermaid ----------------------------------------------------------------------------------

MERMAID_KINDS = ("run", "mark", "checkpoint", "snapshot", "release", "migration")
MERMAID_MAX = 40  # events drawn; a runbook is read by people


def _clean(text: str) -> str:
    """Mermaid timeline splits on ':' and reads '#' and ';' as entities: keep them out."""
    return re.sub(r"\s+", " ", re.sub(r"[:#;]", " ", text)).strip()


def timeline_mermaid(t: Timeline) -> list[str]:
    """A Mermaid ``timeline`` diagram: one section per day, one period per minute (UTC)."""
    events = [e for e in t.events if e.kind in MERMAID_KINDS][:MERMAID_MAX]
    where = t.branch or "HEAD"
    lines = [
        "```mermaid",
        "timeline",
        f"    title {_clean(where)} - releases, migrations, snapshots and rollbacks (UTC)",
    ]
    day = None
    period = None
    for e in reversed(events):  # oldest first, as a timeline reads
        if e.at.date() != day:
            day = e.at.date()
            lines.append(f"    section {day:%Y-%m-%d}")
            period = None
        if e.kind in ("release", "migration"):
            what = _code(e)
        elif e.kind == "run":
            what = f"rollback {e.ref} {e.title}"
        else:
            fits = (
                "expired"
                if e.facts.get("expired")
                else ("fits" if e.facts.get("fits") else "does not fit")
            )
            what = f"{e.kind} {e.ref} ({fits} {_target_name(t)})"
        stamp = f"{e.at:%H.%M}"
        if stamp == period:
            lines.append(f"        {' ' * len(stamp)} : {_clean(what)}")
        else:
            lines.append(f"        {stamp} : {_clean(what)}")
            period = stamp
    lines.append("```")
    return lines


def timeline_markdown(t: Timeline) -> list[str]:
    """The runbook section: the diagram, then the same facts as a list (for a plain viewer)."""
    lines = ["", "## Timeline", "", *timeline_mermaid(t), ""]
    for e in [e for e in t.events if e.kind in MERMAID_KINDS][:MERMAID_MAX]:
        lines.append(f"- {e.at:%Y-%m-%d %H:%M} {e.kind}: `{e.ref}` {e.title}".rstrip())
    lines += [f"- Note: {n}" for n in t.notes]
    return lines


# -- JSON -------------------------------------------------------------------------------------


def timeline_json(t: Timeline) -> dict[str, Any]:
    return {
        "branch": t.branch,
        "head": t.head,
        "target": t.target,
        "target_ref": t.target_ref,
        "complete": t.complete,
        "notes": list(t.notes),
        "events": [
            {
                "at": e.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kind": e.kind,
                "ref": e.ref,
                "title": e.title,
                "commit": e.commit,
                **e.facts,
            }
            for e in t.events
        ],
    }
