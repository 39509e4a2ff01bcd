"""What each index on PostgreSQL's positions is for: the reads and deletes that use it.

A store of --snapshots snapshots of --rows positions each (made by SQL, not by
imports: only their reads are timed), then, with each index and without it:
  find one    the database's part of reading one snapshot (its rows found and counted)
  read one    queries.read_positions(portfolio, as_of): analytics of one date
  read all    queries.read_positions(portfolio): analytics over every date
              (valuation history, changes), one portfolio among the others
  delete      the write's delete of a replaced snapshot's rows (rolled back)
and what each costs a write: the COPY of a new import's --copy-rows positions
(folio's binary COPY, rolled back) into the filled table as the store makes it
(indexed by import), with an earlier folio's index by snapshot instead, with
that and the integer id key earlier stores also had (a sequence and a primary
key), and without index; in seconds and in the server's CPU seconds, which a
busy machine does not move. The whole import's cost of the index is
import_bench.py --index-cost's figure.

Usage: python benchmarks/bench_indexes.py [--rows N] [--snapshots S] [--runs K]
                                          [--copy-rows M]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import holdings_file  # noqa: E402
from import_bench import (  # noqa: E402
    NO_PG_URL,
    drop_pg_database,
    fresh_pg_database,
    pg_admin_url,
)


def fill(engine, rows: int, snapshots: int) -> list[tuple[str, date]]:
    """``snapshots`` snapshots of ``rows`` rows, over 4 portfolios and successive dates."""
    from folio.ingest.pipeline import new_import_id

    keys = [(f"P{i % 4}", date(2024, 1, 31) + timedelta(days=7 * (i // 4)))
            for i in range(snapshots)]
    ids = [new_import_id() for _ in keys]  # time-ordered, as imports' ids are
    with engine.begin() as conn:
        for portfolio in sorted({p for p, _ in keys}):
            conn.exec_driver_sql("INSERT INTO portfolios (name, base_currency, created_at) "
                                 f"VALUES ('{portfolio}', 'EUR', now())")
        for n, (portfolio, as_of) in enumerate(keys):
            conn.exec_driver_sql(
                "INSERT INTO positions (import_id, portfolio, as_of, row, identifier, name, "
                "quantity, price, market_value, currency, issuer, country, asset_class) "
                f"SELECT '{ids[n]}', '{portfolio}', DATE '{as_of}', g, 'SEC' || g, 'Holding ' || g, "
                "g, 100.0, g * 100.0, 'EUR', 'Issuer', 'FR', 'Equity' "
                f"FROM generate_series(1, {rows}) g")
            conn.exec_driver_sql(
                "INSERT INTO imports (id, portfolio, file_name, status, via, rows_total, "
                "rows_imported, rows_rejected, warnings, created_at) "
                f"VALUES ('{ids[n]}', '{portfolio}', 'f.csv', 'succeeded', 'local', {rows}, "
                f"{rows}, 0, 0, now())")
            conn.exec_driver_sql(
                "INSERT INTO snapshots (portfolio, as_of, import_id, content_hash) "
                f"VALUES ('{portfolio}', DATE '{as_of}', '{ids[n]}', 'h{n}')")
        conn.exec_driver_sql("ANALYZE positions")
    return keys


def timings(engine, keys, runs: int) -> dict[str, float]:
    from sqlalchemy import delete, func, select

    from folio.store import queries
    from folio.store.schema import positions, snapshots

    portfolio, as_of = keys[len(keys) // 2]
    with engine.connect() as conn:
        snapshot = conn.execute(select(snapshots).where(
            snapshots.c.portfolio == portfolio, snapshots.c.as_of == as_of)).first()
        rows_of = queries._rows_of(conn, snapshot)  # as the write and the reads find them
    out = {}
    for name, work in {
        "find one": lambda: _scalar(engine, select(func.count()).where(rows_of)),
        "read one": lambda: queries.read_positions(engine, portfolio, as_of),
        "read all": lambda: queries.read_positions(engine, portfolio),
        "delete": lambda: _rolled_back(engine, delete(positions).where(rows_of)),
    }.items():
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            work()
            seconds.append(time.perf_counter() - start)
        out[name] = statistics.median(seconds)
    return out


def copy_cost(engine, batches, runs: int) -> tuple[float, float | None]:
    """Median seconds of a COPY of ``batches`` into positions as a new import's (rolled
    back each time), and of the server's CPU for it (None where /proc is not there)."""
    from datetime import date

    from folio.ingest.pipeline import new_import_id
    from folio.store import stream
    from folio.store.schema import positions

    seconds, cpu = [], []
    for _ in range(runs):
        fixed = {"import_id": new_import_id(), "portfolio": "P2", "as_of": date(2030, 1, 31)}
        with engine.connect() as conn:
            server = _backend_cpu(conn)
            sql = stream.copy_sql(conn, positions, fixed, batches[0].schema.names)
            start, used = time.perf_counter(), server()
            stream.copy_rows(conn.connection.driver_connection, sql, positions, fixed, batches)
            seconds.append(time.perf_counter() - start)
            if used is not None:
                cpu.append(server() - used)
            conn.rollback()
    return statistics.median(seconds), statistics.median(cpu) if cpu else None


def _backend_cpu(conn):
    """A function giving the CPU seconds so far of ``conn``'s server process (a local
    server, on Linux), or None: unlike a wall time, not moved by a busy machine."""
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def used() -> float | None:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return used


def _scalar(engine, stmt):
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


def _rolled_back(engine, stmt) -> None:
    with engine.connect() as conn:
        conn.execute(stmt)
        conn.rollback()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--snapshots", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copy-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    admin = pg_admin_url()
    if not admin:
        print(NO_PG_URL)
        return 1
    from wire_formats import positions_batches

    import folio
    from folio.config import get_settings
    from folio.store.db import get_engine
    from folio.store.schema import IMPORT_INDEX, SNAPSHOT_INDEX

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "holdings.csv"
        holdings_file.write(path, args.copy_rows)
        batches = positions_batches(path, 150_000)  # the import's block size
    copies = {}
    url = fresh_pg_database(admin)
    try:
        with folio.configure(database_url=url):
            engine = get_engine(get_settings())
            keys = fill(engine, args.rows, args.snapshots)
            with_index = timings(engine, keys, args.runs)
            copies["as the store makes it"] = copy_cost(engine, batches, args.runs)
            with engine.begin() as conn:  # an earlier folio's index
                conn.exec_driver_sql(f"DROP INDEX {IMPORT_INDEX}")
                conn.exec_driver_sql(f"CREATE INDEX {SNAPSHOT_INDEX} ON positions "
                                     "(portfolio, as_of)")
            copies["index by snapshot (before)"] = copy_cost(engine, batches, args.runs)
            with engine.begin() as conn:  # and its table
                conn.exec_driver_sql("ALTER TABLE positions ADD COLUMN id SERIAL PRIMARY KEY")
            copies["and the id key (before that)"] = copy_cost(engine, batches, args.runs)
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE positions DROP COLUMN id")
                conn.exec_driver_sql(f"DROP INDEX {SNAPSHOT_INDEX}")
            without = timings(engine, keys, args.runs)
            copies["without index"] = copy_cost(engine, batches, args.runs)
    finally:
        drop_pg_database(admin, url)
    print(f"{args.snapshots} snapshots of {args.rows:,} positions ({args.snapshots * args.rows:,} "
          f"rows), median of {args.runs}:")
    for name in with_index:
        print(f"  {name:9s} with {IMPORT_INDEX} {with_index[name]:6.2f} s, without "
              f"{without[name]:6.2f} s   ({without[name] / with_index[name]:.1f}x slower without)")
    base = copies["as the store makes it"]
    print(f"COPY of {args.copy_rows:,} positions of a new import into that table (binary, "
          f"rolled back), median of {args.runs}; the server's CPU where it can be read:")
    for name, (seconds, cpu) in copies.items():
        server = (f"   server CPU {cpu:5.2f} s  {cpu / base[1]:4.2f}x"
                  if cpu is not None and base[1] else "")
        print(f"  {name:30s} {seconds:6.2f} s  {seconds / base[0]:4.2f}x{server}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
