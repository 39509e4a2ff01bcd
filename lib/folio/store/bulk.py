"""Writing many rows fast: the bulk paths of a snapshot write, by database.

Owns how a frame of positions or issues reaches a table inside the import's
transaction. SQLAlchemy's per-row parameter processing costs more than the
database itself on large snapshots, so rows go to the driver directly:

- PostgreSQL: ``COPY ... FROM STDIN`` on the transaction's own connection;
- SQLite, large frames: an ADBC bulk ingest into a scratch table *before* the
  transaction (Arrow columns, no Python tuples), then one ``INSERT ... SELECT``
  inside it, so the positions still appear atomically or not at all;
- otherwise: the driver's ``executemany`` on plain tuples.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, text

Progress = Callable[[int, int], None]

# Below this many rows executemany is as fast, and needs no second connection.
STAGE_MIN_ROWS = 50_000
STAGE_BATCH = 100_000  # rows per Arrow batch and per INSERT ... SELECT step
STAGE_PREFIX = "_stage_"

POSITION_FIELDS = ("row", "identifier", "name", "quantity", "price", "market_value",
                   "accrued_interest", "currency", "issuer", "country", "asset_class",
                   "maturity_date")
ISSUE_FIELDS = ("row", "column", "code", "severity", "value", "message")
_NUMBERS = ("quantity", "price", "market_value", "accrued_interest")


def _chunks(n: int, size: int):
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
    if name in ("quantity", "price", "market_value", "accrued_interest"):
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
    sqlite = conn.dialect.name == "sqlite"
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    fixed_values = [v.isoformat() if sqlite and isinstance(v, date) else v
                    for v in fixed.values()]
    step = max(2000, total // 20)  # progress at least every 5%
    copy = None
    if conn.dialect.name == "postgresql":
        # COPY through the same connection, so still inside the import's transaction.
        cursor = conn.connection.driver_connection.cursor()
        copy = cursor.copy(f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
                           f"FROM STDIN")
        writer = copy.__enter__()
    try:
        for start, stop in _chunks(total, step):
            part = frame.iloc[start:stop]
            columns = [_column_values(part, f, sqlite) for f in fields]
            rows = [(*fixed_values, *values) for values in zip(*columns, strict=True)]
            if copy is not None:
                for row in rows:
                    writer.write_row(row)
            else:
                conn.exec_driver_sql(sql, rows)
            if progress:
                progress(stop, total)
    except BaseException:
        if copy is not None:
            copy.__exit__(*sys.exc_info())
        raise
    if copy is not None:
        copy.__exit__(None, None, None)


# ---------------------------------------------------------------- SQLite staging


def stage_name(import_id: str) -> str:
    return f"{STAGE_PREFIX}{import_id}"


def can_stage(engine: Engine, rows: int) -> bool:
    """Whether a frame of ``rows`` rows goes through an ADBC scratch table."""
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


def stage(engine: Engine, import_id: str, frame: pd.DataFrame, fields: tuple[str, ...],
          progress: Progress | None = None) -> str:
    """Write ``frame`` into a new scratch table through ADBC; return the table's name.

    Runs before the import's transaction (SQLite has one writer at a time) and
    commits on its own; the scratch table is not part of the store until
    ``insert_staged`` copies it inside the transaction.
    """
    import adbc_driver_sqlite.dbapi as adbc

    drop_orphans(engine)
    name = stage_name(import_id)
    total = len(frame)
    schema = pa.schema([(f, _arrow_column(frame.iloc[:0], f).type) for f in fields])

    def batches():
        for start, stop in _chunks(total, STAGE_BATCH):
            part = frame.iloc[start:stop]
            yield pa.record_batch([_arrow_column(part, f) for f in fields], schema=schema)
            if progress:
                progress(stop // 2, total)  # staging is the first half of the write

    with adbc.connect(engine.url.database) as conn:
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 30000")
            cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
            cursor.adbc_ingest(name, pa.RecordBatchReader.from_batches(schema, batches()),
                               mode="create")
        conn.commit()
    return name


def insert_staged(conn: Connection, table, fixed: Mapping[str, Any], staged: str,
                  fields: tuple[str, ...], total: int, progress: Progress | None = None) -> None:
    """Copy a scratch table into ``table`` inside the transaction, then drop it."""
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    select_list = ", ".join([f":{k}" for k in fixed] + [quote(f) for f in fields])
    sql = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"SELECT {select_list} FROM {quote(staged)} WHERE rowid > :lo AND rowid <= :hi "
               f"ORDER BY rowid")
    values = {k: v.isoformat() if isinstance(v, date) else v for k, v in fixed.items()}
    # In steps, so progress keeps coming (an ADBC ingest numbers rows from 1).
    for start, stop in _chunks(total, STAGE_BATCH):
        conn.execute(sql, {**values, "lo": start, "hi": stop})
        if progress:
            progress(total // 2 + stop // 2, total)
    conn.exec_driver_sql(f"DROP TABLE {quote(staged)}")  # with the transaction


def drop_staged(engine: Engine, staged: str) -> None:
    """Remove a scratch table the transaction did not consume (it rolled back)."""
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{staged}"')
    except Exception:  # best effort: drop_orphans removes it later
        pass


def drop_orphans(engine: Engine) -> None:
    """Drop scratch tables whose import is over (left by a process that was killed)."""
    from folio.store.schema import FINAL_STATUSES, imports

    with engine.connect() as conn:
        names = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, ?) = ?",
            (len(STAGE_PREFIX), STAGE_PREFIX)).scalars().all()
        if not names:
            return
        ids = [n[len(STAGE_PREFIX):] for n in names]
        live = set(conn.execute(
            imports.select().with_only_columns(imports.c.id)
            .where(imports.c.id.in_(ids), imports.c.status.not_in(FINAL_STATUSES))
        ).scalars().all())
    for import_id in ids:
        if import_id not in live:
            drop_staged(engine, stage_name(import_id))
