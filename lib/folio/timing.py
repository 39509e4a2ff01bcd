"""Where an import's time goes: named spans, summed while a benchmark records.

Owns the split the import bench prints (read, check, stage, copy, commit...).
Nothing is recorded unless a caller asked (``recording``): a span then costs a
lock and two clock reads, otherwise one ``None`` check. Spans on other threads
(the staging thread's COPY) add to the same totals, so a stage that overlaps
another shows as more seconds than the wall clock saw.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_lock = threading.Lock()
_totals: dict[str, float] | None = None


@contextlib.contextmanager
def recording() -> Iterator[dict[str, float]]:
    """Sum every span of this process into the dict yielded, until the block ends."""
    global _totals
    totals: dict[str, float] = {}
    with _lock:
        _totals = totals
    try:
        yield totals
    finally:
        with _lock:
            _totals = None


@contextlib.contextmanager
def span(name: str) -> Iterator[None]:
    """Add the time the block takes to ``name``'s total (while recording)."""
    if _totals is None:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        add(name, time.perf_counter() - start)


def add(name: str, seconds: float) -> None:
    with _lock:
        if _totals is not None:
            _totals[name] = _totals.get(name, 0.0) + seconds
