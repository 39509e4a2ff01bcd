"""Valuation of positions in a base currency, with data-quality flags.

Owns the valuation rules: which local value a position has (the file's market
value, else quantity x file price, else quantity x the latest reference price
on or before the as-of date), when a price is per 100 of nominal, how reference
instrument attributes fill blanks (issuer, country, asset class, maturity; the
file's own values win), which flags a position carries, and why a position
has no value (``unvalued_reason``): its value is then NaN, never 0, and the
totals, exposures and checks count it apart (``totals``). FX rates come from
``fx.lookup_fx``, legal parities included. Pure functions over DataFrames: no
store access.

Prices are taken to be in the position's currency; accrued interest is kept
apart (missing counts as 0) and added only in ``dirty_value``.

The per-100 rule
----------------
A bond's price is read per 100 of nominal (market value = quantity x price /
100, the quantity being the nominal held) and the position is flagged
``price_per_100``, so that every such value can be seen and checked. A
position is a bond when its asset class contains ``bond`` or ``oblig`` (any
case, so "Government Bond" and "Obligation d'État" both qualify), or the
reference gives the instrument a coupon, or the position or its reference has
a maturity date (T-bills and money-market paper are quoted per 100 too), or,
with no asset class known, its name reads as a bond's (a coupon rate and a
year, "Cameroun 6,25% 2029", or a word such as OAT, bond, emprunt): an
instrument missing from the reference is then not valued at 100 times its
worth. A bond's price is per 100 when it is near par (``PAR_RANGE``, 50 to
150), or below that with a quantity that reads as a nominal (a round
thousand); a price above the range is a price per bond (a BRVM line of 10,000
francs nominal quoted 9,850) and is taken per unit, as is every other price.
The rule only matters when the file has no market value; a file's market
value is always taken as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics import vocabulary
from folio.analytics.frames import FIRST_DAY, LAST_DAY, blank, matches, to_dates, upper
from folio.analytics.fx import FX_ROUTES, lookup_fx
from folio.errors import ValidationError

FLAGS = ("missing_price", "missing_fx", "stale_fx", "stale_price", "unknown_instrument",
         "price_per_100")
# Flags that say how a value was made, not that it is in doubt: they do not make
# a position ``flagged`` (an unknown bond valued per 100 is flagged anyway, as an
# unknown instrument).
NOTES = ("price_per_100",)
# Why a position has no value, first cause first: without a local value there
# is nothing to convert, and an unknown instrument is why there is no price.
UNVALUED_REASONS = ("unknown_instrument", "no_price", "no_fx")
_TEXT = ("name", "issuer", "country", "asset_class")
_NUMBERS = ("quantity", "price", "market_value", "accrued_interest")
_BOND_PATTERN = r"bond|oblig"
# A bond's name when nothing else says what it is: a coupon rate then a year
# ("6,25% 2029", "5.60 % 30/11/2026"), or a word only bonds carry.
_BOND_NAME = (r"\d(?:[.,]\d+)?\s?%.*\b(?:19|20)\d{2}\b"
              r"|\b(?:oat|btan|bund|gilt|bond|obligations?|oblig|emprunt|eurobond|t-bill)\b")
PAR_RANGE = (50.0, 150.0)  # a bond price per 100 of nominal lies about here
NOMINAL_STEP = 1000.0  # a nominal is a round thousand; a count of bonds need not be
VALUE_SOURCES = ("market_value", "file_price", "reference_price", "missing")


@dataclass(frozen=True)
class Valuation:
    """Valued positions and the settings that produced them.

    Attributes
    ----------
    positions
        One row per input position, in input order, with the input columns
        plus: ``is_bond``, ``value_source`` (``market_value``, ``file_price``,
        ``reference_price`` or ``missing``), ``local_value``, ``local_accrued``,
        ``asset_class`` (the taxonomy class of ``vocabulary``) with
        ``asset_class_label`` (as the file or reference wrote it), ``country``
        (from the ISIN's prefix when neither says it: ``country_inferred``),
        ``region``,
        ``fx_rate``, ``fx_date``, ``fx_gap_days``, ``fx_route``, ``value``
        (clean, base currency; NaN when unvalued, never 0), ``accrued``,
        ``dirty_value``, ``coupon``, ``modified_duration``, the flags in
        ``FLAGS``, ``flagged`` (any flag but the ``NOTES``), ``unvalued``
        and ``unvalued_reason`` (one of ``UNVALUED_REASONS``, missing when
        valued).
    base_currency, pivot, stale_days
        What the valuation was asked for.
    rejected
        Per as-of date, what the import's rejected rows carried
        (``completeness``); filled when a stored snapshot is valued, empty otherwise.
    """

    positions: pd.DataFrame
    base_currency: str
    pivot: str = "EUR"
    stale_days: int = 7
    as_of: date | None = field(default=None)
    stale_price_days: int = 31
    rejected: Mapping[date, Mapping[str, Any]] = field(default_factory=dict)

    def totals(self) -> dict[str, Any]:
        """Totals in the base currency, the unvalued apart, and what is flagged (plain data)."""
        from folio.analytics.totals import totals

        return totals(self.positions, self.base_currency)


def _prepare(positions: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    missing = [c for c in ("identifier", "quantity", "currency") if c not in positions]
    if missing:
        raise ValidationError(f"positions lack column(s) {', '.join(missing)}",
                              column=missing[0], file=None)
    pos = positions.reset_index(drop=True)
    extra: dict[str, Any] = {}
    for column in _NUMBERS:
        source = pos[column] if column in pos else np.nan
        extra[column] = pd.to_numeric(pd.Series(source, index=pos.index), errors="coerce"
                                      ).astype("float64")
    for column in _TEXT:
        # An absent column stays absent here: value_positions fills it from the
        # reference in one step, without first building a million empty strings.
        if column in pos:
            extra[column] = pos[column].astype("str")
    extra["identifier"] = pos["identifier"].astype("str")
    extra["currency"] = upper(pos["currency"])
    extra["maturity_date"] = to_dates(pos["maturity_date"] if "maturity_date" in pos
                                      else pd.Series(pd.NaT, index=pos.index))
    if as_of is not None:
        extra["as_of"] = to_dates(pd.Series([as_of] * len(pos)))
    elif "as_of" in pos:
        extra["as_of"] = to_dates(pos["as_of"])
    else:
        raise ValidationError("positions have no as_of column; pass as_of=", column="as_of")
    out = pos.assign(**extra)
    if out["as_of"].isna().any():
        raise ValidationError("some positions have no as-of date, or one outside "
                              f"{FIRST_DAY:%Y-%m-%d} to {LAST_DAY:%Y-%m-%d} (the dates "
                              "folio can compute with)", column="as_of")
    return out


def _reference(instruments: pd.DataFrame | None, identifiers: pd.Series) -> dict[str, Any]:
    """Reference attributes aligned with ``identifiers`` (missing where unknown)."""
    n = len(identifiers)
    if instruments is None or instruments.empty:
        empty_text = pd.Series(pd.NA, index=range(n), dtype="str")
        return {"known": np.zeros(n, dtype=bool), "issuer": empty_text, "country": empty_text,
                "asset_class": empty_text, "maturity_date": to_dates([pd.NaT] * n),
                "coupon": np.full(n, np.nan), "modified_duration": np.full(n, np.nan)}
    ref = instruments.drop_duplicates("identifier", keep="last").reset_index(drop=True)
    index = pd.Index(upper(ref["identifier"]))
    # Match the distinct identifiers, then spread: one hash lookup per instrument.
    codes, uniques = pd.factorize(identifiers)
    at_unique = index.get_indexer(upper(pd.Series(uniques, dtype="str")))
    at = np.where(codes >= 0, at_unique[np.maximum(codes, 0)] if len(uniques) else -1, -1)
    known = at >= 0
    take = np.where(known, at, 0)

    def pick(column: str, kind: str):
        if column not in ref:
            values = pd.Series(pd.NA, index=ref.index)
        else:
            values = ref[column]
        if kind == "date":
            values = to_dates(values)
        elif kind == "float":
            values = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            values = values.astype("str")
        taken = values.iloc[take].reset_index(drop=True)
        return taken.where(pd.Series(known)) if kind != "float" else np.where(
            known, taken.to_numpy(dtype=float), np.nan)

    return {"known": known, "issuer": pick("issuer", "text"), "country": pick("country", "text"),
            "asset_class": pick("asset_class", "text"), "maturity_date": pick("maturity_date", "date"),
            "coupon": pick("coupon", "float"), "modified_duration": pick("modified_duration", "float")}


def _reference_prices(pos: pd.DataFrame, need: np.ndarray, prices: pd.DataFrame | None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Latest reference price on or before the as-of date for the rows in ``need``."""
    price = np.full(len(pos), np.nan)
    when = np.full(len(pos), np.datetime64("NaT"), dtype="datetime64[ns]")
    if prices is None or prices.empty or not need.any():
        return price, when
    table = pd.DataFrame({
        "identifier": prices["identifier"].astype("str").str.upper(),
        "price_date": to_dates(prices["date"]),
        "ref_price": pd.to_numeric(prices["price"], errors="coerce").astype("float64"),
    }).dropna().sort_values("price_date", kind="stable")
    idx = np.flatnonzero(need)
    left = pd.DataFrame({"identifier": pos["identifier"].iloc[idx].str.upper().to_numpy(),
                         "when": pos["as_of"].iloc[idx].to_numpy(), "at": idx})
    left = left.astype({"identifier": "str"}).sort_values("when", kind="stable")
    found = pd.merge_asof(left, table, left_on="when", right_on="price_date", by="identifier",
                          direction="backward")
    at = found["at"].to_numpy()
    price[at] = found["ref_price"].to_numpy(dtype=float)
    when[at] = found["price_date"].to_numpy(dtype="datetime64[ns]")
    return price, when


def value_positions(positions: pd.DataFrame, *, base_currency: str,
                    instruments: pd.DataFrame | None = None,
                    fx_rates: pd.DataFrame | None = None,
                    prices: pd.DataFrame | None = None,
                    as_of: date | str | None = None, pivot: str = "EUR",
                    stale_days: int = 7, pegs: Any = None, strict: bool = False,
                    stale_price_days: int = 31) -> Valuation:
    """Value positions in ``base_currency`` and flag what the value rests on.

    Parameters
    ----------
    positions
        Needs ``identifier``, ``quantity``, ``currency`` and an ``as_of``
        column (or ``as_of=``); uses ``price``, ``market_value``,
        ``accrued_interest``, ``issuer``, ``country``, ``asset_class``,
        ``maturity_date`` when present. Several as-of dates may be valued at
        once; each row uses rates for its own date.
    base_currency
        Currency of the values.
    instruments, fx_rates, prices
        Reference frames as the store holds them. ``None`` is an empty
        reference: every instrument is then ``unknown_instrument``.
    as_of
        Overrides the positions' as-of date.
    pivot
        Currency for cross rates (EUR by default: CFA francs are quoted to it).
    stale_days
        An FX quote older than this many days before the as-of date is flagged
        ``stale_fx`` (it is still used). A legal parity is never stale.
    stale_price_days
        A position valued at a reference price older than this many days
        before its as-of date is flagged ``stale_price`` (the price is still
        used; the file's own prices and market values are never stale).
    pegs
        Fixed parities used where no quote of the day is loaded: ``None`` the
        shipped table (``folio/analytics/pegs.csv``), ``False`` none, or a
        table or CSV path of the same columns.
    strict
        Raise ``Unvalued`` if any position ends without a value.

    Returns
    -------
    Valuation
        Positions in input order with values and flags; see ``Valuation``.
    """
    base_currency, pivot = str(base_currency).strip().upper(), str(pivot).strip().upper()
    pos = _prepare(positions, as_of)
    ref = _reference(instruments, pos["identifier"])
    filled = {}
    for column in ("issuer", "country", "asset_class"):
        filled[column] = (pos[column].mask(pd.Series(blank(pos[column])), ref[column])
                          if column in pos else ref[column])
    filled["maturity_date"] = pos["maturity_date"].fillna(ref["maturity_date"])
    is_bond = (matches(filled["asset_class"], _BOND_PATTERN) | ~np.isnan(ref["coupon"])
               | filled["maturity_date"].notna().to_numpy(dtype=bool))
    quantity = pos["quantity"].to_numpy(dtype=float)
    file_value = pos["market_value"].to_numpy(dtype=float)
    if "name" in pos:  # no asset class known: a name that reads as a bond's
        # Only where a price will be used: a file's market value needs no rule,
        # and reading a million names costs more than the rest of the valuation.
        ask = np.flatnonzero(~is_bond & np.isnan(file_value) & blank(filled["asset_class"]))
        if len(ask):
            is_bond[ask] = matches(pos["name"].iloc[ask], _BOND_NAME)
    # Classified after the bond rules above, which read the labels as written.
    filled.update(_classified(pos["identifier"], filled["asset_class"], filled["country"]))
    file_price = pos["price"].to_numpy(dtype=float)
    need_ref = np.isnan(file_value) & np.isnan(quantity * file_price)
    ref_price, price_date = _reference_prices(pos, need_ref, prices)
    # The price the value rests on decides whether it is per 100 (see the rule).
    price = np.where(np.isnan(file_price), ref_price, file_price)
    per_100 = is_bond & (price >= PAR_RANGE[0]) & (price <= PAR_RANGE[1])
    low = np.flatnonzero(is_bond & (price < PAR_RANGE[0]))  # few: only these ask the nominal
    if len(low):
        held = quantity[low]
        per_100[low] = (np.abs(held) >= NOMINAL_STEP) & (np.mod(held, NOMINAL_STEP) == 0)
    scale = np.where(per_100, 0.01, 1.0)
    from_price = quantity * file_price * scale
    from_ref = quantity * ref_price * scale
    local = np.where(~np.isnan(file_value), file_value,
                     np.where(~np.isnan(from_price), from_price, from_ref))
    # Categoricals: a million short labels cost nothing as codes.
    source = pd.Categorical.from_codes(
        np.select([~np.isnan(file_value), ~np.isnan(from_price), ~np.isnan(from_ref)],
                  [0, 1, 2], 3), categories=VALUE_SOURCES)
    local_accrued = np.nan_to_num(pos["accrued_interest"].to_numpy(dtype=float))

    # Rates are looked up once per (currency, date), then spread over the rows.
    ccy_codes, ccy_uniques = pd.factorize(pos["currency"])
    day_codes, day_uniques = pd.factorize(pos["as_of"])
    combined = ccy_codes.astype(np.int64) * max(len(day_uniques), 1) + day_codes
    keys, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    fx = lookup_fx(pos["currency"].iloc[first].to_numpy(), pos["as_of"].iloc[first].to_numpy(),
                   base_currency, fx_rates, pivot=pivot, pegs=pegs)
    rate = fx["fx_rate"].to_numpy()[inverse]
    gap = fx["fx_gap_days"].to_numpy()[inverse]
    # Treat a missing currency as missing FX rather than guessing one.
    rate = np.where(ccy_codes < 0, np.nan, rate)

    value = local * rate
    accrued = local_accrued * rate
    price_age = ((pos["as_of"].to_numpy(dtype="datetime64[ns]")
                  - np.asarray(price_date, dtype="datetime64[ns]")) / np.timedelta64(1, "D"))
    flags = {
        "missing_price": np.isnan(local),
        "missing_fx": np.isnan(rate),
        "stale_fx": ~np.isnan(rate) & (gap > stale_days),
        "stale_price": (source.codes == 2) & (price_age > stale_price_days),
        "unknown_instrument": ~ref["known"],
        "price_per_100": per_100 & (source.codes != 0) & ~np.isnan(local),
    }
    flagged = np.logical_or.reduce([flags[f] for f in FLAGS if f not in NOTES])
    unvalued = np.isnan(value)
    reason = pd.Categorical.from_codes(
        np.select([unvalued & np.isnan(local) & ~ref["known"], unvalued & np.isnan(local),
                   unvalued], [0, 1, 2], -1), categories=UNVALUED_REASONS)
    out = pos.assign(
        **filled,
        is_bond=is_bond,
        value_source=source,
        reference_price=ref_price, price_date=price_date,
        local_value=local, local_accrued=local_accrued,
        fx_rate=rate, fx_date=fx["fx_date"].to_numpy()[inverse], fx_gap_days=gap,
        fx_route=pd.Categorical.from_codes(
            pd.Categorical(fx["fx_route"], categories=FX_ROUTES).codes[inverse],
            categories=FX_ROUTES),
        value=value, accrued=accrued, dirty_value=value + accrued,
        coupon=ref["coupon"], modified_duration=ref["modified_duration"],
        **flags, flagged=flagged, unvalued=unvalued, unvalued_reason=reason,
    )
    day = pd.Timestamp(day_uniques[0]).date() if len(day_uniques) == 1 else None
    valuation = Valuation(out, base_currency, pivot, int(stale_days), day,
                          stale_price_days=int(stale_price_days))
    if strict:
        from folio.analytics.totals import require_valued

        require_valued(valuation, "value these positions")
    return valuation


def _classified(identifiers: pd.Series, label: pd.Series, country: pd.Series
                ) -> dict[str, Any]:
    """The one vocabulary of asset classes and countries (``vocabulary``): the
    taxonomy class with the label as written kept beside it, a missing country
    read from the ISIN's prefix (and said to be: ``country_inferred``), and the
    country's region."""
    inferred = np.zeros(len(country), dtype=bool)
    at = np.flatnonzero(blank(country))
    if len(at):
        guess = vocabulary.isin_countries(identifiers.iloc[at]).to_numpy(dtype=object)
        found = pd.notna(guess)
        if found.any():
            inferred[at[found]] = True
            values = country.to_numpy(dtype=object).copy()
            values[at[found]] = guess[found]
            country = pd.Series(values, index=country.index, dtype="str")
    return {"asset_class": vocabulary.classify(label), "asset_class_label": label,
            "country": country, "country_inferred": inferred,
            "region": vocabulary.regions_of(country)}


def frame_of(valued: Valuation | pd.DataFrame) -> pd.DataFrame:
    """The positions frame of a ``Valuation``, or the frame itself."""
    return valued.positions if isinstance(valued, Valuation) else valued
