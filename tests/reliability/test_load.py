"""Load: 4 kernels (processes) submit 50 imports each to 2 workers, on Redis with
PostgreSQL and on the embedded broker with SQLite. All 200 end in a final state,
none lost or doubled, and the store's counts match the files."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import sqlalchemy as sa

from folio.config import get_settings
from folio.execution.worker import start_worker
from folio.store.db import get_engine
from folio.store.schema import imports, positions, snapshots

from builders import big_english_csv

KERNELS, EACH, WORKERS, PORTFOLIOS = 4, 50, 2, 8

KERNEL = """
import json, sys
import folio
jobs = [folio.submit_import(f, p, as_of=d, via="celery") for f, p, d in json.loads(sys.argv[1])]
out = []
for job in jobs:
    try:
        r = job.result(timeout=600)
        out.append([job.id, r.status, r.rows_imported])
    except folio.FolioError as exc:
        out.append([job.id, "error: " + exc.message, 0])
print(json.dumps(out))
"""


def test_four_kernels_fifty_imports_each_two_workers(tmp_path, celery_stack):
    # Every kernel writes to the same few portfolios, each import its own date.
    plan, expected = [], {}
    for k in range(KERNELS):
        batch = []
        for i in range(EACH):
            n = k * EACH + i
            rows = 20 + n % 37
            path = big_english_csv(tmp_path / f"k{k}-{i}.csv", rows, lots=False)
            portfolio, as_of = f"L{n % PORTFOLIOS}", (date(2020, 1, 31) + timedelta(n)).isoformat()
            batch.append([str(path), portfolio, as_of])
            expected[(portfolio, as_of)] = rows
        plan.append(batch)
    workers = [start_worker() for _ in range(WORKERS)]
    try:
        kernels = [subprocess.Popen([sys.executable, "-c", KERNEL, json.dumps(batch)],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                   for batch in plan]
        outputs = [k.communicate(timeout=900) for k in kernels]
    finally:
        for worker in workers:
            worker.stop()
    results = []
    for (out, err), kernel in zip(outputs, kernels, strict=True):
        assert kernel.returncode == 0, err[-2000:]
        results += json.loads(out.strip().splitlines()[-1])
    assert len(results) == KERNELS * EACH
    assert [s for _, s, _ in results if s != "succeeded"] == []
    assert len({job_id for job_id, _, _ in results}) == KERNELS * EACH

    engine = get_engine(get_settings())
    with engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(imports.c.status, sa.func.count())
                                     .group_by(imports.c.status)).all())
        snapshot_count = conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar()
        counts = conn.execute(sa.select(positions.c.portfolio, positions.c.as_of, sa.func.count())
                              .group_by(positions.c.portfolio, positions.c.as_of)).all()
        ran_on = conn.execute(sa.select(imports.c.claimed_by).distinct()).scalars().all()
    assert statuses == {"succeeded": KERNELS * EACH}
    assert snapshot_count == KERNELS * EACH
    assert {(p, str(d)[:10]): c for p, d, c in counts} == expected
    assert len(set(ran_on)) == WORKERS  # both workers took a share

