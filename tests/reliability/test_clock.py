"""Liveness is judged by the store's clock, never by two machines' clocks.

A worker runs under libfaketime (Debian's ``faketime``), its whole process
clock shifted, as a machine whose clock is off would be: 30 s behind it must
still count as alive; 60 s ahead and killed, it must count as dead once its
heartbeat is stale. The store is PostgreSQL, whose server clock is the one
every machine shares (an SQLite store has no server: its clock is that of the
machine opening the file).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import folio
from folio.config import get_settings
from folio.execution.worker import FRESH_S, worker_environment
from folio.store import queries
from folio.store.db import get_engine

from builders import TOTAL, english_csv
from services import service_url


def faketime_library() -> str:
    variable = "FOLIO_TEST_FAKETIME"
    path = os.environ.get(variable)
    if not path:
        pytest.skip(f"clock-skew tests need libfaketime: set {variable} (e.g. "
                    f"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1; Debian: faketime)")
    if not Path(path).is_file():
        pytest.fail(f"{variable}={path} is set but there is no such file")
    return path


@pytest.fixture
def stack(monkeypatch, postgres_url):
    monkeypatch.setenv("FOLIO_QUEUE", f"clock-{uuid.uuid4().hex[:8]}")
    url = service_url("redis").rstrip("/") + "/0"
    monkeypatch.setenv("FOLIO_BROKER_URL", url)
    monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    monkeypatch.setenv("FOLIO_DATABASE_URL", postgres_url)
    folio.reset_configuration()
    return get_settings()


def skewed_worker(settings, offset: str, log: Path) -> subprocess.Popen:
    """``folio worker`` whose clock reads ``offset`` from the real time (e.g. "-30")."""
    env = dict(worker_environment(settings), LD_PRELOAD=faketime_library(), FAKETIME=offset,
               FAKETIME_DONT_FAKE_MONOTONIC="1")
    out = open(log, "w", encoding="utf-8")  # noqa: SIM115 - closed with the process below
    process = subprocess.Popen([sys.executable, "-m", "folio.cli", "worker", "--pool", "solo"],
                               stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env=env)
    out.close()
    deadline = time.monotonic() + 60
    while "folio worker ready" not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the skewed worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return process


def test_a_worker_whose_clock_is_behind_counts_as_alive(tmp_path, stack):
    worker = skewed_worker(stack, "-30", tmp_path / "behind.log")
    try:
        # It says it is 30 s earlier than it is: its clock must not make it look dead.
        engine = get_engine(stack)
        for _ in range(3):
            assert queries.live_workers(engine, stack.queue, FRESH_S), "a live worker looks dead"
            time.sleep(1)
        path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR",
                                                 "2024-01-31")])
        result = folio.import_file(path, "P", via="auto", timeout=60)
        assert result.via == "celery" and result.fallback_reason is None
        assert result.status == "succeeded"
    finally:
        worker.terminate()
        worker.wait(20)


def test_a_dead_worker_whose_clock_is_ahead_counts_as_dead(tmp_path, stack):
    worker = skewed_worker(stack, "+60", tmp_path / "ahead.log")
    engine = get_engine(stack)
    assert queries.live_workers(engine, stack.queue, FRESH_S)
    worker.kill()  # SIGKILL: it leaves its last heartbeat behind
    worker.wait(20)
    time.sleep(FRESH_S + 1)
    # Its heartbeat said "a minute from now"; by the store's clock it is stale.
    assert queries.live_workers(engine, stack.queue, FRESH_S) == []
    path = english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
    result = folio.import_file(path, "P", via="auto", timeout=60)
    assert result.via == "local" and "no worker" in result.fallback_reason
