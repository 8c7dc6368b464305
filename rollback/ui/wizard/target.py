"""Wizard step b: "roll back to what?" and step c: the strategy.

The history rows are the same annotated commits ``rollback log`` shows; shortcuts for tags
and the last checkpoint come first, then search by text and picking single commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rollback.ui.render import flags as commit_flags
from rollback.ui.wizard.prompts import Option, Prompter

if TYPE_CHECKING:
    from rich.console import Console

    from rollback.code.strategies import Choice
    from rollback.git.history import CommitInfo, History
    from rollback.ui.wizard.context import DataSide

SHORTCUT_TAGS = 5  # tag shortcuts offered above the history rows


@dataclass(frozen=True)
class Selection:
    """What the user chose to roll back: a target commit, or single commits to revert."""

    to: str | None = None  # a ref or sha
    label: str = ""  # how to name it to the user
    commits: tuple[str, ...] = ()  # revert-selected
    snapshot: str | None = None  # chosen through "last checkpoint": pair with that snapshot


def row_title(c: CommitInfo, width: int) -> str:
    """One history row fitted to ``width`` columns: sha, date, subject, refs, flags."""
    refs = " ".join([*(f"tag:{t}" for t in c.tags)])
    tail = " ".join(p for p in (refs, f"[{commit_flags(c)}]" if commit_flags(c) else "") if p)
    head = f"{c.short} {c.date:%m-%d %H:%M} "
    room = max(width - len(head) - len(tail) - 10, 12)  # 10: pointer, indent, two spaces
    subject = c.subject if len(c.subject) <= room else c.subject[: room - 1] + "…"
    return _fit(f"{head}{subject}" + (f"  {tail}" if tail else ""), width)


def _fit(text: str, width: int) -> str:
    room = max(width - 8, 20)  # the pointer and the indent of questionary's list
    return text if len(text) <= room else text[: room - 1] + "…"


def _rows(history: History, width: int) -> list[Option]:
    return [
        Option(
            # questionary adds "- " and " (current head)" to the disabled head row
            row_title(c, width - 17 if c.sha == history.head else width),
            ("to", c.sha, c.short),
            disabled="current head" if c.sha == history.head else None,
        )
        for c in history.commits
    ]


def choose_target(
    prompter: Prompter,
    history: History,
    data: DataSide,
    out: Console,
    deeper: Callable[[], History] | None = None,
) -> Selection:
    """Ask what to roll back to until the answer is a usable selection.

    ``deeper`` reads a longer history for a search that finds nothing in the listed rows.
    """
    width = min(out.width, 120)
    rows = _rows(history, width)
    shortcuts: list[Option] = []
    tagged = [c for c in history.commits if c.tags and c.sha != history.head]
    for c in tagged[:SHORTCUT_TAGS]:
        title = f"release {c.tags[0]}  ({c.short} {c.subject})"
        shortcuts.append(Option(_fit(title, width), ("to", c.sha, c.tags[0])))
    last = data.last_checkpoint
    commit = last.commit if last is not None else None
    if last and commit and commit != history.head and history.position(commit) is not None:
        title = f"last checkpoint {last.id}  (code at {commit[:10]}, with its data)"
        shortcuts.append(Option(_fit(title, width), ("checkpoint", commit, last.id)))
    menu = [
        *shortcuts,
        Option("Search by text…", ("search",)),
        Option("Pick single commits to revert (revert-selected)…", ("pick",)),
        *rows,
    ]
    while True:
        answer = prompter.select("Roll back to what?", menu, search=True)
        if answer[0] == "to":
            return Selection(to=answer[1], label=answer[2])
        if answer[0] == "checkpoint":
            return Selection(to=answer[1], label=f"checkpoint {answer[2]}", snapshot=answer[2])
        if answer[0] == "search":
            found = _search(prompter, history, rows, out, None if history.complete else deeper)
            if found is not None:
                return found
            continue
        picked = pick_commits(prompter, history.commits, width)
        if picked:
            return Selection(commits=picked, label=f"{len(picked)} selected commit(s)")
        out.print("nothing was picked", style="dim")


def _search(
    prompter: Prompter,
    history: History,
    rows: Sequence[Option],
    out: Console,
    deeper: Callable[[], History] | None = None,
) -> Selection | None:
    needle = prompter.text("Search commits (subject, author, sha or tag):").strip().lower()
    hits = _matching(needle, history, rows)
    if not hits and needle and deeper is not None:
        longer = deeper()  # the listed rows are only the newest commits: look further back
        hits = _matching(needle, longer, _rows(longer, min(out.width, 120)))
    if not hits:
        out.print(f"no commit matches {needle!r}", style="dim")
        return None
    answer = prompter.select(f"Commits matching {needle!r}:", hits)
    return Selection(to=answer[1], label=answer[2])


def _matching(needle: str, history: History, rows: Sequence[Option]) -> list[Option]:
    return [
        row
        for row, c in zip(rows, history.commits, strict=True)
        if row.disabled is None
        and needle
        and any(needle in s.lower() for s in (c.subject, c.author, c.sha, *c.tags))
    ]


def pick_commits(prompter: Prompter, commits: Sequence[CommitInfo], width: int) -> tuple[str, ...]:
    """A checkbox of commits; returns the chosen shas (any order: the planner sorts them)."""
    options = [Option(row_title(c, width), c.sha) for c in commits]
    return tuple(prompter.checkbox("Which commits should be reverted?", options))


def describe_undone(undone: Sequence[CommitInfo], out: Console) -> None:
    """What rolling back undoes: counts, the rows, and what each strategy risks."""
    from rollback.ui.lines import prose, show

    merges = sum(c.is_merge for c in undone)
    pushed = sum(bool(c.pushed) for c in undone)
    data = sum(c.touches_data for c in undone)
    width = min(out.width, 120)
    lines = [
        prose(
            f"Rolling back undoes {len(undone)} commit(s): {merges} merge(s), {pushed} pushed, "
            f"{data} changing the data schema"
        ),
        *(prose(row_title(c, width - 2), 2) for c in undone[:10]),
    ]
    if len(undone) > 10:
        lines.append(prose(f"... and {len(undone) - 10} more", 2))
    lines.append(
        prose(
            "Predicted conflicts: none (revert and restore of a range ending at the head apply "
            "cleanly)"
        )
    )
    if pushed:
        lines.append(
            prose(
                f"Rewritten history: park would rewrite {pushed} pushed commit(s) and need a "
                "force push; reset is not offered"
            )
        )
    show(out, lines)


def strategy_options(found: Sequence[Choice], width: int = 120) -> list[Option]:
    """The strategies as select options; the first allowed one is marked recommended.

    A reason cut to fit the terminal is shown whole under the list when highlighted.
    """
    options = []
    first = True
    for choice in found:
        if not choice.allowed:
            title = _fit(choice.strategy, width - len(choice.reason) - 4)
            options.append(Option(title, choice.strategy, disabled=choice.reason))
            continue
        mark = " (recommended)" if first else ""
        title = f"{choice.strategy}{mark}: {choice.reason}"
        whole = f"{choice.strategy}: {choice.reason}"
        options.append(Option(_fit(title, width), choice.strategy, description=whole))
        first = False
    return options
