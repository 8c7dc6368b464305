"""One exception family: every error knows its exit code and its one-line message.

The top-level handler in ``cli.py`` prints ``str(error)`` in red on stderr and exits with
``error.exit_code``; tracebacks are shown only with ``--debug``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # an operation was attempted and failed (git, dump tool, service)
    USAGE = 2  # bad input: unknown ref, bad plan file, bad option combination
    REFUSED = 3  # a safety check refused to act; nothing was changed
    BUG = 4  # an unexpected error: please report
    INTERRUPTED = 130


class RollbackError(Exception):
    """Base of every error a user may see. ``hint`` is an optional second line: what to do."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class OperationError(RollbackError):
    """Something we ran failed (git, a dump tool, a service)."""

    exit_code = ExitCode.FAILED


class UsageError(RollbackError):
    """The user's input is wrong: an unknown ref, a bad plan file, conflicting options."""

    exit_code = ExitCode.USAGE


class RefusedError(RollbackError):
    """A safety check refused to act. Nothing was changed."""

    exit_code = ExitCode.REFUSED


class Interrupted(RollbackError):
    exit_code = ExitCode.INTERRUPTED
