"""FX rates: the rate converting a currency into a base currency on a date.

Owns the lookup rule: the latest quote on or before the date (``merge_asof``),
taken directly, as the inverse of the opposite quote, fixed by a legal parity
(``pegs``: XAF and XOF to EUR, ...), or crossed through a pivot currency (EUR
by default, since the CFA francs are pegged to it); and the age of the quote
used (``fx_gap_days``), from which ``stale_fx`` is decided: a parity is never
stale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.frames import to_dates
from folio.analytics.pegs import as_pegs, resolve

FX_ROUTES = ("identity", "direct", "inverse", "peg", "peg_cross", "cross", "missing")


def fx_pairs(fx_rates: pd.DataFrame | None) -> pd.DataFrame:
    """Every quoted rate in both directions: ``src, dst, rate_date, rate, route``.

    ``fx_rates`` rows mean 1 ``base`` = ``rate`` ``quote``. A direct quote wins
    over the inverse of the opposite quote on the same date.
    """
    columns = ["src", "dst", "rate_date", "rate", "route"]
    if fx_rates is None or fx_rates.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ["str", "str", "datetime64[ns]", "float64", "str"], strict=True)})
    rate = pd.to_numeric(fx_rates["rate"], errors="coerce").to_numpy(dtype=float)
    when = to_dates(fx_rates["date"]).to_numpy()
    base = fx_rates["base"].astype("str").str.upper().to_numpy()
    quote = fx_rates["quote"].astype("str").str.upper().to_numpy()
    with np.errstate(divide="ignore"):
        inverse = 1.0 / rate
    table = pd.DataFrame({
        "src": np.concatenate([base, quote]), "dst": np.concatenate([quote, base]),
        "rate_date": np.concatenate([when, when]), "rate": np.concatenate([rate, inverse]),
        "route": ["direct"] * len(rate) + ["inverse"] * len(rate),
    }).astype({"src": "str", "dst": "str", "route": "str"})
    usable = np.isfinite(table["rate"]) & (table["rate"] > 0) & table["rate_date"].notna()
    table = table[usable.to_numpy(dtype=bool)]
    table = table.drop_duplicates(["src", "dst", "rate_date"], keep="first")
    return table.sort_values("rate_date", kind="stable").reset_index(drop=True)


def _latest(src: pd.Series, dst: pd.Series, when: pd.Series, pairs: pd.DataFrame) -> pd.DataFrame:
    """Latest rate src->dst on or before ``when``, one row per request, in order."""
    left = pd.DataFrame({"src": src.astype("str").to_numpy(),
                         "dst": dst.astype("str").to_numpy(),
                         "when": when.to_numpy(), "order": np.arange(len(src))})
    found = pd.merge_asof(left.sort_values("when", kind="stable"), pairs,
                          left_on="when", right_on="rate_date", by=["src", "dst"],
                          direction="backward")
    return found.sort_values("order").reset_index(drop=True)


def lookup_fx(currencies: Any, dates: Any, base_currency: str, fx_rates: pd.DataFrame | None,
              *, pivot: str = "EUR", pegs: Any = None) -> pd.DataFrame:
    """Rates converting each currency into ``base_currency`` as of each date.

    Parameters
    ----------
    currencies, dates
        Aligned sequences: the currency to convert from and the as-of date.
    base_currency
        The currency to convert into.
    fx_rates
        Quotes ``date, base, quote, rate`` (1 base = rate quote).
    pivot
        Currency used for cross rates when no direct or inverse quote exists.
    pegs
        Fixed parities (see ``folio.analytics.pegs``): ``None`` the shipped
        table, ``False`` none, or a table of one's own.

    Returns
    -------
    pandas.DataFrame
        One row per request, in order: ``fx_rate`` (base units per currency
        unit), ``fx_date`` (date of the oldest quote used), ``fx_gap_days``
        (as-of date minus ``fx_date``) and ``fx_route``: ``identity``;
        ``direct`` or ``inverse`` (a quote of the pair); ``peg`` (both fixed
        to one currency by law on that date, and no quote of the pair on the
        date itself: dated the as-of date, never stale); ``peg_cross`` (a
        parity to its anchor, then quotes from there; dated by the quotes);
        ``cross`` (quotes through the pivot); or ``missing``.
    """
    base_currency, pivot = base_currency.upper(), pivot.upper()
    ccy = pd.Series(currencies, dtype="str").str.upper().fillna("").reset_index(drop=True)
    when = to_dates(dates).reset_index(drop=True)
    n = len(ccy)
    pairs = fx_pairs(fx_rates)
    target = pd.Series([base_currency] * n, dtype="str")
    direct = _latest(ccy, target, when, pairs)
    # Copies: arrays from a frame are read-only under copy-on-write.
    rate = direct["rate"].to_numpy(dtype=float, copy=True)
    rate_date = direct["rate_date"].to_numpy(dtype="datetime64[ns]", copy=True)
    route = direct["route"].to_numpy(dtype=object, copy=True)
    day = when.to_numpy()
    identity = (ccy == base_currency).fillna(False).to_numpy(dtype=bool)
    rate[identity], rate_date[identity], route[identity] = 1.0, day[identity], "identity"

    # A parity in force is the rate, unless the pair is quoted on the day itself:
    # an older quote of a pegged pair is the law's rate seen late, not a fresher one.
    table = as_pegs(pegs)
    src_root, src_units = resolve(ccy, when, table)
    dst_root, dst_units = resolve(target, when, table)
    quoted_today = ~np.isnan(rate) & (rate_date == day)
    pegged = ~identity & ~quoted_today & (src_root == dst_root) & (ccy != "").to_numpy(bool)
    rate[pegged] = (dst_units / src_units)[pegged]
    rate_date[pegged], route[pegged] = day[pegged], "peg"

    # Otherwise quotes between the roots: directly, or through the pivot.
    need = np.isnan(rate) & (ccy != "").to_numpy(dtype=bool)
    if need.any():
        idx = np.flatnonzero(need)
        src = pd.Series(src_root[idx], dtype="str")
        dst = pd.Series(dst_root[idx], dtype="str")
        sub_when = when.iloc[idx].reset_index(drop=True)
        found = _latest(src, dst, sub_when, pairs)
        market = found["rate"].to_numpy(dtype=float, copy=True)
        dated = found["rate_date"].to_numpy(dtype="datetime64[ns]", copy=True)
        through = np.isnan(market) & (src != pivot).to_numpy(bool) & (dst != pivot).to_numpy(bool)
        if through.any():
            at = np.flatnonzero(through)
            legs_when = sub_when.iloc[at].reset_index(drop=True)
            to_pivot = pd.Series([pivot] * len(at), dtype="str")
            leg1 = _latest(src.iloc[at].reset_index(drop=True), to_pivot, legs_when, pairs)
            leg2 = _latest(to_pivot, dst.iloc[at].reset_index(drop=True), legs_when, pairs)
            market[at] = leg1["rate"].to_numpy(dtype=float) * leg2["rate"].to_numpy(dtype=float)
            dated[at] = np.minimum(leg1["rate_date"].to_numpy(dtype="datetime64[ns]"),
                                   leg2["rate_date"].to_numpy(dtype="datetime64[ns]"))
        converted = market * dst_units[idx] / src_units[idx]
        via_peg = (src_root[idx] != ccy.to_numpy(dtype=object)[idx]) | (dst_root[idx] != base_currency)
        ok = ~np.isnan(converted)
        rate[idx[ok]], rate_date[idx[ok]] = converted[ok], dated[ok]
        route[idx[ok]] = np.where(via_peg[ok], "peg_cross", "cross")
    route[np.isnan(rate)] = "missing"
    gap = (day - rate_date) / np.timedelta64(1, "D")
    return pd.DataFrame({"fx_rate": rate, "fx_date": rate_date, "fx_gap_days": gap,
                         "fx_route": pd.array(route, dtype="str")})


def fx_summary(valued: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per (currency, as-of date): rate used, its date, gap and route."""
    cols = ["currency", "as_of", "fx_rate", "fx_date", "fx_gap_days", "fx_route"]
    table = valued[cols].drop_duplicates(["currency", "as_of"]).sort_values(["as_of", "currency"])
    out = []
    for row in table.itertuples(index=False):
        out.append({
            "currency": None if pd.isna(row.currency) else str(row.currency),
            "as_of": pd.Timestamp(row.as_of).date().isoformat(),
            "rate": None if np.isnan(row.fx_rate) else float(row.fx_rate),
            "date": None if pd.isna(row.fx_date) else pd.Timestamp(row.fx_date).date().isoformat(),
            "gap_days": None if np.isnan(row.fx_gap_days) else int(row.fx_gap_days),
            "route": str(row.fx_route),
        })
    return out
