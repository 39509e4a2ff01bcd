"""Loading what analytics needs from the store, and valuing it.

Owns the one place analytics touches the store: a portfolio's positions for a
date (or all dates), its base currency, and the reference frames, read through
``folio.store.queries``. Everything computed from them lives in the pure
modules (valuation, exposures, ...); the functions here only fetch and hand on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from folio.analytics.changes import Changes, compare_snapshots
from folio.analytics.completeness import convert_rejections
from folio.analytics.valuation import Valuation, value_positions
from folio.config import Settings, get_settings
from folio.errors import NotFound, ValidationError
from folio.ingest.parse import check_currencies
from folio.store import queries
from folio.store.db import get_engine


@dataclass(frozen=True)
class Snapshot:
    """A portfolio's positions (one date, or all when ``as_of`` is None) and reference:
    every instrument; for one date the rates and prices it can use (each pair's and
    instrument's latest on or before it), for all dates every one."""

    portfolio: str
    as_of: date | None
    base_currency: str
    positions: pd.DataFrame
    instruments: pd.DataFrame
    fx_rates: pd.DataFrame
    prices: pd.DataFrame


def _as_date(value: date | str | None, what: str = "as_of") -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError(f"{what} {value!r} is not a YYYY-MM-DD date", column=what,
                              value=str(value)) from None


def _currency(code: str | None) -> str | None:
    if code is None:
        return None
    code = str(code).strip().upper()
    if check_currencies(pd.Series([code]))[0] or not code:
        raise ValidationError(f"base currency {code!r} is not an ISO 4217 code",
                              column="base_currency", value=code)
    return code


def snapshot_dates(portfolio: str, *, settings: Settings | None = None) -> list[date]:
    """The as-of dates of a portfolio's snapshots, oldest first.

    Raises ``NotFound`` when the portfolio does not exist.
    """
    engine = get_engine(settings or get_settings())
    _base_currency(engine, portfolio)
    return _dates(engine, portfolio)


def _dates(engine: Engine, portfolio: str) -> list[date]:
    return queries.snapshot_dates(engine, portfolio)


def _base_currency(engine: Engine, portfolio: str) -> str:
    known = queries.list_portfolios(engine)
    row = known[known["name"] == portfolio]
    if row.empty:
        names = ", ".join(known["name"].astype(str)) or "none"
        raise NotFound(f"no portfolio {portfolio!r}; portfolios: {names}", kind="portfolio",
                       key=portfolio)
    return str(row["base_currency"].iloc[0])


def load_snapshot(portfolio: str, as_of: date | str | None = None, *,
                  all_dates: bool = False, settings: Settings | None = None) -> Snapshot:
    """Read one snapshot (the latest by default, or every date) and the reference.

    Raises ``NotFound`` for an unknown portfolio, a portfolio without snapshots,
    or an as-of date it has no snapshot for (the message lists the dates).
    """
    engine = get_engine(settings or get_settings())
    base = _base_currency(engine, portfolio)
    dates = _dates(engine, portfolio)
    if not dates:
        raise NotFound(f"portfolio {portfolio!r} has no snapshot yet; import a file first",
                       kind="snapshot", key=portfolio)
    day = _as_date(as_of)
    if all_dates:
        positions = queries.read_positions(engine, portfolio)
        day = None
    else:
        if day is None:
            day = dates[-1]
        elif day not in dates:
            listed = ", ".join(d.isoformat() for d in dates)
            raise NotFound(f"portfolio {portfolio!r} has no snapshot on {day.isoformat()}; "
                           f"dates: {listed}", kind="snapshot", key=f"{portfolio}@{day}")
        positions = queries.read_positions(engine, portfolio, day)
    if day is None:  # every date: the whole reference
        rates, prices = (queries.read_reference(engine, kind) for kind in ("fx_rates", "prices"))
    else:
        # One date: only the quotes it can use, each key's latest on or before it
        # (a valuation takes no other). With the ECB's rates since 1999 and a
        # year of daily prices, reading every row was most of a report's time.
        rates, prices = queries.latest_rates(engine, day), queries.latest_prices(engine, day)
    return Snapshot(portfolio, day, base, positions, queries.read_reference(engine, "instruments"),
                    rates, prices)


def value_snapshot(portfolio: str, as_of: date | str | None = None,
                   base_currency: str | None = None, *, pivot: str = "EUR",
                   settings: Settings | None = None, all_dates: bool = False,
                   strict: bool = False) -> Valuation:
    """Value a stored snapshot in the portfolio's base currency (or ``base_currency``).

    ``stale_fx`` uses ``settings.stale_fx_days``. With ``all_dates=True`` every
    snapshot is valued, each at its own date's rates (for ``history``). Rates
    missing from the store fall back on the legal parities. ``strict`` raises
    ``Unvalued`` when a position has no value.
    """
    settings = settings or get_settings()
    snap = load_snapshot(portfolio, as_of, all_dates=all_dates, settings=settings)
    base = _currency(base_currency) or snap.base_currency
    valuation = value_positions(snap.positions, base_currency=base,
                                instruments=snap.instruments, fx_rates=snap.fx_rates,
                                prices=snap.prices, pivot=pivot,
                                stale_days=settings.stale_fx_days, strict=strict,
                                stale_price_days=settings.stale_price_days)
    # What the imports rejected: the snapshot is incomplete by that much.
    rejected = queries.snapshot_rejections(get_engine(settings), portfolio, snap.as_of)
    return replace(valuation,
                   rejected=convert_rejections(rejected, base, snap.fx_rates, pivot=pivot))


def snapshot_changes(portfolio: str, before: date | str | None = None,
                     after: date | str | None = None, *, base_currency: str | None = None,
                     settings: Settings | None = None) -> Changes:
    """Compare two snapshots (default: the last two) of a portfolio."""
    settings = settings or get_settings()
    dates = snapshot_dates(portfolio, settings=settings)
    after_day = _as_date(after, "after") or (dates[-1] if dates else None)
    if before is None:
        earlier = [d for d in dates if after_day and d < after_day]
        if not earlier:
            raise NotFound(f"portfolio {portfolio!r} has no snapshot before "
                           f"{after_day}; nothing to compare", kind="snapshot", key=portfolio)
        before = earlier[-1]
    kwargs = {"base_currency": base_currency, "settings": settings}
    return compare_snapshots(value_snapshot(portfolio, before, **kwargs),
                             value_snapshot(portfolio, after_day, **kwargs))


def previous_changes(portfolio: str, after: Valuation, *,
                     settings: Settings | None = None) -> Changes | None:
    """The changes from the snapshot before ``after``'s date to ``after`` (valued
    in its base currency), or None when it is the portfolio's first."""
    settings = settings or get_settings()
    earlier = [d for d in snapshot_dates(portfolio, settings=settings)
               if after.as_of is not None and d < after.as_of]
    if not earlier:
        return None
    before = value_snapshot(portfolio, earlier[-1], after.base_currency, pivot=after.pivot,
                            settings=settings)
    return compare_snapshots(before, after)
