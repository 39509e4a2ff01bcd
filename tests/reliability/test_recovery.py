"""Workers and brokers that lose an import: it still runs, exactly once.

- a worker paused (SIGSTOP) past the recovery window while a new worker takes
  its import over: the import commits once, and the paused worker, woken, rolls
  back and says it lost its claim;
- a Redis that restarts empty (no persistence) while imports wait in its queue:
  a live worker sends them again and each runs once.

Real worker processes, a real redis-server of the test's own, real signals.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.execution.recovery import FRESH_S
from folio.execution.worker import start_worker
from folio.store.db import get_engine
from folio.store.schema import imports, positions

from builders import big_english_csv

AS_OF = "2024-01-31"


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen in {seconds:g} s")
        time.sleep(0.02)


def records(portfolio: str) -> list[tuple]:
    with get_engine(get_settings()).connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(imports.c.status, imports.c.rows_imported)
            .where(imports.c.portfolio == portfolio)).all()]


def stored(portfolio: str) -> int:
    with get_engine(get_settings()).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(positions)
                            .where(positions.c.portfolio == portfolio)).scalar()


def holds_a_write_lock(folder) -> bool:
    """Whether some process holds the write lock of an SQLite file of FOLIO_HOME."""
    import sqlite3

    for path in folder.glob("*.db"):
        conn = sqlite3.connect(path, timeout=0.2, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    return False


def pause(pid: int) -> None:
    """SIGSTOP ``pid`` at a moment it holds no SQLite write lock.

    A worker stopped inside a write to an embedded SQLite file (its store,
    broker or result backend: a progress report every 0.25 s) blocks every
    other process's writes to that file until it runs again: no successor can
    help then, on SQLite. That is a different fault from the one under test, a
    paused worker whose import another takes over, so the pause is retried
    until it lands between writes.
    """
    home = get_settings().home
    for _ in range(50):
        os.kill(pid, signal.SIGSTOP)
        if not holds_a_write_lock(home):
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    pytest.fail("the worker held an SQLite write lock at each of 50 pauses")


def test_a_paused_worker_cannot_write_over_the_worker_that_took_its_import(
        tmp_path, celery_stack):
    rows = 300_000
    path = big_english_csv(tmp_path / "big.csv", rows, lots=False)
    first = start_worker()
    second = None
    try:
        job = folio.submit_import(path, "PAUSED", as_of=AS_OF, via="celery")
        # Stop it as soon as it has claimed the import: long before its write.
        wait_for(lambda: records("PAUSED") == [("running", 0)], 60, "the claim")
        pause(first.pid)
        time.sleep(FRESH_S + 1.5)  # its heartbeat is stale now: it counts as gone
        second = start_worker()  # recovers the import at start
        result = job.result(timeout=180)
        assert result.status == "succeeded" and result.rows_imported == rows
        assert records("PAUSED") == [("succeeded", rows)] and stored("PAUSED") == rows

        os.kill(first.pid, signal.SIGCONT)  # it wakes up mid-import and carries on
        wait_for(lambda: "lost its claim" in first.log_tail(400)
                 or "already being run" in first.log_tail(400), 120,
                 "the woken worker's word that it lost the import")
        # Its write rolled back: the store holds the import once, as the successor wrote it.
        assert records("PAUSED") == [("succeeded", rows)] and stored("PAUSED") == rows
    finally:
        try:
            os.kill(first.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        first.stop()
        if second is not None:
            second.stop()


def test_imports_queued_in_a_redis_that_restarts_empty_still_run_once(tmp_path,
                                                                      private_redis):
    server = private_redis
    busy_rows, small_rows = 400_000, [11, 12, 13, 14]
    busy = big_english_csv(tmp_path / "busy.csv", busy_rows, lots=False)
    smalls = [big_english_csv(tmp_path / f"s{n}.csv", n, lots=False) for n in small_rows]
    worker = start_worker()
    try:
        first = folio.submit_import(busy, "BUSY", as_of=AS_OF, via="celery")
        wait_for(lambda: records("BUSY") == [("running", 0)], 60, "the busy import's claim")
        # The solo worker is busy: these wait in Redis's queue.
        jobs = [folio.submit_import(p, f"Q{n}", as_of=AS_OF, via="celery")
                for p, n in zip(smalls, small_rows, strict=True)]
        assert all(records(f"Q{n}") == [("queued", 0)] for n in small_rows)
        server.kill()
        server.start()  # empty: the queued messages are gone
        results = [job.result(timeout=180) for job in jobs]
        assert first.result(timeout=180).status == "succeeded"
    finally:
        worker.stop()
    assert [r.status for r in results] == ["succeeded"] * len(small_rows)
    for n in small_rows:
        assert records(f"Q{n}") == [("succeeded", n)] and stored(f"Q{n}") == n
    assert stored("BUSY") == busy_rows
    assert "resubmitted" in worker.log_tail(400)
