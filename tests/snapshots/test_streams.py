"""prefetch: a source read ahead in a thread, in order, errors and early exits handled."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rollback.data.snapshots.components.streams import prefetch


def test_items_arrive_in_order_from_another_thread() -> None:
    threads: set[str] = set()

    def source() -> Iterator[int]:
        for i in range(100):
            threads.add(threading.current_thread().name)
            yield i

    with prefetch(source(), depth=3) as items:
        assert list(items) == list(range(100))
    assert threads == {"prefetch"}


def test_an_error_in_the_source_is_raised_in_the_consumer_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ConnectionError("server went away")

    seen = []
    with pytest.raises(ConnectionError, match="server went away"), prefetch(source()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_source_within_its_read_ahead() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    with prefetch(source(), depth=2) as items:
        assert next(items) == 0
    assert not any(t.name == "prefetch" for t in threading.enumerate())  # joined
    assert len(produced) <= 5  # the one taken, two queued, one waiting to be queued, one more
    assert closed.wait(5)
