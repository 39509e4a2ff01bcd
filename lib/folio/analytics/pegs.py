"""Fixed parities: legal pegs and euro conversion rates, as a dated table.

Owns the table's format (``pegs.csv`` beside this module, or any file or frame
with its columns), its checks, and the resolution of a currency on a date to
the currency at the end of its chain of parities with the units per unit of
that root: XAF on 2024-03-31 is 655.957 per EUR; XAF on 1995-06-30 is 100 per
FRF, and FRF had no parity then, so FRF is its root.

The table is data: a new parity, or the end of one, is a new line, not code.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.frames import LAST_DAY, to_dates
from folio.errors import ConfigError

PEGS_FILE = Path(__file__).with_name("pegs.csv")
COLUMNS = ("currency", "anchor", "currency_units", "anchor_units", "valid_from", "valid_to",
           "kind", "source")
KINDS = ("peg", "conversion")
_MAX_CHAIN = 8  # XAF -> FRF -> EUR is two; a longer chain is a loop in the table


def _fail(source: str, line: int | None, column: str | None, message: str) -> ConfigError:
    where = f"{source}, line {line}" if line is not None else source
    return ConfigError(f"{where}: {message}", file=source, row=line, setting=column)


def read_pegs(path: str | Path) -> pd.DataFrame:
    """Read and check a parity table (CSV, ``#`` comment lines, columns ``COLUMNS``)."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, comment="#",
                          encoding="utf-8")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{path.name}: cannot read the parity table: {exc}".splitlines()[0],
                          file=str(path), setting=None) from None
    # Lines as the file numbers them: comment lines come first, then the header.
    skipped = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines())
                   if text.strip() and not text.lstrip().startswith("#"))
    return check_pegs(raw, source=path.name, first_line=skipped + 2)


def check_pegs(frame: pd.DataFrame, *, source: str = "<pegs>", first_line: int = 2
               ) -> pd.DataFrame:
    """Check a parity table; return ``currency, anchor, rate, valid_from, valid_to, kind``.

    ``rate`` is units of ``currency`` per unit of ``anchor``; ``valid_to`` is
    missing (NaT) for a parity still in force. Raises ``ConfigError`` naming the
    source, line and column of the first problem: a code that is not three
    letters, a unit that is not a positive number, a period that ends before
    it starts, two periods of one currency that overlap, or a loop.
    """
    missing = [c for c in COLUMNS[:6] if c not in frame]
    if missing:
        raise _fail(source, None, missing[0], f"parity table lacks column(s) {', '.join(missing)}")
    text = frame.astype("str").apply(lambda s: s.str.strip())
    line = np.arange(len(text)) + first_line
    out = pd.DataFrame({"currency": text["currency"].str.upper(),
                        "anchor": text["anchor"].str.upper()})
    for column in ("currency", "anchor"):
        bad = ~out[column].str.fullmatch(r"[A-Z]{3}")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(source, int(line[i]), column,
                        f"{column} {text[column].iloc[i]!r} is not a three-letter code")
    units = {}
    for column in ("currency_units", "anchor_units"):
        units[column] = pd.to_numeric(text[column], errors="coerce").to_numpy(dtype=float)
        bad = ~(units[column] > 0) | ~np.isfinite(units[column])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(source, int(line[i]), column,
                        f"{column} {text[column].iloc[i]!r} is not a positive number")
    out["rate"] = units["currency_units"] / units["anchor_units"]
    start = to_dates(text["valid_from"].where(text["valid_from"] != ""))
    end = to_dates(text["valid_to"].where(text["valid_to"] != ""))
    for column, dates in (("valid_from", start), ("valid_to", end)):
        bad = dates.isna() & (text[column] != "") if column == "valid_to" else dates.isna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(source, int(line[i]), column,
                        f"{column} {text[column].iloc[i]!r} is not a YYYY-MM-DD date")
    out["valid_from"], out["valid_to"] = start, end
    backwards = end.fillna(LAST_DAY) < start
    if backwards.any():
        i = int(np.flatnonzero(backwards)[0])
        raise _fail(source, int(line[i]), "valid_to", "the period ends before it starts")
    kinds = text["kind"].str.lower() if "kind" in text else pd.Series("peg", index=text.index)
    out["kind"] = kinds.replace("", "peg")
    bad = ~out["kind"].isin(KINDS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(source, int(line[i]), "kind",
                    f"kind {kinds.iloc[i]!r} is not one of {', '.join(KINDS)}")
    out["source"] = text["source"] if "source" in text else ""
    out["line"] = line
    _check_overlaps(out, source)
    _check_loops(out, source)
    return out.drop(columns="line").reset_index(drop=True)


def _check_overlaps(table: pd.DataFrame, source: str) -> None:
    ordered = table.sort_values(["currency", "valid_from"], kind="stable")
    same = ordered["currency"].eq(ordered["currency"].shift())
    overlap = same & (ordered["valid_from"] <= ordered["valid_to"].fillna(LAST_DAY).shift())
    if overlap.any():
        row = ordered[overlap].iloc[0]
        raise _fail(source, int(row["line"]), "valid_from",
                    f"{row['currency']} has two parities in force on "
                    f"{row['valid_from']:%Y-%m-%d}")


def _check_loops(table: pd.DataFrame, source: str) -> None:
    index = _index(table)
    for row in table.itertuples(index=False):
        root, _ = _chain(index, row.currency, row.valid_from)
        if root is None:
            raise _fail(source, int(row.line), "anchor",
                        f"{row.currency}'s parities lead back to {row.currency}")


def _index(table: pd.DataFrame) -> dict[str, list[tuple[Any, Any, str, float]]]:
    index: dict[str, list[tuple[Any, Any, str, float]]] = {}
    for row in table.itertuples(index=False):
        index.setdefault(row.currency, []).append(
            (row.valid_from.to_datetime64(),
             (LAST_DAY if pd.isna(row.valid_to) else row.valid_to).to_datetime64(), row.anchor,
             float(row.rate)))
    return index


def _chain(index, currency: str, day) -> tuple[str | None, float]:
    """Root currency and units of ``currency`` per root unit on ``day`` (None: a loop)."""
    units, current = 1.0, currency
    day = np.datetime64(day, "ns")
    for _ in range(_MAX_CHAIN):
        step = next(((anchor, rate) for start, end, anchor, rate in index.get(current, ())
                     if start <= day <= end), None)
        if step is None:
            return current, units
        current, units = step[0], units * step[1]
    return None, units


@functools.lru_cache(maxsize=1)
def shipped_pegs() -> pd.DataFrame:
    """The parities folio ships (``pegs.csv``), read once per process."""
    return read_pegs(PEGS_FILE)


def as_pegs(pegs: Any = None) -> pd.DataFrame:
    """A checked parity table: ``None`` the shipped one, ``False`` none, else a frame or path."""
    if pegs is None:
        return shipped_pegs()
    if pegs is False:
        return check_pegs(pd.DataFrame(columns=list(COLUMNS)))
    if isinstance(pegs, pd.DataFrame):
        if "rate" in pegs and "valid_from" in pegs and "currency_units" not in pegs:
            return pegs  # already checked (the output of check_pegs)
        return check_pegs(pegs)
    return read_pegs(pegs)


def resolve(currencies: Any, dates: Any, pegs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Root currency and units per root unit of each (currency, date).

    A currency without a parity on the date is its own root (units 1). Done
    once per distinct (currency, date): valuation asks for a few of them.
    """
    ccy = pd.Series(currencies, dtype="str").fillna("").to_numpy(dtype=object)
    when = to_dates(dates).to_numpy()
    roots = np.empty(len(ccy), dtype=object)
    units = np.ones(len(ccy), dtype=float)
    index = _index(pegs) if len(pegs) else {}
    seen: dict[tuple[str, Any], tuple[str, float]] = {}
    for i, (code, day) in enumerate(zip(ccy, when, strict=True)):
        if not index or code not in index or np.isnat(day):
            roots[i] = code
            continue
        key = (code, day)
        if key not in seen:
            seen[key] = _chain(index, code, day)
        roots[i], units[i] = seen[key]
    return roots, units
