"""The prompt seam: every question the wizard asks goes through a ``Prompter``, unless its
flag in ``WizardFlags`` (the answers given on the command line) already answers it.

Two implementations: ``QuestionaryPrompter`` for a real terminal (questionary is imported
only when it is built, because the import costs ~160 ms) and ``ScriptedPrompter``, which
answers from a list, for tests that drive the flows below the UI.

Cancelling is one exception, ``Cancelled``: Esc (or questionary's None answer) is a choice the
user made, exit 0; Ctrl-C is an interrupt, exit 130. Either way nothing was changed yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

CANCEL_MESSAGE = "cancelled: nothing was changed"


class Cancelled(Exception):
    """The user left the wizard at a prompt. ``interrupted``: Ctrl-C rather than Esc."""

    def __init__(self, *, interrupted: bool = False) -> None:
        super().__init__(CANCEL_MESSAGE)
        self.interrupted = interrupted

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else 0


@dataclass(frozen=True)
class WizardFlags:
    """The answers given on the command line; None means: ask (or, with ``yes``, default)."""

    to: str | None = None
    strategy: str | None = None
    commits: tuple[str, ...] = ()
    snapshot: str | None = None  # an id, "auto" or "none"
    data: str | None = None  # restore | downgrade | none
    safety_snapshot: bool | None = None  # False: --no-safety-snapshot
    push: bool | None = None
    stop_at_conflict: bool = False
    yes: bool = False
    save_runbook: Path | None = None


@dataclass(frozen=True)
class Option:
    """One entry of a select or checkbox list."""

    title: str
    value: Any
    disabled: str | None = None  # shown greyed out with this reason; cannot be chosen
    checked: bool = False
    description: str | None = None  # the whole text, shown under the list when highlighted


class Prompter(Protocol):
    """Ask one question; raise ``Cancelled`` when the user leaves."""

    def select(self, message: str, options: Sequence[Option], *, search: bool = False) -> Any: ...

    def checkbox(self, message: str, options: Sequence[Option]) -> list[Any]: ...

    def confirm(self, message: str, *, default: bool) -> bool: ...

    def text(self, message: str, *, default: str = "") -> str: ...


# -- the real terminal ---------------------------------------------------------------------


class QuestionaryPrompter:
    """Prompts drawn by questionary (prompt_toolkit). Esc cancels, Ctrl-C interrupts.

    The answered prompt is erased and echoed again by us, folded at word boundaries: the
    terminal cut prompt_toolkit's own echo mid-word (``translate the button la⏎bels``).
    """

    def __init__(self, out: Console | None = None) -> None:
        import questionary

        from rollback.ui.render import console

        self._q = questionary
        self._out = out or console()

    def _echo(self, message: str, answer: str) -> None:
        from rollback.ui.lines import prose, show

        show(self._out, [prose(f"? {message} {answer}", hang=2)])

    def _ask(self, question: Any) -> Any:
        from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings

        escape = KeyBindings()

        # questionary has no Esc binding; without one Esc does nothing, and a user under
        # pressure expects it to back out
        @escape.add("escape", eager=True)
        def _leave(event: Any) -> None:
            event.app.exit(result=_ESC)

        app = question.application
        app.key_bindings = merge_key_bindings([app.key_bindings, escape])
        app.erase_when_done = True  # self._echo prints the answer, folded at words
        try:
            answer = question.unsafe_ask()
        except KeyboardInterrupt:
            raise Cancelled(interrupted=True) from None
        if answer is None or answer is _ESC:
            raise Cancelled()
        return answer

    def _choices(self, options: Sequence[Option]) -> list[Any]:
        return [
            self._q.Choice(
                o.title,
                value=_Boxed(o.value),
                disabled=o.disabled,
                checked=o.checked,
                description=o.description,
            )
            for o in options
        ]

    def select(self, message: str, options: Sequence[Option], *, search: bool = False) -> Any:
        question = self._q.select(
            message,
            choices=self._choices(options),
            use_search_filter=search,
            use_jk_keys=not search,
            instruction="(arrows, Enter; type to filter; Esc cancels)"
            if search
            else "(arrows, Enter; Esc cancels)",
        )
        boxed = self._ask(question)
        title = next((o.title for o in options if o.value is boxed.value), str(boxed.value))
        self._echo(message, title)
        return boxed.value

    def checkbox(self, message: str, options: Sequence[Option]) -> list[Any]:
        question = self._q.checkbox(
            message,
            choices=self._choices(options),
            instruction="(Space to mark, Enter when done; Esc cancels)",
        )
        values = [boxed.value for boxed in self._ask(question)]
        self._echo(message, f"{len(values)} selected")
        return values

    def confirm(self, message: str, *, default: bool) -> bool:
        answer = bool(self._ask(self._q.confirm(message, default=default)))
        self._echo(message, "Yes" if answer else "No")
        return answer

    def text(self, message: str, *, default: str = "") -> str:
        answer = str(self._ask(self._q.text(message, default=default)))
        self._echo(message, answer)
        return answer


class _Esc:
    """Marker result of the Esc key binding."""


_ESC = _Esc()


@dataclass(frozen=True)
class _Boxed:
    # questionary treats a Choice value of None as "use the title": box every value so None,
    # tuples and dataclasses come back unchanged
    value: Any


# -- scripted answers, for tests -------------------------------------------------------------


@dataclass(frozen=True)
class Pick:
    """A scripted select answer: the first enabled option whose title contains ``text``."""

    text: str


CANCEL = object()  # a scripted answer: the user pressed Esc
INTERRUPT = object()  # a scripted answer: the user pressed Ctrl-C


@dataclass
class ScriptedPrompter:
    """Answers questions from ``answers`` in order; records what was asked.

    Each answer is ``(expected text in the message, answer)``. A select answer is a value,
    or ``Pick("title text")``; checkbox answers are lists of values or ``Pick``s; ``CANCEL``
    and ``INTERRUPT`` leave the wizard. A question whose message does not contain the
    expected text fails loudly, so a test cannot drift past a prompt it did not mean to.
    """

    answers: list[tuple[str, Any]]
    asked: list[str] = field(default_factory=list)
    shown: list[list[Option]] = field(default_factory=list)

    def _next(self, message: str) -> Any:
        self.asked.append(message)
        if not self.answers:
            raise AssertionError(f"unexpected prompt {message!r}: no scripted answer left")
        expected, answer = self.answers.pop(0)
        if expected not in message:
            raise AssertionError(f"expected a prompt containing {expected!r}, got {message!r}")
        if answer is CANCEL:
            raise Cancelled()
        if answer is INTERRUPT:
            raise Cancelled(interrupted=True)
        return answer

    def _resolve(self, message: str, options: Sequence[Option], answer: Any) -> Any:
        enabled = [o for o in options if o.disabled is None]
        if isinstance(answer, Pick):
            for o in enabled:
                if answer.text in o.title:
                    return o.value
            titles = [o.title for o in enabled]
            raise AssertionError(f"{message!r}: no option contains {answer.text!r} in {titles}")
        if not any(o.value == answer for o in enabled):
            raise AssertionError(f"{message!r}: {answer!r} is not an enabled option")
        return answer

    def select(self, message: str, options: Sequence[Option], *, search: bool = False) -> Any:
        self.shown.append(list(options))
        return self._resolve(message, options, self._next(message))

    def checkbox(self, message: str, options: Sequence[Option]) -> list[Any]:
        self.shown.append(list(options))
        return [self._resolve(message, options, a) for a in self._next(message)]

    def confirm(self, message: str, *, default: bool) -> bool:
        return bool(self._next(message))

    def text(self, message: str, *, default: str = "") -> str:
        answer = self._next(message)
        return default if answer is None else str(answer)

    @property
    def done(self) -> bool:
        """True when every scripted answer was used."""
        return not self.answers
