"""What each index on PostgreSQL's positions is for: the reads and deletes that use it.

A store of --snapshots snapshots of --rows positions each (made by SQL, not by
imports: only their reads are timed), then, with each index and without it:
  find one    the database's part of reading one snapshot (its rows found and counted)
  read one    queries.read_positions(portfolio, as_of): analytics of one date
  read all    queries.read_positions(portfolio): analytics over every date
              (valuation history, changes), one portfolio among the others
  delete      the write's delete of a replaced snapshot's rows (rolled back)
and what each costs a write: the server's COPY of --copy-rows positions (folio's
binary COPY, rolled back) into the filled table as the store makes it, with the
integer id key earlier stores had (a sequence and a primary key), and without
the snapshot index. The whole import's cost of the index is import_bench.py
--index-cost's figure.

Usage: python benchmarks/bench_indexes.py [--rows N] [--snapshots S] [--runs K]
                                          [--copy-rows M]
"""

from __future__ import annotations

import argparse
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
    keys = [(f"P{i % 4}", date(2024, 1, 31) + timedelta(days=7 * (i // 4)))
            for i in range(snapshots)]
    with engine.begin() as conn:
        for portfolio in sorted({p for p, _ in keys}):
            conn.exec_driver_sql("INSERT INTO portfolios (name, base_currency, created_at) "
                                 f"VALUES ('{portfolio}', 'EUR', now())")
        for n, (portfolio, as_of) in enumerate(keys):
            conn.exec_driver_sql(
                "INSERT INTO positions (import_id, portfolio, as_of, row, identifier, name, "
                "quantity, price, market_value, currency, issuer, country, asset_class) "
                f"SELECT 'imp{n}', '{portfolio}', DATE '{as_of}', g, 'SEC' || g, 'Holding ' || g, "
                "g, 100.0, g * 100.0, 'EUR', 'Issuer', 'FR', 'Equity' "
                f"FROM generate_series(1, {rows}) g")
            conn.exec_driver_sql(
                "INSERT INTO imports (id, portfolio, file_name, status, via, rows_total, "
                "rows_imported, rows_rejected, warnings, created_at) "
                f"VALUES ('imp{n}', '{portfolio}', 'f.csv', 'succeeded', 'local', {rows}, "
                f"{rows}, 0, 0, now())")
            conn.exec_driver_sql(
                "INSERT INTO snapshots (portfolio, as_of, import_id, content_hash) "
                f"VALUES ('{portfolio}', DATE '{as_of}', 'imp{n}', 'h{n}')")
        conn.exec_driver_sql("ANALYZE positions")
    return keys


def timings(engine, keys, runs: int) -> dict[str, float]:
    from sqlalchemy import delete

    from folio.store import queries
    from folio.store.schema import positions

    portfolio, as_of = keys[len(keys) // 2]
    out = {}
    for name, work in {
        "find one": lambda: _scalar(engine, (
            "SELECT count(*) FROM positions p JOIN snapshots s ON p.portfolio = s.portfolio "
            f"AND p.as_of = s.as_of WHERE s.portfolio = '{portfolio}' "
            f"AND s.as_of = DATE '{as_of}'")),
        "read one": lambda: queries.read_positions(engine, portfolio, as_of),
        "read all": lambda: queries.read_positions(engine, portfolio),
        "delete": lambda: _rolled_back(engine, delete(positions).where(
            positions.c.portfolio == portfolio, positions.c.as_of == as_of)),
    }.items():
        seconds = []
        for _ in range(runs):
            start = time.perf_counter()
            work()
            seconds.append(time.perf_counter() - start)
        out[name] = statistics.median(seconds)
    return out


def copy_seconds(engine, batches, runs: int) -> float:
    """Median seconds of a COPY of ``batches`` into positions, rolled back each time."""
    from datetime import date

    from folio.store import stream
    from folio.store.schema import positions

    fixed = {"import_id": "copy-cost", "portfolio": "P-COPY", "as_of": date(2030, 1, 31)}
    seconds = []
    for _ in range(runs):
        with engine.connect() as conn:
            sql = stream.copy_sql(conn, positions, [*fixed, *batches[0].schema.names])
            start = time.perf_counter()
            stream.copy_rows(conn.connection.driver_connection, sql, positions, fixed, batches)
            seconds.append(time.perf_counter() - start)
            conn.rollback()
    return statistics.median(seconds)


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(sql).scalar()


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
    from folio.store.schema import SNAPSHOT_INDEX

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
            copies["as the store makes it"] = copy_seconds(engine, batches, args.runs)
            with engine.begin() as conn:  # an earlier folio's table
                conn.exec_driver_sql("ALTER TABLE positions ADD COLUMN id SERIAL PRIMARY KEY")
            copies["with the id key"] = copy_seconds(engine, batches, args.runs)
            with engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE positions DROP COLUMN id")
                conn.exec_driver_sql(f"DROP INDEX {SNAPSHOT_INDEX}")
            without = timings(engine, keys, args.runs)
            copies["without the snapshot index"] = copy_seconds(engine, batches, args.runs)
    finally:
        drop_pg_database(admin, url)
    print(f"{args.snapshots} snapshots of {args.rows:,} positions ({args.snapshots * args.rows:,} "
          f"rows), median of {args.runs}:")
    for name in with_index:
        print(f"  {name:9s} with {SNAPSHOT_INDEX} {with_index[name]:6.2f} s, without "
              f"{without[name]:6.2f} s   ({without[name] / with_index[name]:.1f}x slower without)")
    base = copies["as the store makes it"]
    print(f"COPY of {args.copy_rows:,} positions into that table (binary, rolled back), "
          f"median of {args.runs}:")
    for name, seconds in copies.items():
        print(f"  {name:28s} {seconds:6.2f} s   {seconds / base:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
