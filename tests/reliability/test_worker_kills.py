"""Workers SIGKILLed at random moments during a run of imports: nothing lost, nothing doubled.

Every import must end succeeded exactly once (one record, its positions once)
with the same positions a clean local run writes, on the embedded broker and
on Redis. The kill times come from a seeded generator, so a failure replays.
"""

from __future__ import annotations

import random
import time
import uuid

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.execution.worker import start_worker
from folio.store.db import get_engine
from folio.store.schema import imports, positions

from builders import big_english_csv
from services import service_url

IMPORTS, ROWS, KILLS = 20, 15_000, 5


@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_random_kills_lose_and_double_nothing(tmp_path, monkeypatch, broker):
    monkeypatch.setenv("FOLIO_QUEUE", f"kills-{uuid.uuid4().hex[:8]}")
    if broker == "redis":
        url = service_url("redis").rstrip("/") + "/0"
        monkeypatch.setenv("FOLIO_BROKER_URL", url)
        monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    files = [big_english_csv(tmp_path / f"f{i}.csv", ROWS + i, lots=False) for i in range(IMPORTS)]
    workers = [start_worker()]
    jobs = [folio.submit_import(f, f"P{i:02d}", as_of="2024-01-31", via="celery")
            for i, f in enumerate(files)]
    rng = random.Random(20241125)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 1.5))
            workers[-1].process.kill()  # SIGKILL: no cleanup, mid-whatever it was doing
            workers[-1].process.wait()
            workers.append(start_worker())
        results = [job.result(timeout=240) for job in jobs]
    finally:
        for w in workers:
            w.stop()
    assert [r.status for r in results] == ["succeeded"] * IMPORTS
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        records = conn.execute(sa.select(imports.c.portfolio, sa.func.count())
                               .group_by(imports.c.portfolio)).all()
        counts = dict(conn.execute(sa.select(positions.c.portfolio, sa.func.count())
                                   .group_by(positions.c.portfolio)).all())
    assert sorted(records) == [(f"P{i:02d}", 1) for i in range(IMPORTS)]
    assert counts == {f"P{i:02d}": ROWS + i for i in range(IMPORTS)}
    # The same positions as a clean local run of one of the files.
    clean = folio.import_file(files[7], "CLEAN", as_of="2024-01-31", via="local")
    got = folio.positions("P07")[["row", "identifier", "quantity", "market_value"]]
    want = folio.positions("CLEAN")[["row", "identifier", "quantity", "market_value"]]
    assert clean.rows_imported == ROWS + 7
    assert got.reset_index(drop=True).equals(want.reset_index(drop=True))
