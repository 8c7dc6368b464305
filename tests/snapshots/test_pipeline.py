"""The streaming helper with small real processes: exit statuses, early exits, kills."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rollback.data.snapshots.components.pipeline import feed, stream_to
from rollback.data.snapshots.compress import CompressedWriter, read_chunks
from rollback.errors import OperationError
from rollback.proc import ProcessError
from tests.snapshots.dbprobe import child_processes

MB = b"x" * (1 << 20)


def test_stream_to_counts_keeps_the_tail_and_reports_progress(tmp_path: Path) -> None:
    ticks: list[int] = []
    with CompressedWriter(tmp_path / "out.zst") as writer:
        streamed = stream_to(
            ["sh", "-c", "head -c 3000000 /dev/zero; printf 'END'"], writer, tick=ticks.append
        )
    assert streamed.raw_bytes == 3_000_003
    assert streamed.tail.endswith(b"\0END") and len(streamed.tail) == 4096
    assert ticks[-1] == 3_000_003
    assert sum(len(c) for c in read_chunks(tmp_path / "out.zst")) == 3_000_003


def test_stream_to_raises_with_the_last_stderr_line(tmp_path: Path) -> None:
    with CompressedWriter(tmp_path / "out.zst") as writer, pytest.raises(ProcessError) as err:
        stream_to(["sh", "-c", "echo first >&2; echo 'last line' >&2; exit 7"], writer)
    assert str(err.value) == "sh failed (exit 7): last line"


def test_stream_to_names_the_signal_of_a_killed_producer(tmp_path: Path) -> None:
    with CompressedWriter(tmp_path / "out.zst") as writer, pytest.raises(ProcessError) as err:
        stream_to(["sh", "-c", "printf partial; kill -9 $$"], writer)
    assert "killed by SIGKILL" in str(err.value)


def test_missing_tool_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(OperationError, match="no-such-dump-tool is not installed"):
        feed([["no-such-dump-tool"]], [b"x"])


def test_feed_chains_processes_and_returns_the_last_output() -> None:
    out = feed([["cat"], ["wc", "-c"]], [MB, MB, b"abc"])
    assert out.strip() == str(2 * len(MB) + 3)


def test_feed_blames_the_real_failure_not_the_sigpipe_upstream() -> None:
    # cat dies of SIGPIPE because its reader quit; the reader's own exit 3 is the reason
    with pytest.raises(ProcessError) as err:
        feed([["cat"], ["sh", "-c", "head -c 10 >/dev/null; echo 'no more' >&2; exit 3"]], [MB] * 8)
    assert str(err.value) == "sh failed (exit 3): no more"


def test_feed_early_exit_is_an_error_unless_allowed() -> None:
    chunks = [MB] * 8
    with pytest.raises(OperationError, match="stopped reading its input"):
        feed([["head", "-c", "10"]], chunks)
    assert feed([["head", "-c", "3"]], iter(chunks), must_consume=False) == "xxx"


def test_feed_stops_every_process_when_the_input_fails() -> None:
    def broken() -> Iterator[bytes]:
        yield MB
        raise ValueError("corrupt artifact")

    with pytest.raises(ValueError, match="corrupt artifact"):
        feed([["cat"], ["cat"]], broken())
    assert child_processes() == []  # killed and reaped, none left behind
