"""Import at scale: folio against the floor and the naive way, on one big file.

Prints, each the median of --runs runs (default 5), with its ratio to the floor:
  floor        pyarrow CSV read + ADBC bulk ingest of the raw rows into a fresh
               SQLite file (no validation): about as fast as the hardware allows
  naive        pandas.read_csv + DataFrame.to_sql into SQLite
  folio local  folio.import_file(..., via="local"), full validation, fresh store
  folio celery the same through a solo worker on the embedded broker (the file in
               an import root, as on shared storage: the worker reads it in place)
  pg floor / pg folio  the same on PostgreSQL (COPY for the floor) when
               FOLIO_BENCH_DATABASE_URL, FOLIO_TEST_DATABASE_URL or FOLIO_DATABASE_URL
               is a PostgreSQL URL (one allowed to create databases): each run
               creates and drops its own database there. The SQLite and embedded
               broker runs stay embedded whatever FOLIO_* variables are set
The runs go in rounds, each round running every one of these once in the same
order, so a machine whose speed drifts over minutes (this one's does) drifts for
all alike; between runs the last run's files are removed and the disk synced
(untimed), so no run pays for an earlier one's writes. Both folio ways are warm,
as a kernel and a long-running worker are: before each timed import, one of the
same size into another portfolio (a fresh worker's first large import ran about
10% slower than a kernel's that had imported before).
Then the peak RSS of a folio local import (in a child process, so it is its own),
the longest time that import went without progress news, and the peak RSS of a
folio local import of a --big-rows file (default 10,000,000 rows, about 1.1 GB;
0 skips it), read and checked in blocks.

Usage: python benchmarks/import_bench.py [--rows N] [--runs K] [--big-rows M] [--json]
                                         [--skip-celery]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import holdings_file  # noqa: E402


def timed(fn):
    """``fn(x)`` as a runner that returns its seconds (also kept as ``run.last``)."""
    def run(x) -> float:
        start = time.perf_counter()
        fn(x)
        run.last = time.perf_counter() - start
        return run.last

    run.last = 0.0
    return run


def embedded(home: Path) -> dict[str, object]:
    """Settings for a store and broker under ``home`` (SQLite), whatever FOLIO_* says."""
    from folio.config import embedded_urls

    return {"home": home, **embedded_urls(home)}


PG_URL_VARIABLES = ("FOLIO_BENCH_DATABASE_URL", "FOLIO_TEST_DATABASE_URL", "FOLIO_DATABASE_URL")
NO_PG_URL = f"no PostgreSQL URL: set one of {', '.join(PG_URL_VARIABLES)}"


def pg_admin_url() -> str | None:
    """The PostgreSQL server to measure on, if any (each run makes its own database there)."""
    for name in PG_URL_VARIABLES:
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    return None


def quiet(*paths: Path, keep_engines: bool = False) -> None:
    """Between runs, untimed: background work done, the last run's files gone, disk synced."""
    import shutil

    from folio.store.bulk import remove_stage
    from folio.store.db import dispose_all, settle

    settle() if keep_engines else dispose_all()  # both wait for checkpoints and scratch removals
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            remove_stage(path)  # an SQLite file with its journal, WAL and shared memory
    if hasattr(os, "sync"):
        os.sync()


def into_new_file(folder: Path, prefix: str, work):
    """A runner: ``work(out)`` timed, ``out`` a new SQLite file removed after the run."""
    def run(i: int) -> float:
        out = folder / f"{prefix}-{i}-{uuid.uuid4().hex}.db"
        try:
            return measure(out)
        finally:
            quiet(out)

    measure = timed(work)
    return run


def floor_sqlite(path: Path, folder: Path):
    import adbc_driver_sqlite.dbapi as adbc
    import pyarrow.csv as pacsv

    def ingest(out: Path) -> None:
        table = pacsv.read_csv(path)
        with adbc.connect(str(out)) as conn:
            conn.cursor().adbc_ingest("positions", table, mode="create")
            conn.commit()

    return into_new_file(folder, "floor", ingest)


def naive_sqlite(path: Path, folder: Path):
    import pandas as pd
    import sqlalchemy as sa

    def write(out: Path) -> None:
        frame = pd.read_csv(path)
        engine = sa.create_engine(f"sqlite:///{out}")
        frame.to_sql("positions", engine, index=False)
        engine.dispose()

    return into_new_file(folder, "naive", write)


def fresh_pg_database(admin_url: str) -> str:
    """A new empty database on the server (dropped by nobody: names are unique)."""
    import sqlalchemy as sa

    url = sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg")
    name = f"folio_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, url: str) -> None:
    import sqlalchemy as sa

    from folio.store.db import dispose_all

    dispose_all()
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(sa.engine.make_url(admin_url).set(drivername="postgresql+psycopg"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def folio_import(path: Path, folder: Path, via: str, warm_rows: int,
                 database_url: str | None = None, drop_index: bool = False):
    """A runner of one folio import; ``drop_index``: without the positions' index by
    snapshot (dropped after the warm-up), to measure what maintaining it costs."""
    import folio
    from folio import timing

    warm = folder / "warm-up.csv"

    def run(i: int) -> float:
        home = folder / f"{via}-{i}-{uuid.uuid4().hex}"
        # The file is in an import root, as on shared storage in a team
        # deployment: the worker reads it where it is, nothing is copied.
        overrides = {**embedded(home), "import_roots": [home / "uploads", path.parent]}
        fresh = fresh_pg_database(database_url) if database_url else None
        if fresh:
            overrides["database_url"] = fresh
        if not warm.exists():
            holdings_file.write(warm, warm_rows, seed=11, portfolio="WARM-UP")
        try:
            with folio.configure(**overrides):
                worker = folio.start_worker() if via == "celery" else None
                try:
                    # Warm, as a kernel and a long-running worker are: an import
                    # of another portfolio first, then time the big one alone.
                    folio.import_file(warm, "WARM-UP", via=via)
                    if drop_index:
                        _drop_positions_index()
                    quiet(keep_engines=True)
                    checkpointed()  # the worker's checkpoint of the warm-up, in its process
                    with timing.recording() as split:  # spans of this process (local only)
                        start, wall, cpu = time.perf_counter(), time.time(), process_cpu()
                        result = folio.import_file(path, "BACKFILL", via=via)  # a fresh home
                        run.last = time.perf_counter() - start
                        cpu = process_cpu() - cpu
                    run.splits.append(dict(split, total=run.last))
                    run.cpu.append(cpu)
                    assert result.status == "partially_succeeded", result.summary()
                    run.parts.append(_parts(result.import_id, wall, wall + run.last))
                finally:
                    if worker:
                        worker.stop()
                    if fresh:
                        drop_pg_database(database_url, fresh)
        finally:
            quiet(home)
        return run.last

    run.last = 0.0
    run.parts = []
    run.splits = []
    run.cpu = []
    return run


def process_cpu() -> float:
    """CPU seconds (user + system, every thread) of this process so far: unlike the
    wall clock, the same on a loaded machine as on a quiet one."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _drop_positions_index() -> None:
    from folio.config import get_settings
    from folio.store.db import get_engine
    from folio.store.schema import IMPORT_INDEX

    with get_engine(get_settings()).begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {IMPORT_INDEX}")


# The split of an import's time, in the order an import goes. Spans ending in
# " (bg)" ran on another thread, overlapped with the others: not in "other".
SPLIT = ("read", "check", "stage", "stage copy (bg)", "copy idle (bg)", "copy wait", "lock",
         "delete", "copy", "issues", "commit")


def split_line(splits: list[dict[str, float]]) -> str:
    """The median of each span over the runs, and what no span covers ("other")."""
    names = [n for n in SPLIT if any(n in s for s in splits)]
    names += sorted({n for s in splits for n in s} - set(SPLIT) - {"total"})
    medians = {n: statistics.median(s.get(n, 0.0) for s in splits) for n in names}
    other = statistics.median(
        s["total"] - sum(v for n, v in s.items() if n != "total" and not n.endswith("(bg)"))
        for s in splits)
    return ", ".join([f"{n} {v:.2f}" for n, v in medians.items()] + [f"other {other:.2f}"])


def checkpointed() -> None:
    """Wait until the store's WAL is in its database file, whoever checkpoints it.

    A worker checkpoints after storing a task's result, in its own process;
    the timed import must not start while that is writing.
    """
    from folio.config import get_settings
    from folio.store.db import get_engine

    engine = get_engine(get_settings())
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:  # waits for a checkpoint under way, then does the rest
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _parts(import_id: str, submitted: float, answered: float) -> tuple[float, float, float]:
    """(submit to claim, claim to commit, commit to the caller's answer), in seconds,
    from the import record's timestamps (written in UTC)."""
    from datetime import UTC

    from folio.config import get_settings
    from folio.store import queries
    from folio.store.db import get_engine

    record = queries.get_import(get_engine(get_settings()), import_id)
    started, finished = (record[k].replace(tzinfo=record[k].tzinfo or UTC).timestamp()
                         for k in ("started_at", "finished_at"))
    return started - submitted, finished - started, answered - finished


def pg_floor(path: Path, url: str):
    import psycopg
    import pyarrow.csv as pacsv

    def copy(i: int) -> None:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={n: "string" for n in ("Quantity",)}))
        name = f"floor_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            cols = ", ".join(f'"{c}" text' for c in table.column_names)
            conn.execute(f"CREATE TABLE {name} ({cols})")
            with conn.cursor().copy(f"COPY {name} FROM STDIN (FORMAT csv, HEADER true)") as copy:
                with open(path, "rb") as fh:
                    while block := fh.read(1 << 20):
                        copy.write(block)
            conn.execute(f"DROP TABLE {name}")

    measure = timed(copy)

    def run(i: int) -> float:
        try:
            return measure(i)
        finally:
            quiet()

    return run


def peak_rss_mb(path: Path, folder: Path) -> float:
    """Peak RSS of one folio local import, measured in a fresh child process."""
    return _child_import(path, folder)[0]


def _child_import(path: Path, folder: Path,
                  database_url: str | None = None) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, rows imported) of a folio local import in a fresh child
    (into ``database_url`` if given, else an embedded store)."""
    settings = {k: str(v) for k, v in embedded(folder / f"rss-{uuid.uuid4().hex}").items()}
    if database_url:
        settings["database_url"] = database_url
    # Linux keeps ru_maxrss across fork and exec: a child of this (large) process
    # would report the parent's peak. VmHWM belongs to the child's own memory.
    code = (
        "import resource, sys, time, folio\n"
        f"folio.configure(**{settings!r})\n"
        "start = time.perf_counter()\n"
        f"result = folio.import_file({str(path)!r}, 'BACKFILL', via='local')\n"
        "took = time.perf_counter() - start\n"
        "try:\n"
        "    status = open('/proc/self/status').read()\n"
        "    kb = int(status.split('VmHWM:')[1].split()[0])\n"
        "except OSError:\n"
        "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    kb = kb // 1024 if sys.platform == 'darwin' else kb\n"
        "print(kb, took, result.rows_imported)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    kb, took, rows = out.stdout.strip().splitlines()[-1].split()
    return int(kb) / 1024, float(took), int(rows)


def progress_gap_s(path: Path, folder: Path) -> float:
    """The longest time a folio local import went without news (progress or stage)."""
    import folio

    with folio.configure(**embedded(folder / f"gap-{uuid.uuid4().hex}")):
        job = folio.submit_import(path, "BACKFILL", via="local")
        last, seen, gap = time.perf_counter(), None, 0.0
        while not job.wait(0.02):
            news = (job.progress, job.status_message)
            now = time.perf_counter()
            if news != seen:
                gap, last, seen = max(gap, now - last), now, news
        gap = max(gap, time.perf_counter() - last)
        job.result()
    return gap


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument("--index-cost", action="store_true",
                        help="also time PostgreSQL folio without the positions' index")
    parser.add_argument("--big-rows", type=int, default=10_000_000,
                        help="rows of the file whose import's peak RSS is measured (0: skip)")
    args = parser.parse_args()
    pg_url = pg_admin_url()
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "holdings.csv"
        bad = holdings_file.write(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows, {size_mb:.0f} MB, {bad:,} bad rows; median of {args.runs}, "
              f"in rounds")
        runners = {"floor": floor_sqlite(path, folder), "naive": naive_sqlite(path, folder),
                   "local": folio_import(path, folder, "local", args.rows)}
        if not args.skip_celery:
            runners["celery"] = folio_import(path, folder, "celery", args.rows)
        if pg_url:
            runners["pg_floor"] = pg_floor(path, pg_url)
            runners["pg_folio"] = folio_import(path, folder, "local", args.rows,
                                               database_url=pg_url)
            if args.index_cost:
                runners["pg_folio_noindex"] = folio_import(path, folder, "local", args.rows,
                                                           database_url=pg_url, drop_index=True)
        times: dict[str, list[float]] = {name: [] for name in runners}
        for i in range(args.runs):
            for name, runner in runners.items():
                times[name].append(runner(i))
        keys = {"floor": "floor_s", "naive": "naive_s", "local": "folio_local_s",
                "celery": "folio_celery_s", "pg_floor": "pg_floor_s", "pg_folio": "pg_folio_s",
                "pg_folio_noindex": "pg_folio_noindex_s"}
        for name in runners:
            figures[keys[name]] = statistics.median(times[name])
        modes = [m for m in ("local", "celery") if m in runners]
        figures["peak_rss_mb"] = peak_rss_mb(path, folder)
        figures["progress_gap_s"] = progress_gap_s(path, folder)
        if args.big_rows:
            big = folder / "big.csv"
            holdings_file.write(big, args.big_rows)
            path.unlink()  # disk: the big file is ten times the size
            big_rss, big_s, big_imported = _child_import(big, folder)
            figures["big_peak_rss_mb"], figures["big_s"] = big_rss, big_s
            if pg_url:
                fresh = fresh_pg_database(pg_url)
                try:
                    pg_big = _child_import(big, folder, fresh)
                finally:
                    drop_pg_database(pg_url, fresh)
                figures["pg_big_peak_rss_mb"], figures["pg_big_s"] = pg_big[:2]
            big_mb = big.stat().st_size / 1e6
    floor = figures["floor_s"]
    for key, label in [("floor_s", "floor (pyarrow + ADBC ingest)"), ("naive_s", "naive (read_csv + to_sql)"),
                       ("folio_local_s", "folio local"), ("folio_celery_s", "folio celery (solo, embedded)"),
                       ("pg_floor_s", "PostgreSQL floor (COPY)"), ("pg_folio_s", "PostgreSQL folio local"),
                       ("pg_folio_noindex_s", "PostgreSQL folio, no index")]:
        if key in figures:
            base = figures["pg_floor_s"] if key.startswith("pg_") else floor  # PG vs PG floor
            print(f"  {label:32s} {figures[key]:7.2f} s   {figures[key] / base:5.2f}x floor")
    print(f"  folio local vs naive: {figures['naive_s'] / figures['folio_local_s']:.2f}x faster")
    if "folio_celery_s" in figures:
        print(f"  folio celery / local: {figures['folio_celery_s'] / figures['folio_local_s']:.2f}x")
    # Each run, in the order run: the machine's drift shows here, not in a median.
    for name in times:
        print(f"  {name} runs: {', '.join(f'{t:.2f}' for t in times[name])} s")
    # Where a local import's time goes (seconds, median of the runs); Celery's
    # spans are in the worker's process.
    for name, label in (("local", "SQLite"), ("pg_folio", "PostgreSQL"),
                        ("pg_folio_noindex", "PostgreSQL, no index")):
        if name in runners:
            print(f"  split, folio local on {label}: {split_line(runners[name].splits)}")
            # Every thread of the import's process (not the database server's).
            figures[f"{name}_cpu_s"] = statistics.median(runners[name].cpu)
            print(f"  CPU of folio local on {label} (this process): "
                  f"{figures[f'{name}_cpu_s']:.2f} s")
    if "pg_folio_noindex" in runners:
        # What the import waits for its rows to be in: the copy in the write, or
        # (streamed) the wait for the last blocks sent.
        copies = [statistics.median(s.get("copy", 0.0) + s.get("copy wait", 0.0)
                                    for s in runners[n].splits)
                  for n in ("pg_folio", "pg_folio_noindex")]
        print(f"  index maintenance (copy + copy wait, with index - without): "
              f"{copies[0] - copies[1]:.2f} s")
    for mode in modes:
        print(f"  folio {mode}, to claim / import / to answer: "
              f"{', '.join('/'.join(f'{p:.2f}' for p in parts) for parts in runners[mode].parts)}")
    pairs = {"local / floor": ("local", "floor"), "celery / local": ("celery", "local"),
             "pg folio / pg floor": ("pg_folio", "pg_floor")}
    for label, (top, bottom) in pairs.items():
        if top in times:
            ratios = [t / b for t, b in zip(times[top], times[bottom], strict=True)]
            print(f"  {label}, round by round: {', '.join(f'{r:.2f}x' for r in ratios)}")
    print(f"  peak RSS of folio local: {figures['peak_rss_mb']:.0f} MB")
    print(f"  longest wait for progress news: {figures['progress_gap_s']:.2f} s")
    if args.big_rows:
        print(f"  {args.big_rows:,} rows ({big_mb:,.0f} MB): peak RSS of folio local "
              f"{figures['big_peak_rss_mb']:.0f} MB, {figures['big_s']:.0f} s, "
              f"{big_imported:,} rows imported")
        if "pg_big_s" in figures:
            print(f"  {args.big_rows:,} rows on PostgreSQL: peak RSS of folio local "
                  f"{figures['pg_big_peak_rss_mb']:.0f} MB, {figures['pg_big_s']:.0f} s")
    if args.json:
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
