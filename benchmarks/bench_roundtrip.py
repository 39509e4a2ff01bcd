"""Round trip of a 1,000-row import: local vs Celery (embedded broker, Redis).

Prints the median of 20 imports per mode, each mode's overhead over local, and
how long ``via="auto"`` takes to decide when no worker runs (one read of the
store's heartbeats, no broker probed). Goals: overhead under 0.3 s on Redis and
under 0.5 s on the embedded broker; auto decides in under 50 ms. Redis is measured when FOLIO_TEST_REDIS_URL is set (e.g.
redis://127.0.0.1:6379); it is skipped, saying so, otherwise.

Run: python benchmarks/bench_roundtrip.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import folio
from folio.execution.worker import start_worker

ROWS, RUNS = 1_000, 20


def write_file(path: Path, rows: int, seed: int) -> Path:
    # A different quantity per run, so no import is "unchanged" and skipped.
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("ISIN,Quantity,Price,Market Value,Currency\n")
        for i in range(rows):
            qty = i + 1 + seed
            fh.write(f"SEC{i:07d},{qty},10.0,{qty * 10.0},EUR\n")
    return path


def median_import(folder: Path, via: str) -> float:
    times = []
    for run in range(RUNS):
        path = write_file(folder / f"{via}-{run}.csv", ROWS, run)
        start = time.perf_counter()
        result = folio.import_file(path, f"BENCH-{via}", as_of="2024-01-31", via=via)
        times.append(time.perf_counter() - start)
        assert result.status == "succeeded", result.summary()
    return statistics.median(times)


def measure(home: Path, broker: str | None) -> float:
    overrides = {"home": home, "queue": f"bench-{uuid.uuid4().hex[:6]}"}
    if broker:
        overrides.update(broker_url=broker, result_backend=broker)
    with folio.configure(**overrides):
        worker = start_worker()
        try:
            median_import(home, "celery")  # warm up: first task opens connections
            return median_import(home, "celery")
        finally:
            worker.stop()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with folio.configure(home=root / "local"):
            local = median_import(root, "local")
        print(f"{ROWS}-row import, median of {RUNS}:")
        print(f"  local            {local * 1000:7.1f} ms")
        goals = {"embedded": 0.5, "redis": 0.3}
        brokers = {"embedded": None}
        redis = os.environ.get("FOLIO_TEST_REDIS_URL")
        if redis:
            brokers["redis"] = redis.rstrip("/") + "/1"
        failed = False
        for name, url in brokers.items():
            took = measure(root / name, url)
            overhead = took - local
            ok = overhead < goals[name]
            failed |= not ok
            print(f"  celery-{name:9s} {took * 1000:7.1f} ms   overhead {overhead * 1000:6.1f} ms "
                  f"(goal < {goals[name] * 1000:.0f} ms: {'met' if ok else 'MISSED'})")
        if not redis:
            print("  celery-redis     skipped: set FOLIO_TEST_REDIS_URL to measure it")
        with folio.configure(home=root / "auto"):
            from folio.execution.celery_backend import find_worker

            find_worker(folio.get_settings())  # the store's tables exist from here
            decisions = []
            for _ in range(5):
                start = time.perf_counter()
                reason = find_worker(folio.get_settings())
                decisions.append(time.perf_counter() - start)
            decided = statistics.median(decisions)
        ok = decided < 0.05
        failed |= not ok
        print(f"auto with no worker decides in {decided * 1000:.1f} ms (median of 5) -> "
              f"{reason!r} (goal < 50 ms: {'met' if ok else 'MISSED'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
