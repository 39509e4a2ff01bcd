"""Writing many rows fast: the bulk paths of a snapshot write, by database.

Owns how a frame of positions or issues reaches a table inside the import's
transaction. SQLAlchemy's per-row parameter processing costs more than the
database itself on large snapshots, so rows go to the driver directly:

- PostgreSQL: ``COPY ... FROM STDIN`` of CSV made by Arrow, on the transaction's
  own connection;
- SQLite, large frames: an ADBC bulk ingest into a scratch file *before* the
  transaction (Arrow columns, no Python tuples), attached to the transaction and
  copied with ``INSERT ... SELECT``, so the positions still appear atomically
  or not at all;
- otherwise: the driver's ``executemany`` on plain tuples.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, select, text

from folio.store.schema import FINAL_STATUSES, imports

Progress = Callable[[int, int, str], None]  # (done, total, stage)

# Below this many rows executemany is as fast, and needs no second connection.
STAGE_MIN_ROWS = 50_000
STAGE_BATCH = 100_000  # at most this many rows per Arrow batch and INSERT ... SELECT step
STAGE_PREFIX = ".stage-"

POSITION_FIELDS = ("row", "identifier", "name", "quantity", "price", "market_value",
                   "accrued_interest", "currency", "issuer", "country", "asset_class",
                   "maturity_date")
ISSUE_FIELDS = ("row", "column", "code", "severity", "value", "message")
_NUMBERS = ("quantity", "price", "market_value", "accrued_interest")


def chunks(n: int, size: int):
    """(start, stop) of consecutive slices of ``size`` over ``n`` items."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


def _column_values(frame: pd.DataFrame, name: str, sqlite: bool) -> list:
    """One column as DBAPI values: None for missing, dates as the dialect stores them."""
    series = frame[name]
    if name == "maturity_date":
        days = series.to_numpy(dtype="datetime64[D]")
        # SQLAlchemy keeps SQLite dates as ISO text; write them the same way.
        values = days.astype(str).astype(object) if sqlite else days.astype(object)
        return np.where(np.isnat(days), None, values).tolist()
    if name in _NUMBERS:
        arr = series.to_numpy(dtype=np.float64)
        return np.where(np.isnan(arr), None, arr).tolist()
    if name == "row":
        return series.astype("int64").tolist()
    return series.astype(object).where(series.notna(), None).tolist()


def insert_rows(conn: Connection, table, fixed: Mapping[str, Any], frame: pd.DataFrame,
                fields: tuple[str, ...], progress: Progress | None = None) -> None:
    """Insert a frame inside the transaction: COPY on PostgreSQL, else executemany."""
    total = len(frame)
    if total == 0:
        return
    if conn.dialect.name == "postgresql":
        _copy_csv(conn, table, fixed, frame, fields, progress)
        return
    sqlite = conn.dialect.name == "sqlite"
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    fixed_values = [v.isoformat() if sqlite and isinstance(v, date) else v
                    for v in fixed.values()]
    for start, stop in chunks(total, max(2000, total // 20)):  # progress every 5%
        part = frame.iloc[start:stop]
        columns = [_column_values(part, f, sqlite) for f in fields]
        conn.exec_driver_sql(sql, [(*fixed_values, *values)
                                   for values in zip(*columns, strict=True)])
        if progress:
            progress(stop, total, "writing")


def _copy_csv(conn: Connection, table, fixed: Mapping[str, Any], frame: pd.DataFrame,
              fields: tuple[str, ...], progress: Progress | None) -> None:
    """COPY the frame as CSV made by Arrow, through the transaction's own connection.

    Arrow quotes every string and leaves nulls unquoted and empty, which is
    exactly how PostgreSQL's CSV format tells NULL from an empty string.
    """
    import pyarrow.csv as pacsv

    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    cursor = conn.connection.driver_connection.cursor()
    total = len(frame)
    options = pacsv.WriteOptions(include_header=False)
    with cursor.copy(f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                     f"FROM STDIN (FORMAT csv)") as copy:
        for start, stop in chunks(total, batch_size(total)):
            part = frame.iloc[start:stop]
            constants = [pa.array([v.isoformat() if isinstance(v, date) else v] * len(part))
                         for v in fixed.values()]
            batch = pa.record_batch(constants + [_arrow_column(part, f) for f in fields],
                                    names=names)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(batch, sink, options)
            copy.write(sink.getvalue().to_pybytes())
            if progress:
                progress(stop, total, "writing")


# ---------------------------------------------------------------- SQLite staging
#
# The scratch rows go to a file of their own, never to the store's file: ADBC
# carries its own SQLite library, and two SQLite libraries with the same file
# open in one process break each other's POSIX locks (SQLite's documentation
# warns of corruption; a worker saw "database disk image is malformed").
# ADBC closes its file before the store's connection attaches it.

STAGE_SCHEMA = "folio_stage"
STAGE_TABLE = "rows"


def stage_path(engine: Engine, import_id: str) -> Path:
    return Path(engine.url.database).parent / f"{STAGE_PREFIX}{import_id}.db"


def can_stage(engine: Engine, rows: int) -> bool:
    """Whether a frame of ``rows`` rows goes through an ADBC scratch file."""
    if engine.dialect.name != "sqlite" or rows < STAGE_MIN_ROWS:
        return False
    database = engine.url.database
    if not database or database == ":memory:":
        return False
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:  # an optional speed-up: executemany works without it
        return False
    return True


def _arrow_column(frame: pd.DataFrame, name: str) -> pa.Array:
    series = frame[name]
    if name == "maturity_date":
        days = series.to_numpy(dtype="datetime64[D]")
        # SQLAlchemy keeps SQLite dates as ISO text; stage them the same way.
        return pa.array(days, type=pa.date32(), from_pandas=True).cast(pa.string())
    if name in _NUMBERS:
        return pa.array(series.to_numpy(dtype=np.float64), from_pandas=True)  # NaN -> NULL
    if name == "row":
        return pa.array(series.to_numpy(dtype=np.int64))
    arr = pa.array(series.astype(pd.StringDtype("pyarrow")).array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def batch_size(total: int) -> int:
    """Rows per step: progress at least every 5% of the write, steps not too small."""
    return max(10_000, min(STAGE_BATCH, total // 10))


def stage(engine: Engine, import_id: str, frame: pd.DataFrame, fields: tuple[str, ...],
          progress: Progress | None = None) -> Path:
    """Write ``frame`` into a new scratch file through ADBC; return its path.

    Runs before the import's transaction and touches nothing of the store;
    ``insert_staged`` copies the rows inside the transaction.
    """
    import adbc_driver_sqlite.dbapi as adbc

    drop_orphans(engine)
    path = stage_path(engine, import_id)
    remove_stage(path)
    total = len(frame)
    schema = pa.schema([(f, _arrow_column(frame.iloc[:0], f).type) for f in fields])

    def batches():
        for start, stop in chunks(total, batch_size(total)):
            part = frame.iloc[start:stop]
            yield pa.record_batch([_arrow_column(part, f) for f in fields], schema=schema)
            if progress:
                progress(stop // 2, total, "writing")  # staging is the first half

    try:
        with adbc.connect(str(path)) as conn:
            with conn.cursor() as cursor:
                cursor.execute("PRAGMA journal_mode = OFF")  # scratch: nothing to recover
                cursor.adbc_ingest(STAGE_TABLE,
                                   pa.RecordBatchReader.from_batches(schema, batches()),
                                   mode="create")
            conn.commit()
    except BaseException:
        remove_stage(path)
        raise
    return path


def insert_staged(conn: Connection, table, fixed: Mapping[str, Any], fields: tuple[str, ...],
                  total: int, progress: Progress | None = None) -> None:
    """Copy the attached scratch rows into ``table``, inside the transaction."""
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    select_list = ", ".join([f":{k}" for k in fixed] + [quote(f) for f in fields])
    sql = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"SELECT {select_list} FROM {STAGE_SCHEMA}.{STAGE_TABLE} "
               f"WHERE rowid > :lo AND rowid <= :hi ORDER BY rowid")
    values = {k: v.isoformat() if isinstance(v, date) else v for k, v in fixed.items()}
    # In steps, so progress keeps coming (an ADBC ingest numbers rows from 1).
    for start, stop in chunks(total, batch_size(total)):
        conn.execute(sql, {**values, "lo": start, "hi": stop})
        if progress:
            progress(total // 2 + stop // 2, total, "writing")


def remove_stage(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(f"{path}{suffix}")
        except OSError:  # not there, or in use (Windows): drop_orphans tries again later
            pass


def drop_orphans(engine: Engine) -> None:
    """Remove scratch files whose import is over (left by a process that was killed)."""
    folder = Path(engine.url.database).parent
    found = {p.name[len(STAGE_PREFIX):-3]: p for p in folder.glob(f"{STAGE_PREFIX}*.db")}
    if not found:
        return
    with engine.connect() as conn:
        live = set(conn.execute(select(imports.c.id).where(
            imports.c.id.in_(list(found)), imports.c.status.not_in(FINAL_STATUSES))).scalars())
    for import_id, path in found.items():
        if import_id not in live:
            remove_stage(path)
