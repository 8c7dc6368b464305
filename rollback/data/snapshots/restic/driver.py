"""Run restic as a program: argument lists, ``--json`` NDJSON read by ``message_type``, its
documented exit codes mapped to ours.

restic 0.14 (Debian 12) answers every failure with exit code 1 and a ``Fatal: ...`` line;
0.17 added codes 10 (no repository), 11 (locked) and 12 (wrong password, 0.17.1) and a
final ``exit_error`` JSON message on stderr. Both are read here, the codes first, so the
same three failures get the same exit code and one-line message whatever the version.
Newer features are used when ``restic version`` shows them (restore progress, 0.16).

Each restic runs in its own session: Ctrl-C reaches us, not it, and we stop it ourselves
(a stdin backup stopped any other way could save a truncated snapshot).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rollback.errors import Interrupted, OperationError, RefusedError, RollbackError, UsageError
from rollback.proc import ProcessError

CHUNK = 1 << 20
RESTORE_JSON = (0, 16, 0)  # restore --json prints status messages
Message = dict[str, Any]
OnMessage = Callable[[Message], None]
_VERSION = re.compile(r"restic (\d+)\.(\d+)\.(\d+)")
_OURS = {
    "RESTIC_PASSWORD",
    "RESTIC_PASSWORD_FILE",
    "RESTIC_PASSWORD_COMMAND",
    "RESTIC_REPOSITORY",
    "RESTIC_REPOSITORY_FILE",
}
_UNREACHABLE = ("connection refused", "dial tcp", "no such host", "i/o timeout", "connect:")


@dataclass
class Outcome:
    """What one restic run said: its messages by type, the summary, errors, stderr."""

    code: int = 0
    summary: Message | None = None
    errors: list[Message] = field(default_factory=list)
    stderr: str = ""


class Restic:
    """One repository, opened with its password source; every call is one restic process."""

    def __init__(
        self,
        executable: str,
        repository: str,
        safe_repository: str,
        env: dict[str, str],
        *,
        cwd: Path,
    ) -> None:
        self.executable = executable
        self.safe = safe_repository
        self.cwd = cwd
        # the caller's RESTIC_* must not override what the project configured
        base = {k: v for k, v in os.environ.items() if k not in _OURS}
        # TZ=UTC: restic reads ``backup --time`` in local time; in UTC no DST hour is ambiguous
        self.env = {**base, **env, "RESTIC_REPOSITORY": repository, "TZ": "UTC"}
        self._version: tuple[int, int, int] | None = None

    # --- version ----------------------------------------------------------------------

    @property
    def version(self) -> tuple[int, int, int]:
        """The installed restic's version, read once from ``restic version``."""
        if self._version is None:
            out = self._simple(["version"], needs_repo=False)
            found = _VERSION.search(out)
            if not found:
                raise OperationError(f"cannot read the restic version from {out.strip()!r}")
            self._version = (int(found[1]), int(found[2]), int(found[3]))
        return self._version

    def has(self, feature: tuple[int, int, int]) -> bool:
        return self.version >= feature

    # --- running ----------------------------------------------------------------------

    def _spawn(self, args: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        try:
            return subprocess.Popen(
                [self.executable, *args],
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
                **kwargs,
            )
        except FileNotFoundError as exc:
            raise OperationError(
                f"{self.executable} is not installed or not on PATH",
                hint="install it (Debian/Ubuntu: apt-get install restic) or set executable "
                "in [tool.rollback.restic]",
            ) from exc

    def run(
        self,
        args: Sequence[str],
        *,
        on_message: OnMessage | None = None,
        stdin: IO[bytes] | int = subprocess.DEVNULL,
        ok_codes: tuple[int, ...] = (0,),
    ) -> Outcome:
        """Run ``restic --json ARGS``; stdout lines that are JSON go to ``on_message``.

        Raises the mapped error unless the exit code is in ``ok_codes``. Returns the outcome
        (with the last ``summary`` message, errors and stderr).
        """
        with tempfile.TemporaryFile() as err:
            proc = self._spawn(["--json", *args], stdin=stdin, stdout=subprocess.PIPE, stderr=err)
            outcome = Outcome()
            try:
                assert proc.stdout is not None
                _read_messages(proc.stdout, outcome, on_message)
                outcome.code = proc.wait()
            except BaseException:
                stop(proc)
                raise
            outcome.stderr = _text(err)
        _collect_stderr(outcome)
        if outcome.code not in ok_codes:
            raise self.failure(args, outcome)
        return outcome

    def _simple(self, args: Sequence[str], *, needs_repo: bool = True) -> str:
        """stdout of ``restic ARGS`` (no --json): for ``version`` and plain documents."""
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
            env = self.env if needs_repo else {**self.env, "RESTIC_REPOSITORY": ""}
            try:
                code = subprocess.run(
                    [self.executable, *args],
                    cwd=self.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    check=False,
                    start_new_session=True,
                ).returncode
            except FileNotFoundError:
                self._spawn(args)  # raises the install hint
                raise
            outcome = Outcome(code=code, stderr=_text(err))
            if code != 0:
                raise self.failure(args, outcome)
            return _text(out)

    def json_document(self, args: Sequence[str]) -> Any:
        """The single JSON document ``restic --json ARGS`` prints (snapshots, ls)."""
        with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
            proc = self._spawn(["--json", *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            try:
                code = proc.wait()
            except BaseException:
                stop(proc)
                raise
            outcome = Outcome(code=code, stderr=_text(err))
            _collect_stderr(outcome)
            if code != 0:
                raise self.failure(args, outcome)
            text = _text(out)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise OperationError(f"restic {args[0]} printed no JSON: {text[:200]!r}") from exc

    # --- streams ----------------------------------------------------------------------

    @contextlib.contextmanager
    def backup_stdin(self, args: Sequence[str], on_message: OnMessage) -> Iterator[StdinBackup]:
        """``restic backup --stdin ARGS``: write the stream into the yielded sink.

        Leaving the block normally ends the stream and waits for restic (``sink.outcome``);
        an exception stops restic first, so a cut stream is never saved as a snapshot.
        """
        with tempfile.TemporaryFile() as err:
            proc = self._spawn(
                ["--json", "backup", "--stdin", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            outcome = Outcome()
            assert proc.stdout is not None and proc.stdin is not None
            _widen(proc.stdin)
            reader = threading.Thread(
                target=_read_messages, args=(proc.stdout, outcome, on_message), daemon=True
            )
            reader.start()
            sink = StdinBackup(self, proc, err, outcome, args)
            try:
                yield sink
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
                outcome.code = proc.wait()
            except BaseException:
                stop(proc)
                raise
            finally:
                reader.join()
            outcome.stderr = _text(err)
        _collect_stderr(outcome)
        if outcome.code != 0:
            raise self.failure(["backup", "--stdin", *args], outcome)
        sink.outcome = outcome

    @contextlib.contextmanager
    def dump(self, snapshot: str, path: str) -> Iterator[Iterator[bytes]]:
        """The content of ``path`` in ``snapshot`` as chunks (``restic dump``).

        A restic failure is raised from inside the iteration, at the end of the stream, so
        a consumer (a database client fed from it) never sees a clean end of a cut stream.
        The consumer may stop early (a preflight reading the first frame).
        """
        with tempfile.TemporaryFile() as err:
            proc = self._spawn(
                ["dump", snapshot, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
            )
            assert proc.stdout is not None
            _widen(proc.stdout)
            stdout = proc.stdout

            def chunks() -> Iterator[bytes]:
                while block := stdout.read(CHUNK):
                    yield block
                code = proc.wait()
                if code != 0:
                    outcome = Outcome(code=code, stderr=_text(err))
                    _collect_stderr(outcome)
                    raise self.failure(["dump", snapshot, path], outcome)

            try:
                yield chunks()
            finally:
                stop(proc)

    # --- errors -----------------------------------------------------------------------

    def failure(self, args: Sequence[str], outcome: Outcome) -> RollbackError:
        """The error for a failed run: restic's documented codes first, then its messages."""
        code, text = outcome.code, outcome.stderr
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        fatal = next((ln for ln in lines if ln.startswith("Fatal:")), lines[-1] if lines else "")
        reason = fatal.removeprefix("Fatal:").strip() or f"exit code {code}"
        where = f"restic repository {self.safe}"
        lowered = text.lower()
        if code == 130:
            return Interrupted(f"restic {args[0]} was interrupted")
        if code == 12 or "wrong password" in lowered:
            return UsageError(
                f"wrong password for {where}",
                hint="check password_env or password_command in [tool.rollback.restic]",
            )
        if code == 11 or "already locked" in lowered or "unable to create lock" in lowered:
            return RefusedError(
                f"{where} is locked by another restic: {reason}",
                hint=f"wait for it to finish; if none runs, run: restic -r {self.safe} unlock",
            )
        if any(marker in lowered for marker in _UNREACHABLE):
            return OperationError(f"{where} cannot be reached: {reason}")
        if code == 10 or "is there a repository at the following location" in lowered:
            return UsageError(
                f"no restic repository at {self.safe}",
                hint=f"create it once with: restic -r {self.safe} init "
                "(with the password rollback is configured to use)",
            )
        error = ProcessError([self.executable, *args], code, "", text)
        error.message = f"restic {args[0]} failed (exit {code}): {reason}"
        error.args = (error.message,)
        return error


class StdinBackup:
    """The writing end of ``restic backup --stdin``: ``write`` counts what went in."""

    def __init__(
        self,
        restic: Restic,
        proc: subprocess.Popen[bytes],
        err: IO[bytes],
        outcome: Outcome,
        args: Sequence[str],
    ) -> None:
        self._restic = restic
        self._proc = proc
        self._err = err
        self._args = args
        self.outcome = outcome
        self.written = 0

    def write(self, data: bytes, /) -> int:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
        except BrokenPipeError:  # restic stopped reading: it failed; say why
            self.outcome.code = self._proc.wait()
            self.outcome.stderr = _text(self._err)
            _collect_stderr(self.outcome)
            raise self._restic.failure(["backup", "--stdin", *self._args], self.outcome) from None
        self.written += len(data)
        return len(data)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` if it still runs, and reap it."""
    if proc.poll() is None:
        proc.kill()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    proc.wait()


def _read_messages(stdout: IO[bytes], outcome: Outcome, on_message: OnMessage | None) -> None:
    for raw in stdout:
        message = _message(raw)
        if message is None:
            continue  # restic 0.14 prints some plain lines even with --json (restore)
        kind = message.get("message_type")
        if kind == "summary":
            outcome.summary = message
        elif kind == "error":
            outcome.errors.append(message)
        if on_message is not None:
            on_message(message)


def _message(raw: bytes) -> Message | None:
    line = raw.strip()
    if not line.startswith(b"{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _collect_stderr(outcome: Outcome) -> None:
    """JSON messages restic writes to stderr: errors, and (0.17+) the final exit_error."""
    plain = []
    for line in outcome.stderr.splitlines():
        message = _message(line.encode())
        if message is None:
            plain.append(line)
        elif message.get("message_type") == "exit_error":
            plain.append(f"Fatal: {message.get('message', '')}")
        elif message.get("message_type") == "error":
            outcome.errors.append(message)
            plain.append(error_text(message))
    outcome.stderr = "\n".join(plain)


def error_text(message: Message) -> str:
    """One line for an ``error`` message: the item and restic's reason."""
    error = message.get("error")
    reason = error.get("message") if isinstance(error, dict) else None
    reason = reason or message.get("message") or json.dumps(error)
    item = message.get("item")
    return f"{item}: {reason}" if item else str(reason)


def _text(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read().decode("utf-8", "replace")


def _widen(pipe: IO[bytes]) -> None:
    # 1 MiB pipes: the dump tool keeps writing while restic chunks and encrypts
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, CHUNK)
