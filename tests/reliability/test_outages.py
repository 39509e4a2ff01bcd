"""Services going away mid-import: the import completes or fails cleanly, says
why, and nothing is lost or doubled.

PostgreSQL is cut by a proxy in front of the real server (the shared server is
not stopped: other tests use it); Redis is a private redis-server, SIGKILLed and
started again, which loses every message and result as a crash does.
"""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.execution.worker import start_worker
from folio.store import queries
from folio.store.db import get_engine

from builders import big_english_csv
from contract import store_state
from faults import TcpProxy

AS_OF = "2024-01-31"


def test_database_gone_at_the_store_step_fails_cleanly_and_can_be_retried(
        tmp_path, postgres_url, monkeypatch):
    real = sa.engine.make_url(postgres_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432))
    monkeypatch.setenv("FOLIO_DATABASE_URL",
                       real.set(port=proxy.port).render_as_string(hide_password=False))
    folio.reset_configuration()
    first = big_english_csv(tmp_path / "january.csv", 500, lots=False)
    second = big_english_csv(tmp_path / "february.csv", 800, lots=False)
    assert folio.import_file(first, "P", as_of=AS_OF).status == "succeeded"
    before = store_state()

    write = queries.write_snapshot

    def server_stops_now(*args, **kwargs):
        proxy.down()  # the file is read and validated; the store step begins
        return write(*args, **kwargs)

    monkeypatch.setattr(queries, "write_snapshot", server_stops_now)
    with pytest.raises(folio.StoreError) as failure:
        folio.import_file(second, "P", as_of="2024-02-29")
    error = failure.value
    assert "nothing was changed" in error.message and error.file == "february.csv"
    assert str(proxy.port) in error.url

    # While the server is down, a new import is refused as clearly, before any work.
    with pytest.raises(folio.StoreError, match="cannot be reached"):
        folio.import_file(second, "P", as_of="2024-02-29")

    monkeypatch.setattr(queries, "write_snapshot", write)
    proxy.up()
    assert store_state() == before
    retry = folio.import_file(second, "P", as_of="2024-02-29")
    assert retry.status == "succeeded" and retry.rows_imported == 800
    assert len(folio.positions("P", as_of="2024-02-29")) == 800
    assert len(folio.positions("P", as_of=AS_OF)) == 500
    # The failure the dead server could not record is recorded once it is back.
    assert folio.get_import(error.import_id).status == "failed"


def test_disk_full_fails_cleanly_and_the_store_keeps_its_contents(tmp_path):
    """The embedded SQLite store on a disk with room for a few pages only."""
    from sqlalchemy import event

    folio.import_file(big_english_csv(tmp_path / "small.csv", 50, lots=False), "P", as_of=AS_OF)
    before = store_state()
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    def cap(conn):  # what a full disk looks like to SQLite: no room for more pages
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages + 20}")

    event.listen(engine, "begin", cap)
    try:
        big = big_english_csv(tmp_path / "big.csv", 20_000, lots=False)
        with pytest.raises(folio.StoreError, match="full") as info:
            folio.import_file(big, "BIG", as_of=AS_OF)
    finally:
        event.remove(engine, "begin", cap)
        engine.dispose()  # the cap stays on pooled connections
    assert "nothing was changed" in info.value.message and info.value.import_id
    assert store_state() == before
    assert folio.get_import(info.value.import_id).status == "failed"
    retry = folio.import_file(big, "BIG", as_of=AS_OF)  # room again: it succeeds
    assert retry.status == "succeeded" and retry.rows_imported == 20_000


def test_redis_restarted_mid_import(tmp_path, private_redis, monkeypatch):
    monkeypatch.setenv("FOLIO_AUTO_TIMEOUT", "2")
    rows = 400_000
    path = big_english_csv(tmp_path / "big.csv", rows, lots=False)
    small = big_english_csv(tmp_path / "small.csv", 50, lots=False)
    worker = start_worker()
    try:
        job = folio.submit_import(path, "BIG", as_of=AS_OF, via="celery")
        deadline = time.monotonic() + 60
        while job.status != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.status == "running"

        private_redis.kill()
        seen = set()
        down_until = time.monotonic() + 3
        while time.monotonic() < down_until:
            seen.add(job.status_message)
            time.sleep(0.2)
        # The running job says what is wrong instead of going quiet.
        assert any("cannot read task state" in m for m in seen), seen

        # Meanwhile, auto mode does not wait on a dead broker: it runs here and says why.
        fallback = folio.submit_import(small, "SMALL", as_of=AS_OF, via="auto")
        assert fallback.via == "local" and fallback.fallback_reason
        assert "broker" in fallback.fallback_reason.lower(), fallback.fallback_reason
        assert fallback.result(timeout=60).status == "succeeded"

        private_redis.start()  # empty: the message and any result are gone
        # Progress is best effort; the store, not Redis, holds the import: it completes.
        result = job.result(timeout=180)
        assert result.status == "succeeded"
        assert len(folio.positions("BIG")) == rows
    finally:
        worker.stop()
    records = [r for r in folio.imports().itertuples() if r.portfolio == "BIG"]
    assert len(records) == 1  # never run twice
