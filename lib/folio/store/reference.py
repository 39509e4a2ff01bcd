"""Reference data in the store: loading files of instruments, FX rates and prices.

Owns what a load does to the store: which files a path stands for, the
merge of their rows with those already stored (a row whose key is new is
added, one whose values differ replaces the stored one, one the store already
holds as it is is skipped, so loading twice changes nothing), and that a load
is one transaction: a bad cell in the last file leaves the store as it was.
Reading and checking a file is ``folio.ingest.reference``'s job; comparing and
writing rows, ``reference_merge``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from folio.config import PROJECT_DATA, Settings, get_settings
from folio.errors import ReadError
from folio.ingest.parse import check_mark
from folio.ingest.reference import ReferenceTable, read_references, type_cells
from folio.ingest.reference_kinds import KEYS
from folio.store.db import get_engine, writing
from folio.store.reference_merge import LOAD_LOCK, OUTCOMES, merge

SUFFIXES = (".csv", ".xlsx", ".zip")


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
    warnings
        What was stored but may be wrong, one dict a file's column (``code``,
        ``file``, ``row``, ``column``, ``value``, ``message``): an
        ``ambiguous_decimal`` column, whose numbers read either way (``655.957``)
        and were read with the delimiter's convention; ``decimal=`` settles it.
    """

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

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
                "counts": self.counts, "files": self.files, "warnings": self.warnings}

    def summary(self) -> str:
        """A few lines: per table what was added, replaced, skipped; per file its kind."""
        lines = [f"{table}: {c['added']:,} added, {c['replaced']:,} replaced, "
                 f"{c['skipped']:,} skipped (already stored)"
                 for table, c in self.counts.items()]
        for f in self.files:
            note = f", {f['blank_cells']:,} cells without a rate (N/A)" if f["blank_cells"] else ""
            ignored = f"; columns not used: {', '.join(f['ignored'])}" if f["ignored"] else ""
            lines.append(f"  {f['file']}: {f['kind']}, {f['rows']:,} rows{note}{ignored}")
        lines += [f"  [warning] {w['code']}: {w['message']}" for w in self.warnings]
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
                   quote: str | None = None, decimal: str | None = None,
                   settings: Settings | None = None) -> ReferenceLoad:
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
    decimal
        The files' decimal mark, ``","`` or ``"."``; default the one their cells
        show. Where none does (every rate a ``655.957``) the delimiter's
        convention reads them, and ``warnings`` says so (``ambiguous_decimal``).
    settings
        The store to load into (default: the current settings).

    Returns
    -------
    ReferenceLoad
        Rows added, replaced and skipped per table, what each file was, and its
        warnings.

    Raises
    ------
    ReadError, MappingError
        A file that cannot be read, whose kind cannot be told, or a bad cell
        (file, row, column and value named). Nothing is stored then.
    """
    check_mark(decimal)
    tables = [table for path in reference_files(paths)
              for table in read_references(path, quote=quote, decimal=decimal)]
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
        result.warnings.extend(t.warnings)
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
            counts = merge(conn, t.table, t.frame.drop(columns="row"))
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
