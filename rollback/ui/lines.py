"""Text that fits the terminal, and commands that paste.

Everything a person reads is a list of ``Line`` values. Prose folds at word boundaries, its
continuation lines indented under it (never ``(Magento has no s``); a command a person may type
is printed whole on a line of its own after ``$ ``, never folded, whatever the width: pasting
that line runs exactly that command. The terminal may soft-wrap a long command, which copies
back as one line; rich is never allowed to insert a newline into it.

Inline commands in plan texts (``Plan.undo``) are written as Markdown code spans; an item
that starts with one ("`rollback undo ID`: what it does") shows the command on its own ``$``
line and the explanation under it.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

_LEADING_COMMAND = re.compile(r"^`([^`]+)`:?\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Line:
    """One logical line: prose (folded to the width) or a command (never folded)."""

    text: str
    indent: int = 0
    hang: int = 2  # continuation lines of prose are indented this much more
    command: bool = False
    style: str | None = None
    note: str = ""  # a command's role, printed after it as a shell comment ("# undo")
    whole: bool = False  # never folded (a row that starts with an id)


def prose(text: str, indent: int = 0, *, hang: int = 2, style: str | None = None) -> Line:
    return Line(text, indent, hang, False, style)


def command(text: str, indent: int = 0, *, note: str = "") -> Line:
    """A command a person may type: printed as ``$ text`` on its own line.

    ``note`` follows as a shell comment (``$ git reset --keep abc  # undo``): the line still
    pastes and runs as it is.
    """
    return Line(text, indent, 0, True, None, note)


def blank() -> Line:
    return Line("")


def item(text: str, indent: int = 2, *, bullet: str = "- ") -> list[Line]:
    """A list item that may name commands as code spans.

    "`cmd`: explanation" becomes the command on its own line and the explanation under it;
    any other code span stays inline, without its backticks.
    """
    found = _LEADING_COMMAND.match(text)
    if found:
        cmd, rest = found.group(1), found.group(2).strip()
        lines = [command(cmd, indent)]
        if rest:
            lines.append(prose(strip_ticks(rest), indent + 2, hang=0))
        return lines
    return [prose(f"{bullet}{strip_ticks(text)}", indent, hang=len(bullet))]


def strip_ticks(text: str) -> str:
    return re.sub(r"`([^`]*)`", r"\1", text)


def fold(lines: Iterable[Line], width: int | None) -> list[str]:
    """The lines as text, prose folded to ``width`` (None: not folded)."""
    out: list[str] = []
    for line in lines:
        pad = " " * line.indent
        if line.command:
            out.append(f"{pad}$ {line.text}" + (f"  # {line.note}" if line.note else ""))
        elif width is None or line.whole or not line.text or len(pad) + len(line.text) <= width:
            out.append(pad + line.text)
        else:
            out += textwrap.wrap(
                line.text,
                width=max(width, len(pad) + 20),
                initial_indent=pad,
                subsequent_indent=pad + " " * line.hang,
                break_long_words=False,  # an id or a ref stays whole, even if it overflows
                break_on_hyphens=False,  # --no-safety-snapshot stays whole
            )
    return out


def render(lines: Iterable[Line], width: int | None = None) -> str:
    return "\n".join(fold(lines, width)) + "\n"


def show(out: Console, lines: Iterable[Line]) -> None:
    """Print ``lines`` on ``out``: prose folded to its width, commands whole (soft-wrapped)."""
    for line in lines:
        for text in fold([line], out.width):
            # soft_wrap: rich inserts no newline; the terminal wraps, and copies, one line
            out.print(text, style=line.style, markup=False, highlight=False, soft_wrap=True)


def fit_words(text: str, room: int) -> str:
    """``text`` cut at a word boundary to at most ``room`` characters, with an ellipsis."""
    if len(text) <= room:
        return text
    cut = text[: max(room - 1, 1)]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:(") + "…"
