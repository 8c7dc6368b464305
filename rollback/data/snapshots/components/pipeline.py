"""Stream dump tools into compressed artifacts and feed restore tools from them.

Bytes flow through fixed-size chunks: nothing is held whole in memory and no uncompressed copy
ever touches the disk. Every child's stderr goes to an anonymous temporary file (a pipe could
fill up and deadlock), every exit status is collected, and a failure raises ``ProcessError``
with the tool's last stderr line. Credentials never travel on these command lines: callers pass
them through option files or the environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from rollback.data.snapshots.components.base import Writer
from rollback.data.snapshots.compress import CHUNK
from rollback.errors import OperationError
from rollback.proc import ProcessError

Tick = Callable[[int], None]


@dataclass(frozen=True)
class Streamed:
    raw_bytes: int  # bytes the producer wrote
    tail: bytes  # the last bytes of the stream, for footer checks


def _env(extra: Mapping[str, str] | None) -> dict[str, str] | None:
    if extra is None:
        return None
    env = dict(os.environ)
    env.update(extra)
    return env


def _spawn(args: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(list(args), **kwargs)  # type: ignore[call-overload, no-any-return]
    except FileNotFoundError as exc:
        raise OperationError(f"{args[0]} is not installed or not on PATH") from exc


def _widen(pipe: IO[bytes] | None) -> None:
    """Grow a pipe to 1 MiB (Linux): the tool keeps writing while we compress a chunk.

    With the default 64 KiB the dump tool stalls whenever we compress, and a dump takes about
    twice as long (benchmarks/db_components.py). Where the call is refused, nothing changes.
    """
    if pipe is None or not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, CHUNK)


def _text(fh: IO[bytes]) -> str:
    fh.seek(0)
    return fh.read().decode("utf-8", "replace")


def _stop(procs: Sequence[subprocess.Popen[bytes]]) -> None:
    # Downstream first: a restore client must never see a clean end of input (and commit)
    # because its producer was stopped.
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.kill()
    for proc in procs:
        proc.wait()


def stream_to(
    args: Sequence[str],
    writer: Writer,
    *,
    env: Mapping[str, str] | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
    tick: Tick | None = None,
    tail_size: int = 4096,
) -> Streamed:
    """Run ``args`` and write its stdout into ``writer``; raise ProcessError unless it exits 0.

    ``on_chunk`` sees every chunk (e.g. to scan for definers); ``tick`` gets the running total.
    The writer is not closed here: the caller closes (and fsyncs) it only when satisfied.
    """
    with tempfile.TemporaryFile() as err:
        proc = _spawn(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=_env(env)
        )
        assert proc.stdout is not None
        _widen(proc.stdout)
        total = 0
        tail = b""
        try:
            while chunk := proc.stdout.read(CHUNK):
                writer.write(chunk)
                total += len(chunk)
                tail = (tail + chunk[-tail_size:])[-tail_size:]
                if on_chunk is not None:
                    on_chunk(chunk)
                if tick is not None:
                    tick(total)
        except BaseException:
            _stop([proc])
            raise
        finally:
            proc.stdout.close()
        code = proc.wait()
        if code != 0:
            raise ProcessError(args, code, "", _describe_status(code, _text(err)))
    return Streamed(total, tail)


def feed(
    commands: Sequence[Sequence[str]],
    chunks: Iterable[bytes],
    *,
    env: Mapping[str, str] | None = None,
    tick: Tick | None = None,
    must_consume: bool = True,
) -> str:
    """Pipe ``chunks`` into ``commands[0]``, whose stdout feeds ``commands[1]``, and so on.

    Returns the last command's stdout as text. Raises ProcessError for the failing command
    (the most downstream real failure: an upstream tool killed by SIGPIPE only echoes it).
    ``must_consume=False`` lets the first command stop reading early and exit 0, as
    ``pg_restore --list`` does once it has read the table of contents.
    """
    with contextlib.ExitStack() as stack:
        errs = [stack.enter_context(tempfile.TemporaryFile()) for _ in commands]
        out = stack.enter_context(tempfile.TemporaryFile())
        procs: list[subprocess.Popen[bytes]] = []
        try:
            upstream: IO[bytes] | int = subprocess.PIPE
            for i, args in enumerate(commands):
                last = i == len(commands) - 1
                proc = _spawn(
                    args,
                    stdin=upstream,
                    stdout=out if last else subprocess.PIPE,
                    stderr=errs[i],
                    env=_env(env),
                )
                if procs and procs[-1].stdout is not None:
                    procs[-1].stdout.close()  # the child holds it; SIGPIPE must reach upstream
                procs.append(proc)
                _widen(proc.stdin)
                _widen(proc.stdout)
                if not last:
                    assert proc.stdout is not None
                    upstream = proc.stdout
            stopped_early = _write_all(procs, chunks, tick)
        except BaseException:
            _stop(procs)
            raise
        codes = [proc.wait() for proc in procs]
        failed = [i for i, code in enumerate(codes) if code != 0]
        if failed:
            real = [i for i in failed if codes[i] != -signal.SIGPIPE] or failed
            i = real[-1]
            stderr = _describe_status(codes[i], _text(errs[i]))
            raise ProcessError(commands[i], codes[i], "", stderr)
        if stopped_early and must_consume:
            raise OperationError(f"{commands[0][0]} stopped reading its input before the end")
        return _text(out)


def _write_all(
    procs: list[subprocess.Popen[bytes]], chunks: Iterable[bytes], tick: Tick | None
) -> bool:
    """Write every chunk to the first process; return True if it stopped reading early."""
    stdin = procs[0].stdin
    assert stdin is not None
    total = 0
    try:
        for chunk in chunks:
            stdin.write(chunk)
            total += len(chunk)
            if tick is not None:
                tick(total)
        stdin.close()
    except BrokenPipeError:
        _quiet_close(stdin)
        return True
    except BaseException:
        _stop(procs)
        _quiet_close(stdin)
        raise
    return False


def _quiet_close(fh: IO[bytes]) -> None:
    with contextlib.suppress(BrokenPipeError):
        fh.close()


def _describe_status(code: int, stderr: str) -> str:
    if code < 0:
        name = signal.Signals(-code).name
        return f"{stderr.rstrip()}\nkilled by {name}".lstrip()
    return stderr


class HeadReader:
    """A tool reading the head of a stream as it passes by (``pg_restore --list``).

    ``feed`` hands it each chunk until it stops reading (it has what it needs and exits);
    ``finish`` returns its stdout, or raises ProcessError. Use as a context manager: leaving
    early (an error in the stream) stops the tool.
    """

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str] | None = None) -> None:
        self.args = list(args)
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._proc = _spawn(
            self.args, stdin=subprocess.PIPE, stdout=self._out, stderr=self._err, env=_env(env)
        )
        self._reading = True

    def feed(self, chunk: bytes) -> None:
        stdin = self._proc.stdin
        if not self._reading or stdin is None:
            return
        try:
            stdin.write(chunk)
        except BrokenPipeError:
            self._reading = False  # it has read all it wanted

    def finish(self) -> str:
        if self._proc.stdin is not None:
            _quiet_close(self._proc.stdin)
        code = self._proc.wait()
        if code != 0:
            raise ProcessError(self.args, code, "", _describe_status(code, _text(self._err)))
        return _text(self._out)

    def __enter__(self) -> HeadReader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            if self._proc.stdin is not None:
                _quiet_close(self._proc.stdin)
            self._proc.wait()
        self._out.close()
        self._err.close()
