"""Throughput with workers: K imports of one 100,000-row file through N solo workers.

For each stack (the embedded broker + SQLite, always; Redis + PostgreSQL when
FOLIO_BENCH_REDIS_URL or FOLIO_TEST_REDIS_URL, and a PostgreSQL URL as for
import_bench.py, are set) and each N (default 1, 2, 4): a fresh store (a new
PostgreSQL database, dropped after) and queue, N workers started as a kernel
starts them (``start_worker``: real processes, never eager tasks), each warmed by
one small import, then K imports of the file into K portfolios submitted at once
and waited for. Prints imports per minute and the ratio to one worker, and the
workers' CPU seconds per import (user + system, load-independent); the rounds
repeat (--rounds), and each figure is the median.

Usage: python benchmarks/bench_throughput.py [--imports K] [--rows R] [--workers 1,2,4]
                                             [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import holdings_file  # noqa: E402
from import_bench import drop_pg_database, embedded, fresh_pg_database, pg_admin_url  # noqa: E402


def redis_url() -> str | None:
    for name in ("FOLIO_BENCH_REDIS_URL", "FOLIO_TEST_REDIS_URL"):
        url = os.environ.get(name, "")
        if url.startswith("redis"):
            return url.rstrip("/") + "/0" if url.count("/") < 3 else url
    return None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its descendants so far (Linux; 0 elsewhere).

    Load-independent where the wall clock is not: on a shared machine, whether two
    workers spend per import what one does says if they get in each other's way
    (locks, polling) or only wait for cores.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile, or not Linux
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, todo = set(), [pid]
    while todo:
        current = todo.pop()
        tree.add(current)
        todo += [child for child, parent in parents.items() if parent == current]
    return sum(times.get(p, 0.0) for p in tree)


def one_run(stack: str, workers: int, files: list[Path], small: list[Path],
            folder: Path) -> tuple[float, float]:
    """Seconds from the first submission to the last result, for ``imports`` imports
    through ``workers`` workers on ``stack``, and the workers' CPU seconds per import."""
    import folio
    from folio.execution.worker import start_worker

    home = folder / f"{stack}-{workers}-{uuid.uuid4().hex[:8]}"
    overrides = {**embedded(home), "import_roots": [home / "uploads", folder],
                 "queue": f"bench-{uuid.uuid4().hex[:8]}"}
    fresh = None
    if stack == "redis+postgresql":
        fresh = fresh_pg_database(pg_admin_url())
        overrides.update(database_url=fresh, broker_url=redis_url(), result_backend=redis_url())
    started = []
    try:
        with folio.configure(**overrides):
            for _ in range(workers):
                started.append(start_worker(pool="solo"))
            warm = [folio.submit_import(small[i], f"WARM{i}", via="celery")
                    for i in range(workers)]
            for job in warm:
                job.result(timeout=300)
            cpu = sum(cpu_seconds(w.pid) for w in started)
            start = time.perf_counter()
            jobs = [folio.submit_import(path, f"T{i}", via="celery")
                    for i, path in enumerate(files)]
            for job in jobs:
                result = job.result(timeout=900)
                assert result.rows_imported > 0, result.summary()
            took = time.perf_counter() - start
            cpu = sum(cpu_seconds(w.pid) for w in started) - cpu
            return took, cpu / len(files)
    finally:
        for worker in started:
            worker.stop()
        if fresh:
            drop_pg_database(pg_admin_url(), fresh)
        import shutil

        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    stacks = ["embedded+sqlite"]
    if pg_admin_url() and redis_url():
        stacks.append("redis+postgresql")
    seconds: dict[tuple[str, int], list[float]] = {}
    cpu: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # A file per portfolio (each names its own), written once for every run.
        files = [folder / f"T{i}.csv" for i in range(args.imports)]
        for i, path in enumerate(files):
            holdings_file.write(path, args.rows, seed=100 + i, portfolio=f"T{i}")
        small = [folder / f"WARM{i}.csv" for i in range(max(counts))]
        for i, path in enumerate(small):
            holdings_file.write(path, 1000, seed=3, portfolio=f"WARM{i}")
        print(f"{args.imports} imports of {args.rows:,} rows ({files[0].stat().st_size / 1e6:.0f} "
              f"MB each) per run, {os.cpu_count()} cores; median of {args.rounds} rounds")
        for _ in range(args.rounds):  # in rounds: a drifting machine drifts for all alike
            for stack in stacks:
                for n in counts:
                    took, per_import = one_run(stack, n, files, small, folder)
                    seconds.setdefault((stack, n), []).append(took)
                    cpu.setdefault((stack, n), []).append(per_import)
    figures = {}
    for stack in stacks:
        one = statistics.median(seconds[(stack, counts[0])])
        for n in counts:
            took = statistics.median(seconds[(stack, n)])
            per_min = args.imports / took * 60
            figures[f"{stack}:{n}"] = per_min
            print(f"  {stack:18s} {n} worker{'s' if n > 1 else ' '} {per_min:7.1f} imports/min "
                  f"({took:6.1f} s)   {one / took:4.2f}x one worker   runs: "
                  f"{', '.join(f'{t:.1f}' for t in seconds[(stack, n)])} s")
        for n in counts:
            # The same CPU per import with more workers: what is lost is waiting for cores.
            per_import = statistics.median(cpu[(stack, n)])
            figures[f"{stack}:{n}:cpu_s"] = per_import
            print(f"  {stack:18s} {n} worker{'s' if n > 1 else ' '} workers' CPU "
                  f"{per_import:5.2f} s per import")
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
