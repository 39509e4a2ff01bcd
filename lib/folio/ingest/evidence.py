"""What a file's own evidence settles for every row: clean values, FCFA, the as-of date.

Owns the conclusions drawn from the file as a whole rather than row by row:
whether its market values include accrued interest (a preset says, or the
first block's rows vote), which franc an ``FCFA`` is (the ISINs' countries, or
the portfolio's base currency), and the as-of date (given, or the one date of
the file's as-of column; refused outside the dates folio can compute with).
Each is settled once, on the ``Checker``, and holds for the blocks after.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.errors import ValidationError
from folio.ingest.parse import arrow_strings

# The dates pandas can hold (nanoseconds since 1970): the analytics compute in
# them, so a maturity of 9999-12-31 stored as it is broke every report.
FIRST_DATE = np.datetime64(pd.Timestamp.min.ceil("D").date(), "D")
LAST_DATE = np.datetime64(pd.Timestamp.max.floor("D").date(), "D")
_FRANC = ("FCFA", "CFA", "F CFA", "F.CFA", "XFA")
_FRANC_ZONES = {
    "XOF": {"BJ", "BF", "CI", "GW", "ML", "NE", "SN", "TG"},  # UEMOA
    "XAF": {"CM", "CF", "TD", "CG", "GQ", "GA"},  # CEMAC
}


def clean_values(checker, numbers: dict[str, np.ndarray], rows: np.ndarray,
                 rejected: np.ndarray) -> None:
    """Store the clean market value where the file's includes accrued interest.

    A preset says so (``values: {market_value: dirty}``); otherwise the first
    block decides: most rows with quantity, price, value and accrued agree with
    value = quantity x price (/100) + accrued, and not without it.
    """
    qty, price = numbers["quantity"], numbers["price"]
    mv, accrued = numbers["market_value"], numbers["accrued_interest"]
    has = ~rejected & np.isfinite(mv) & np.isfinite(accrued) & (accrued != 0)
    if checker.mv_dirty is None:
        ok = has & np.isfinite(qty) & np.isfinite(price) & (mv != 0)
        if not ok.any():
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            clean = np.minimum(np.abs(qty * price - mv), np.abs(qty * price / 100 - mv))
            dirty = np.minimum(np.abs(qty * price + accrued - mv),
                               np.abs(qty * price / 100 + accrued - mv))
        tol = 1e-4 * np.abs(mv) + 0.01
        votes = ok & (dirty <= tol) & (clean > tol)
        checker.mv_dirty = bool(votes.sum() > 0.5 * ok.sum())
        if checker.mv_dirty:
            checker._issues.add(rows[:1], checker.cols.get("market_value"), "dirty_value",
                             "warning", "", f"{checker.cols.get('market_value')} includes "
                             f"{checker.cols.get('accrued_interest')} (value = quantity x price "
                             f"+ accrued on {int(votes.sum())} rows): folio stores the clean "
                             f"value, {checker.cols.get('market_value')} - accrued")
    if checker.mv_dirty:
        numbers["market_value"] = np.where(has, np.round(mv - accrued, 2), mv)

def franc_zone(checker, ccy: pd.Series, ident: pd.Series, rows: np.ndarray) -> pd.Series:
    """``FCFA`` as XOF or XAF, where the ISINs' countries (or the base currency) decide."""
    franc = pc.is_in(arrow_strings(ccy), value_set=pa.array(_FRANC)).fill_null(
        False).to_numpy(zero_copy_only=False)
    if not franc.any():
        return ccy
    countries = set(ident[franc].fillna("").str.slice(0, 2))
    zones = {z for z, members in _FRANC_ZONES.items() if countries & members}
    if len(zones) == 1 and all(c in _FRANC_ZONES[next(iter(zones))] or not c
                               for c in countries):
        code, why = next(iter(zones)), "the ISINs' countries"
    elif checker.base_currency in _FRANC_ZONES:
        code, why = checker.base_currency, "the portfolio's base currency"
    else:
        return ccy  # nothing decides: the currency check says why
    checker._issues.add(rows[franc][:1], checker.cols.get("currency"), "currency_resolved",
                     "warning", ccy[franc].iloc[0],
                     f"FCFA read as {code} ({int(franc.sum())} rows), from {why}")
    return ccy.mask(pd.Series(franc, index=ccy.index), code)


def settle_as_of(checker, row_dates: np.ndarray) -> None:
    """The as-of date: given, or the one date of the file's as-of column."""
    if checker._as_of_given or "as_of" not in checker.cols:
        if checker.as_of is None:
            resolve_as_of(None, row_dates, None, checker._file)  # raises: no column
        return
    found = np.unique(row_dates[~np.isnat(row_dates)])
    if checker.as_of is not None:
        found = np.unique(np.append(found, np.datetime64(checker.as_of, "D")))
    if len(found):
        checker.as_of = resolve_as_of(None, found, checker.cols["as_of"], checker._file)


def check_as_of(given: date, file: str) -> None:
    """Refuse an as-of date (``as_of=``) the analytics cannot compute with."""
    if not FIRST_DATE <= np.datetime64(given, "D") <= LAST_DATE:
        raise ValidationError(
            f"{file}: as-of date {given.isoformat()} is outside {FIRST_DATE} to {LAST_DATE}, "
            f"the dates folio can compute with; pass the statement's date",
            file=file, column=None, value=given.isoformat())


def resolve_as_of(given: date | None, row_dates: np.ndarray, column: str | None,
                   file: str) -> date:
    if given is not None:
        return given
    if column is None:
        raise ValidationError(
            f"{file}: no as-of date: the file has no as-of column; pass as_of= "
            f"(or --as-of YYYY-MM-DD)", file=file, column=None)
    found = np.unique(row_dates[~np.isnat(row_dates)])
    if len(found) == 0:
        raise ValidationError(f"{file}: column {column!r} holds no valid date; pass as_of=",
                              file=file, column=column)
    if len(found) > 1:
        shown = ", ".join(str(d) for d in found[:5]) + (" ..." if len(found) > 5 else "")
        raise ValidationError(
            f"{file}: column {column!r} holds {len(found)} as-of dates ({shown}); pass "
            f"as_of= to import one of them", file=file, column=column, value=shown)
    return found[0].astype(object)
