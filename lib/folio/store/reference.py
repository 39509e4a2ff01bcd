"""Reference data in the store: loading files of instruments, FX rates and prices.

Owns what a load does to the store: which files a path stands for, the
merge of their rows with those already stored (a row whose key is new is
added, one whose values differ replaces the stored one, one the store already
holds as it is is skipped, so loading twice changes nothing), and that a load
is one transaction: a bad cell in the last file leaves the store as it was.
Reading and checking a file is ``folio.ingest.reference``'s job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from folio.config import PROJECT_DATA, Settings, get_settings
from folio.errors import ReadError
from folio.ingest.reference import KEYS, ReferenceTable, read_references, type_cells
from folio.store import bulk, queries
from folio.store.db import get_engine, writing

SUFFIXES = (".csv", ".xlsx", ".zip")
OUTCOMES = ("added", "replaced", "skipped")
_CHUNK = 500
LOAD_LOCK = 0x666F6C696F524546  # "folioREF": the advisory lock reference loads take turns on


@dataclass
class ReferenceLoad:
    """What a reference load did.

    Attributes
    ----------
    counts
        Per table (``instruments``, ``fx_rates``, ``prices``): rows ``added``
        (new key), ``replaced`` (a stored row with other values) and ``skipped``
        (already stored as they are).
    files
        Per file read: its name, kind, rows, the cells that said there is no
        value (``N/A`` in an ECB file), its columns used and ignored.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)

    def total(self, outcome: str) -> int:
        """Rows of every table with ``outcome`` (added, replaced or skipped)."""
        return sum(c[outcome] for c in self.counts.values())

    @property
    def added(self) -> int:
        return self.total("added")

    @property
    def replaced(self) -> int:
        return self.total("replaced")

    @property
    def skipped(self) -> int:
        return self.total("skipped")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``."""
        return {"added": self.added, "replaced": self.replaced, "skipped": self.skipped,
                "counts": self.counts, "files": self.files}

    def summary(self) -> str:
        """A few lines: per table what was added, replaced, skipped; per file its kind."""
        lines = [f"{table}: {c['added']:,} added, {c['replaced']:,} replaced, "
                 f"{c['skipped']:,} skipped (already stored)"
                 for table, c in self.counts.items()]
        for f in self.files:
            note = f", {f['blank_cells']:,} cells without a rate (N/A)" if f["blank_cells"] else ""
            ignored = f"; columns not used: {', '.join(f['ignored'])}" if f["ignored"] else ""
            lines.append(f"  {f['file']}: {f['kind']}, {f['rows']:,} rows{note}{ignored}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def reference_files(paths: str | Path | Iterable[str | Path] | None) -> list[Path]:
    """The files a load reads: each file given, and the CSV/XLSX/zip files of each folder.

    Default: the project's ``data/reference`` folder. Raises ``ReadError`` for a
    path that does not exist or a folder without reference files.
    """
    if paths is None:
        paths = [PROJECT_DATA / "reference"]
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in SUFFIXES
                            and not p.name.startswith((".", "~$")))
            if not inside:
                raise ReadError(f"{path}: a folder without reference files (CSV or XLSX)",
                                file=str(path))
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise ReadError(f"{path}: no such reference file or folder", file=str(path))
    return found


def load_reference(paths: str | Path | Iterable[str | Path] | None = None, *,
                   quote: str | None = None, settings: Settings | None = None
                   ) -> ReferenceLoad:
    """Load reference files (instruments, FX rates, prices) into the store.

    Parameters
    ----------
    paths
        A folder, a file, or several of either; default the project's
        ``data/reference``. CSV (any delimiter, decimal comma or dot, English
        or French headers) or XLSX; each file's kind is decided from its
        columns. The ECB's ``eurofxref-hist.csv`` and ``eurofxref.csv`` are
        read as published, zipped (``eurofxref-hist.zip``) or not.
    quote
        The currency of a rates table that has one currency column
        (``Devise;Date;Cours``): ``XOF`` for BCEAO rates, ``XAF`` for BEAC.
    settings
        The store to load into (default: the current settings).

    Returns
    -------
    ReferenceLoad
        Rows added, replaced and skipped per table, and what each file was.

    Raises
    ------
    ReadError, MappingError
        A file that cannot be read, whose kind cannot be told, or a bad cell
        (file, row, column and value named). Nothing is stored then.
    """
    tables = [table for path in reference_files(paths)
              for table in read_references(path, quote=quote)]
    return store_reference(tables, settings=settings)


def store_reference(tables: list[ReferenceTable], *, settings: Settings | None = None
                    ) -> ReferenceLoad:
    """Merge read reference tables into the store, file by file, in one transaction."""
    result = ReferenceLoad()
    by_table: dict[str, list[ReferenceTable]] = {}
    for t in tables:
        by_table.setdefault(t.table, []).append(t)
        result.files.append({"file": t.file, "kind": t.kind, "rows": len(t.frame),
                             "blank_cells": t.blank_cells, "columns": t.columns,
                             "ignored": t.ignored})
    for name, group in by_table.items():
        _no_clash(name, group)
    engine = get_engine(settings or get_settings())
    with writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Loads take turns, as SQLite's write lock makes them there: two loads
            # of one file would both find a rate new, and the second fail on it.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (LOAD_LOCK,))
        for t in tables:
            # The same key in a later file, alike, is then skipped: it is stored.
            counts = _merge(conn, t.table, t.frame.drop(columns="row"))
            total = result.counts.setdefault(t.table, dict.fromkeys(OUTCOMES, 0))
            for outcome in OUTCOMES:
                total[outcome] += counts[outcome]
    return result


def _no_clash(table: str, group: list[ReferenceTable]) -> None:
    """Two files giving one key different values (in the columns both have) is an
    error: which to keep is the analyst's call, not the file order's."""
    if len(group) < 2:
        return
    keys = list(KEYS[table])
    common = set.intersection(*(set(t.frame.columns) for t in group)) - {*keys, "row"}
    frame = pd.concat([t.frame[[*keys, *sorted(common), "row"]].assign(_file=t.file)
                       for t in group], ignore_index=True)
    rest = frame[~frame.duplicated([*keys, *sorted(common)], keep="first").to_numpy(bool)]
    clash = rest.duplicated(keys, keep=False).to_numpy(bool)
    if clash.any():
        two = rest[clash].sort_values(keys, kind="stable").iloc[:2]
        key = ", ".join(str(two[k].iloc[0]) for k in keys)
        where = " and ".join(f"{f} row {r}" for f, r in zip(two["_file"], two["row"], strict=True))
        raise ReadError(f"{where} give {table} {key} different values; keep one",
                        file=str(two["_file"].iloc[1]), row=int(two["row"].iloc[1]),
                        column=keys[-1], value=key)


def _days(series: pd.Series) -> np.ndarray:
    """Date cells (date objects or ISO text, None for none) as days; a maturity of
    9999-12-31 is a day too, where nanosecond timestamps end in 2262."""
    values = series.tolist()
    try:  # Arrow converts date objects in C
        return pa.array(values, type=pa.date32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # ISO text, as SQLite keeps dates
        return np.array(values, dtype="datetime64[D]")


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


def _merge(conn, name: str, frame: pd.DataFrame) -> dict[str, int]:
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


def _cell(value: object) -> str | None:
    """A value as the text a file would hold (a datetime or Timestamp as its day)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _one_value(kind: str, cells: dict[str, object], label: str,
               settings: Settings | None) -> ReferenceLoad:
    """Check one value as a file cell would be checked, and store it."""
    raw = pd.DataFrame({k: pd.Series([_cell(v)], dtype="string") for k, v in cells.items()})
    frame, _ = type_cells(label, kind, raw, {k: k for k in cells}, np.array([1]))
    table = ReferenceTable(label, kind, frame, {k: k for k in cells})
    return store_reference([table], settings=settings)


def add_fx_rate(base: str, quote: str, rate: float, date: date | str, *,
                settings: Settings | None = None) -> ReferenceLoad:
    """Store one FX rate: 1 ``base`` = ``rate`` ``quote`` on ``date``.

    Replaces a stored rate of the same date and pair; the result says whether
    it was added, replaced or skipped (the same rate already stored).

    Raises
    ------
    ReadError
        A currency that is not ISO 4217, a rate that is not a positive
        number, or a date that is not one (column and value named).
    """
    return _one_value("fx_rates", {"date": date, "base": base, "quote": quote, "rate": rate},
                      "add_fx_rate", settings)


def add_price(identifier: str, price: float, date: date | str, currency: str | None = None,
              *, settings: Settings | None = None) -> ReferenceLoad:
    """Store one reference price of ``identifier`` on ``date`` (per 100 for a bond).

    Replaces a stored price of the same date and instrument; the result says
    whether it was added, replaced or skipped.

    Raises
    ------
    ReadError
        An empty identifier, a negative or non-numeric price, a bad date or
        currency (column and value named).
    """
    cells: dict[str, object] = {"identifier": identifier, "date": date, "price": price}
    if currency is not None:
        cells["currency"] = currency
    return _one_value("prices", cells, "add_price", settings)
