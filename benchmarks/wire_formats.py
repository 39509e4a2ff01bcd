"""Wire formats to PostgreSQL for the same positions, as the import holds them (Arrow).

  csv     text CSV made by Arrow, COPY ... (FORMAT csv): what folio sent before
  binary  folio's binary COPY (folio.store.stream), COPY ... (FORMAT binary)
  adbc    ADBC's PostgreSQL driver (binary COPY from Arrow in C++), if installed
          (pip install adbc-driver-postgresql): the best a binary COPY can do

Each run COPYs --rows positions into a new table shaped as ``positions``, without
index, and commits; median of --runs runs in rounds, and each format's ratio to csv.
Needs a PostgreSQL URL (FOLIO_BENCH_DATABASE_URL, FOLIO_TEST_DATABASE_URL or
FOLIO_DATABASE_URL).

Usage: python benchmarks/wire_formats.py [--rows N] [--runs K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
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

FIXED = ("import_id", "portfolio", "as_of")


def positions_batches(path: Path, rows_per_batch: int = 100_000):
    """The file's rows as the sink's Arrow batches (positions' fields and types)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from folio.store.bulk import POSITION_FIELDS

    src = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"Quantity": pa.string(), "Market Value": pa.float64()}))
    n = src.num_rows
    columns = {"row": pa.array(range(n), pa.int64()), "identifier": src["ISIN"],
               "name": src["Security Name"], "quantity": pa.array(range(n), pa.float64()),
               "price": src["Clean Price"], "market_value": src["Market Value"],
               "accrued_interest": pa.nulls(n, pa.float64()),
               "currency": pc.if_else(pc.equal(src["Currency"], "FCFA"), "XAF", src["Currency"]),
               "issuer": src["Issuer"], "country": src["Country"],
               "asset_class": src["Asset Class"], "maturity_date": pa.nulls(n, pa.string()),
               "account": pa.nulls(n, pa.string())}
    table = pa.table({f: columns[f] for f in POSITION_FIELDS})
    return table.combine_chunks().to_batches(rows_per_batch)


def new_table(conn, name: str) -> None:
    """A table shaped as positions (its columns and types), without index or key."""
    conn.execute(f"CREATE TABLE {name} (LIKE positions)")
    conn.execute(f"ALTER TABLE {name} DROP COLUMN IF EXISTS id")


def run_folio(url: str, batches, kind: str) -> float:
    import psycopg
    import sqlalchemy as sa

    from folio.store import stream
    from folio.store.schema import positions

    fixed = {"import_id": uuid.uuid4().hex, "portfolio": "P", "as_of": _as_of()}
    name = f"wire_{uuid.uuid4().hex[:8]}"
    table = sa.Table(name, sa.MetaData(), *[sa.Column(c.name, c.type) for c in positions.columns
                                                   if c.name != "id"])
    fields = batches[0].schema.names
    with psycopg.connect(url) as conn:
        new_table(conn, name)
        conn.commit()
        start = time.perf_counter()
        if kind == "binary":
            names = ", ".join(f'"{n}"' for n in stream.wire_order(table, fixed, fields))
            stream.copy_rows(conn, f"COPY {name} ({names}) FROM STDIN (FORMAT binary)", table,
                             fixed, batches)
        else:
            names = ", ".join(f'"{n}"' for n in (*FIXED, *fields))
            with conn.cursor().copy(f"COPY {name} ({names}) FROM STDIN (FORMAT csv)") as copy:
                for batch in batches:
                    copy.write(csv_rows(fixed, batch))
        conn.commit()
        took = time.perf_counter() - start
        conn.execute(f"DROP TABLE {name}")
    return took


def csv_rows(fixed: dict, batch) -> memoryview:
    """Rows as CSV made by Arrow. Arrow quotes every string and leaves nulls unquoted
    and empty, which is exactly how PostgreSQL's CSV format tells NULL from ''."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    constants = [pa.array([v.isoformat() if hasattr(v, "isoformat") else v] * len(batch))
                 for v in fixed.values()]
    out = pa.record_batch(constants + list(batch.columns),
                          names=list(fixed) + list(batch.schema.names))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(out, sink, pacsv.WriteOptions(include_header=False))
    return memoryview(sink.getvalue())


def run_adbc(url: str, batches) -> float:
    import adbc_driver_postgresql.dbapi as adbc
    import pyarrow as pa

    n = sum(len(b) for b in batches)
    table = pa.Table.from_batches(batches)
    table = table.set_column(0, "row", table["row"].cast(pa.int32()))
    table = table.set_column(table.schema.get_field_index("maturity_date"), "maturity_date",
                             pa.nulls(n, pa.date32()))
    for i, (f, v) in enumerate(zip(FIXED, (uuid.uuid4().hex, "P", _as_of()), strict=True)):
        table = table.add_column(i, f, pa.array([v] * n))
    name = f"wire_{uuid.uuid4().hex[:8]}"
    with adbc.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute(f"CREATE TABLE {name} (LIKE positions)")
            cur.execute(f"ALTER TABLE {name} DROP COLUMN IF EXISTS id")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.adbc_ingest(name, table, mode="append")
        conn.commit()
        took = time.perf_counter() - start
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE {name}")
        conn.commit()
    return took


def _as_of():
    from datetime import date

    return date(2024, 1, 31)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    admin = pg_admin_url()
    if not admin:
        print(NO_PG_URL)
        return 1
    import sqlalchemy as sa

    from folio.store.schema import metadata

    url = fresh_pg_database(admin)
    engine = sa.create_engine(url)
    metadata.create_all(engine)  # positions, to copy the shape of
    engine.dispose()
    plain = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    runners = {"csv": lambda b: run_folio(plain, b, "csv"),
               "binary": lambda b: run_folio(plain, b, "binary")}
    try:
        import adbc_driver_postgresql.dbapi  # noqa: F401

        runners["adbc"] = lambda b: run_adbc(plain, b)
    except ImportError:
        print("(adbc-driver-postgresql not installed: adbc not measured)")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "holdings.csv"
            holdings_file.write(path, args.rows)
            batches = positions_batches(path)
        times = {k: [] for k in runners}
        for _ in range(args.runs):
            for kind, run in runners.items():
                times[kind].append(run(batches))
    finally:
        drop_pg_database(admin, url)
    csv = statistics.median(times["csv"])
    print(f"{args.rows:,} positions into a table without index, median of {args.runs}:")
    for kind, runs in times.items():
        ratios = [c / t for c, t in zip(times["csv"], runs, strict=True)]
        print(f"  {kind:7s} {statistics.median(runs):6.2f} s   {csv / statistics.median(runs):4.2f}x "
              f"csv's speed   round by round: {', '.join(f'{r:.2f}x' for r in ratios)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
