"""Everything a user reads: rich consoles, tables, panels, and the text/Markdown plan forms.

Rendering respects NO_COLOR (rich does) and the terminal width; nothing here touches git.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from rollback.git.history import CommitInfo, History
    from rollback.plan import Plan
    from rollback.run.journal import Journal
    from rollback.ui.lines import Line


class _Output:
    quiet = False  # --quiet: no progress, notes or hints; results and errors still print


def set_quiet(value: bool) -> None:
    _Output.quiet = value


def is_quiet() -> bool:
    return _Output.quiet


def console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def error_console() -> Console:
    """stderr: errors (always) and progress."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def notice_console() -> Console:
    """stderr for notes and hints: silent under --quiet."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True, quiet=_Output.quiet)


# -- history -----------------------------------------------------------------------------------


def _marked(c: CommitInfo, checkpoints: dict[str, list[str]]) -> list[str]:
    """The checkpoints that recorded ``c`` (a listing may shorten the sha)."""
    return [i for sha, ids in checkpoints.items() if c.sha.startswith(sha) for i in ids]


def history_table(
    history: History, width: int = 80, checkpoints: dict[str, list[str]] | None = None
) -> Table:
    """The annotated first-parent history as a rich table, fitted to ``width`` columns.

    The sha, date and flags keep their full width: they are what a user copies and scans.
    Tags and branch heads lead the subject, as in ``git log --decorate``. On a narrow
    terminal the author gives way first (down to 8, then dropped), then the subject, which
    ends in an ellipsis.
    """
    from rich.table import Table

    marks = checkpoints or {}
    rows = [(c, flags(c, checkpoint=bool(_marked(c, marks)))) for c in history.commits]
    sha_w = max([len(c.short) for c in history.commits] or [6])
    flags_w = max([len(f) for _, f in rows] + [5])
    author_w = min(18, max([len(c.author) for c in history.commits] + [6]))
    gap = 2  # between columns: no box, one space of padding each side
    fixed = sha_w + 16 + flags_w + 4 * gap
    subject_w = width - fixed - author_w
    if subject_w < 30:  # the subject says what a commit did: it outranks its author
        author_w = max(8, author_w - (30 - subject_w))
        subject_w = width - fixed - author_w
    show_author = subject_w >= 30
    if not show_author:
        subject_w = width - fixed + gap

    # the header line names the branch and its upstream: decorate with the other refs only
    known = {history.branch, history.upstream}
    subjects = [_decorated(c, known) for c in history.commits]
    subject_w = min(subject_w, max([len(t) for t in subjects] + [7]))  # no trailing blanks
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("commit", no_wrap=True, style="yellow", width=sha_w)
    table.add_column("date", no_wrap=True, width=16)
    if show_author:
        table.add_column("author", no_wrap=True, width=author_w, overflow="ellipsis")
    table.add_column("subject", no_wrap=True, width=max(subject_w, 1), overflow="ellipsis")
    table.add_column("flags", no_wrap=True, width=flags_w)
    for (c, flag), subject in zip(rows, subjects, strict=True):
        date = c.date.astimezone().strftime("%Y-%m-%d %H:%M")
        cells: list[str | Text] = [c.short, date, *([c.author] if show_author else [])]
        table.add_row(*cells, subject, flag)
    return table


def _decorated(c: CommitInfo, skip: set[str | None]) -> Text:
    """The subject led by the commit's tags and branch heads, as ``git log --decorate``."""
    from rich.text import Text

    refs = ", ".join([*(f"tag: {t}" for t in c.tags), *(b for b in c.branches if b not in skip)])
    return Text.assemble((f"({refs}) ", "cyan") if refs else "", c.subject)


def flags(c: CommitInfo, *, checkpoint: bool = False) -> str:
    parts = []
    if c.is_merge:
        parts.append("merge")
    if c.pushed is True:
        parts.append("pushed")
    elif c.pushed is False:
        parts.append("local")
    if c.touches_data:
        parts.append("data")
    if checkpoint:
        parts.append("checkpoint")
    return " ".join(parts)


def history_json(
    history: History, checkpoints: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    marks = checkpoints or {}
    return {
        "branch": history.branch,
        "head": history.head,
        "upstream": history.upstream,
        "presets": list(history.presets),
        "complete": history.complete,
        "commits": [
            {
                "sha": c.sha,
                "parents": list(c.parents),
                "date": c.date.isoformat(),
                "author": c.author,
                "email": c.email,
                "subject": c.subject,
                "tags": list(c.tags),
                "branches": list(c.branches),
                "merge": c.is_merge,
                "pushed": c.pushed,
                "touches_data": c.touches_data,
                "data_files": list(c.data_files),
                "checkpoints": _marked(c, marks),
            }
            for c in history.commits
        ],
    }


# -- plans -------------------------------------------------------------------------------------

SHOWN_COMMITS = 20
ALL_PARTS = frozenset({"commits", "data"})


def plan_lines(plan: Plan, *, shown: frozenset[str] = frozenset()) -> list[Line]:
    """The plan for a terminal: header, commits, the data recommendation, steps, risks, undo.

    ``shown``: parts the user has already seen on this screen (the wizard shows the undone
    commits and the data assessment before it asks): each is summed up in one line instead of
    being printed twice.
    """
    from rollback.ui.lines import blank, command, item, prose

    named = "" if plan.target.startswith(plan.target_ref) else f" ({plan.target_ref})"
    lines = [
        prose(f"Rollback plan {plan.id}: {plan.strategy} on {plan.branch}", style="bold"),
        prose(f"from {plan.head[:10]} (current head) to {plan.target[:10]}{named}", 2),
    ]
    verb = "reverted" if plan.strategy == "revert-selected" else "undone"
    if "commits" in shown:
        lines.append(prose(f"{len(plan.commits)} commit(s) {verb}, as listed above", 2))
    else:
        lines += [blank(), prose(f"Commits {verb} ({len(plan.commits)}):")]
        for c in plan.commits[:SHOWN_COMMITS]:
            marks = [m for m, on in (("[merge]", c.merge), ("[data]", c.touches_data)) if on]
            lines.append(prose(" ".join([c.sha[:10], c.subject, *marks]), 2, hang=11))
        if len(plan.commits) > SHOWN_COMMITS:
            lines.append(prose(f"... and {len(plan.commits) - SHOWN_COMMITS} more", 2))
    if plan.data:
        from rollback.ui.render_pairing import data_lines, decision_line

        if "data" in shown:
            lines.append(prose(decision_line(plan.data), 2))
        else:  # the recommendation before the steps that carry it out
            lines += [text_line(text) for text in data_lines(plan.data)]
    lines += [blank(), prose("Steps:")]
    for i, step in enumerate(plan.steps, 1):
        lines.append(prose(f"{i}. {step.title}", 2, hang=3))
        for cmd in step.commands:  # "# ...": a remark, not something to type
            lines.append(prose(f"({cmd[2:]})", 5) if cmd.startswith("# ") else command(cmd, 5))
    if plan.conflicts:
        lines += [blank(), prose("Predicted conflicts:")]
        for sha, files in plan.conflicts.items():
            lines.append(prose(f"{sha[:10]}: {', '.join(files)}", 2, hang=12))
    lines += [blank(), prose("Risks:")]
    lines += [x for r in plan.risks for x in item(r)] or [prose("- none found", 2)]
    lines += [blank(), prose("Undo:")]
    lines += [x for u in plan.undo for x in item(u)]
    return lines


def text_line(text: str) -> Line:
    """A pre-formatted text line (``render_pairing``): its leading spaces are its indent."""
    from rollback.ui.lines import prose

    body = text.lstrip(" ")
    hang = 2 if body.startswith("- ") else 4
    return prose(body, len(text) - len(body), hang=hang)


def plan_text(plan: Plan, width: int | None = None) -> str:
    """The plan as plain text; prose folded to ``width`` (None: one line per item)."""
    from rollback.ui.lines import render

    return render(plan_lines(plan), width)


def status_text(journal: Journal) -> str:
    plan = journal.plan
    lines = [
        f"Rollback {plan.id}: {plan.strategy} on {plan.branch} -- {journal.status}",
        f"  started {journal.started_at}"
        + (f", finished {journal.finished_at}" if journal.finished_at else ""),
    ]
    if journal.error:
        lines.append(f"  error: {journal.error}")
    for i, step in enumerate(plan.steps):
        state = next((s["status"] for s in journal.steps if s["index"] == i), "pending")
        mark = {"done": "[x]", "started": "[~]"}.get(state, "[ ]")
        lines.append(f"  {mark} {i + 1}. {step.title}")
    lines.append(f"  safety ref: {plan.safety_ref} -> {plan.head[:10]}")
    if journal.status in ("running", "stopped"):
        lines.append("  next: rollback resume  (or: rollback abort)")
    elif journal.status == "completed":
        lines.append(f"  undo: rollback undo {plan.id}")
    return "\n".join(lines) + "\n"
