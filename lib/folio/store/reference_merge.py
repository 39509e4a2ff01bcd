"""Merging reference rows into the store: what is new, changed or already there.

Owns comparing a file's rows with the stored rows of the same keys (dates as
days, floats to 1e-12, only the columns the file has) and writing the outcome
inside the load's transaction through the driver (COPY on PostgreSQL, plain
``executemany`` on SQLite): SQLAlchemy's per-row work costs seconds on an ECB
history of 240,000 rates (``benchmarks/bench_reference.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from folio.ingest.reference_kinds import KEYS
from folio.store import bulk, queries

OUTCOMES = ("added", "replaced", "skipped")
LOAD_LOCK = 0x666F6C696F524546  # "folioREF": the advisory lock reference loads take turns on
_CHUNK = 500


def _days(series: pd.Series) -> np.ndarray:
    """Date cells (date objects or ISO text, None for none) as days; a maturity of
    9999-12-31 is a day too, where nanosecond timestamps end in 2262."""
    values = series.tolist()
    try:  # Arrow converts date objects in C
        return pa.array(values, type=pa.date32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ISO text, as SQLite keeps dates
        # A missing cell may be None, NaN or NaT by now (x != x holds for the last two).
        return np.array([None if x is None or x != x else x for x in values],
                        dtype="datetime64[D]")


def _key_index(frame: pd.DataFrame, keys: list[str]) -> pd.MultiIndex:
    """Keys comparable across files, SQLite and PostgreSQL (dates as days)."""
    arrays = [_days(frame[k]) if k == "date" else frame[k].astype(object).to_numpy()
              for k in keys]
    return pd.MultiIndex.from_arrays(arrays, names=keys)


def _stored(conn, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The stored rows that may share a key with ``frame``, read through the driver
    (plain tuples: SQLAlchemy's rows cost seconds per 100,000)."""
    table = queries.REFERENCE_TABLES[name]
    names = [c.name for c in table.columns]
    quote = conn.dialect.identifier_preparer.quote
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    base = f"SELECT {', '.join(quote(c) for c in names)} FROM {quote(table.name)} WHERE "
    cursor = conn.connection.driver_connection.cursor()
    try:
        if name == "instruments":
            ids = frame["identifier"].tolist()
            rows = []
            for start, stop in bulk.chunks(len(ids), _CHUNK):
                part = ids[start:stop]
                cursor.execute(f"{base}{quote('identifier')} IN ({', '.join([mark] * len(part))})",
                               part)
                rows.extend(cursor.fetchall())
        else:  # dated tables: the days the files cover (ISO text on SQLite)
            days = _days(frame["date"])
            lo, hi = days.min().astype(object), days.max().astype(object)
            bounds = (lo, hi) if postgres else (lo.isoformat(), hi.isoformat())
            cursor.execute(f"{base}{quote('date')} BETWEEN {mark} AND {mark}", bounds)
            rows = cursor.fetchall()
    finally:
        cursor.close()
    return pd.DataFrame.from_records(rows, columns=names)


_FLOATS = ("rate", "price", "coupon", "modified_duration")


def _same(column: str, new: pd.Series, old: pd.Series) -> np.ndarray:
    """Cell by cell: the stored value equals the new one (floats to 1e-12)."""
    if column in _FLOATS:
        a, b = new.to_numpy(dtype=float), old.to_numpy(dtype=float)
        both = np.isnan(a) & np.isnan(b)
        with np.errstate(invalid="ignore"):
            return both | (np.abs(a - b) <= 1e-12 * np.maximum(np.abs(a), np.abs(b)))
    if column in ("date", "maturity_date"):
        a, b = _days(new), _days(old)
        return (np.isnat(a) & np.isnat(b)) | (a == b)
    a, b = new.astype(object), old.astype(object)
    return (a.isna() & b.isna()).to_numpy(bool) | (a == b).to_numpy(bool)


def merge(conn, name: str, frame: pd.DataFrame) -> dict[str, int]:
    """Add new keys, replace changed rows (only the columns the files gave), skip the rest."""
    counts = dict.fromkeys(OUTCOMES, 0)
    if frame.empty:
        return counts
    table = queries.REFERENCE_TABLES[name]
    keys = list(KEYS[name])
    values = [c for c in frame.columns if c not in keys]
    frame = frame.reset_index(drop=True)
    stored = _stored(conn, name, frame)
    at = _key_index(stored, keys).get_indexer(_key_index(frame, keys))
    new = at < 0
    same = ~new
    if same.any():
        old = stored.iloc[np.where(new, 0, at)].reset_index(drop=True)
        for column in values:
            same &= _same(column, frame[column], old[column]) | new
    changed = ~new & ~same
    counts.update(added=int(new.sum()), replaced=int(changed.sum()), skipped=int(same.sum()))
    _write(conn, table, frame[new], keys=None)
    _write(conn, table, frame[changed], keys=keys)
    return counts


def _write(conn, table, frame: pd.DataFrame, keys: list[str] | None) -> None:
    """Insert the rows (``keys`` None) or update them by key, through the driver:
    SQLAlchemy's per-row work costs seconds on an ECB history of 240,000 rates."""
    if frame.empty:
        return
    quote = conn.dialect.identifier_preparer.quote
    postgres = conn.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    columns = list(frame.columns)
    if keys is None and postgres:  # COPY: the fastest way in, inside the transaction
        raw = conn.connection.driver_connection
        sql = (f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
               f"FROM STDIN")
        with raw.cursor() as cursor, cursor.copy(sql) as copy:
            for row in _tuples(frame, columns):
                copy.write_row(row)
        return
    if keys is None:
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
               f"VALUES ({', '.join([mark] * len(columns))})")
        conn.exec_driver_sql(sql, _tuples(frame, columns))
        return
    values = [c for c in columns if c not in keys]
    sql = (f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(c)} = {mark}' for c in values)}"
           f" WHERE {' AND '.join(f'{quote(k)} = {mark}' for k in keys)}")
    conn.exec_driver_sql(sql, _tuples(frame, values + keys))


def _tuples(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Plain Python rows, None for missing, dates as ISO text (as SQLAlchemy keeps
    them on SQLite; PostgreSQL's COPY and parameters read it as a date)."""
    out = []
    for column in columns:
        series = frame[column]
        if column in ("date", "maturity_date"):
            days = _days(series)
            text = np.datetime_as_string(days, unit="D").astype(object)
            out.append(np.where(np.isnat(days), None, text).tolist())
        elif column in _FLOATS:
            numbers = series.to_numpy(dtype=float)
            out.append(np.where(np.isnan(numbers), None, numbers.astype(object)).tolist())
        else:
            out.append(series.astype(object).where(series.notna(), None).tolist())
    return list(zip(*out, strict=True))
