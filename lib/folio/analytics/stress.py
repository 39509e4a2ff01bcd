"""Deterministic stress scenarios applied to a valuation.

Owns how each shock moves a position's base-currency value (the format, its
checks and composition are ``scenarios``'):

- ``fx``: move of each currency's value against the scenario pivot (EUR by
  default); ``XAF: -0.20`` means one franc buys 20% fewer euros. A position in
  currency C valued in base B moves by ``(1 + fx[C]) / (1 + fx[B])``, so a
  XAF-based fund sees its EUR bonds gain 25% when the franc loses 20%.
- ``price``: relative moves of the clean value per bucket of ``asset_class``
  (by taxonomy class: ``Equity`` shocks ``Actions`` too), ``country``,
  ``currency`` or ``issuer`` (labels matched ignoring case; an issuer no
  position has is an error naming the issuers held). Shocks from several
  dimensions compound: ``(1 + a) * (1 + b)``.
- ``rates_bp``: parallel yield shifts in basis points for bonds, by
  ``country`` or ``currency`` with an optional ``default``; the most specific
  applies (country, then currency, then default). The clean value moves by
  ``-D * dy`` with D the reference modified duration; without one, D is
  approximated from the years to maturity T as the annuity factor
  ``(1 - (1 + y) ** -T) / y`` (y the coupon, else ``assumed_yield``), a par
  bond's modified duration, and the position is flagged ``duration_approx``.
  A bond with neither duration nor maturity is left unshocked and flagged.
  Values never go below zero.

Accrued interest moves with FX only. Composed scenarios (a list) compound
their FX and price factors and add their rate moves ``D * dy``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics import vocabulary
from folio.analytics.exposures import UNCLASSIFIED, UNVALUED, bucket_codes, years_to_maturity
from folio.analytics.frames import result_frame
from folio.analytics.scenarios import Scenario, as_scenario
from folio.analytics.valuation import Valuation
from folio.errors import ValidationError


def _casefold(label: Any) -> str:
    return str(label).strip().casefold()


def _class_of(label: Any) -> str:
    # An asset-class label outside the taxonomy matches nothing a scenario names.
    return vocabulary.asset_class(label) or ""


def _per_row(column: pd.Series, table: Mapping[str, float], default: float,
             key: Callable[[Any], str] = _casefold) -> np.ndarray:
    """Look labels up once per distinct value (``key`` turns a label into the table's key)."""
    codes, uniques = pd.factorize(column)
    values = np.array([table.get(key(u), default) for u in uniques] + [default], dtype=float)
    return values[np.where(codes < 0, len(uniques), codes)]


def _rate_shift(frame: pd.DataFrame, rates: Mapping[str, Any]) -> np.ndarray:
    shift = np.full(len(frame), float(rates.get("default", 0.0)))
    for dim in ("currency", "country"):  # country last: the most specific wins
        if rates.get(dim):
            specific = _per_row(frame[dim], rates[dim], np.nan)
            shift = np.where(np.isnan(specific), shift, specific)
    return shift / 10_000.0


def _durations(frame: pd.DataFrame, assumed_yield: float) -> tuple[np.ndarray, np.ndarray]:
    """Modified duration per row and where it came from (reference/approx/none)."""
    reference = frame["modified_duration"].to_numpy(dtype=float)
    years = np.clip(years_to_maturity(frame["maturity_date"], frame["as_of"]), 0, None)
    coupon = frame["coupon"].to_numpy(dtype=float) / 100.0  # reference coupons are in percent
    y = np.where(np.isnan(coupon) | (coupon <= 0), assumed_yield, coupon)
    approx = (1.0 - (1.0 + y) ** -years) / y
    duration = np.where(np.isnan(reference), approx, reference)
    source = np.where(~np.isnan(reference), "reference",
                      np.where(~np.isnan(approx), "maturity_approx", "none"))
    return duration, source


@dataclass(frozen=True)
class StressResult:
    """A scenario applied to a valuation.

    Attributes
    ----------
    positions
        The valued positions plus ``fx_factor``, ``price_factor``, ``rate_shift``
        (decimal), ``duration``, ``duration_source``, ``rate_factor``,
        ``duration_approx``, ``rate_unshocked``, ``before``, ``after``, ``change``.
    """

    scenario: Scenario
    base_currency: str
    positions: pd.DataFrame

    def totals(self) -> dict[str, Any]:
        """Value before and after over the valued positions, the change, the
        unvalued positions counted apart (their move is unknown), and what
        rests on approximations."""
        before = float(np.nansum(self.positions["before"].to_numpy(dtype=float)))
        after = float(np.nansum(self.positions["after"].to_numpy(dtype=float)))
        approx = self.positions["duration_approx"].to_numpy(dtype=bool)
        unvalued = np.isnan(self.positions["before"].to_numpy(dtype=float))
        return {"scenario": self.scenario.name, "scenarios": list(self.scenario.parts or (self.scenario.name,)),
                "base_currency": self.base_currency,
                "before": before, "after": after, "change": after - before,
                "change_share": (after - before) / before if before else None,
                "positions": int(len(unvalued)), "unvalued_positions": int(unvalued.sum()),
                "unvalued_share": float(unvalued.mean()) if len(unvalued) else 0.0,
                "duration_approx_positions": int(approx.sum()),
                "duration_approx_value": float(np.nansum(self.positions["before"][approx])),
                "rate_unshocked_positions": int(self.positions["rate_unshocked"].sum())}

    def by(self, dimension: str) -> pd.DataFrame:
        """Before, after, change, relative change and positions per bucket of
        ``dimension``; the unvalued positions last, in an ``unvalued`` bucket
        with unknown (NaN) values."""
        codes, labels = bucket_codes(self.positions, dimension)
        before = self.positions["before"].to_numpy(dtype=float)
        missing = np.isnan(before)
        codes = np.where(missing, len(labels), codes)
        names = np.array([UNCLASSIFIED, *labels, UNVALUED], dtype=object)
        sums = {}
        for column in ("before", "after"):
            weights = np.nan_to_num(self.positions[column].to_numpy(dtype=float))
            sums[column] = np.bincount(codes + 1, weights=weights, minlength=len(names))
            sums[column][-1] = np.nan
        counts = np.bincount(codes + 1, minlength=len(names))
        table = pd.DataFrame({"bucket": pd.array(names, dtype="str"), **sums})
        table["change"] = table["after"] - table["before"]
        with np.errstate(divide="ignore", invalid="ignore"):
            table["change_share"] = np.where(table["before"] != 0,
                                             table["change"] / table["before"], np.nan)
        table["positions"] = counts
        rest = table.iloc[:-1]
        rest = rest[rest["positions"] > 0].sort_values("change", kind="stable")
        return result_frame(pd.concat([rest, table.iloc[-1:]], ignore_index=True),
                            base_currency=self.base_currency)


def _check_issuers(frame: pd.DataFrame, scenario: Scenario) -> None:
    """An issuer no position has is a typo, not a shock of nothing: say which are held."""
    wanted = scenario.price.get("issuer") or {}
    if not wanted:
        return
    held = {_casefold(i): str(i).strip() for i in pd.unique(frame["issuer"].dropna())
            if str(i).strip()}
    for label in wanted:
        if _casefold(label) not in held:
            raise vocabulary.unknown(scenario.source, f"price.issuer.{label}", label, "issuer",
                                     held.values(), None)


def _moves(frame: pd.DataFrame, scenario: Scenario, base_currency: str
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One scenario's FX factor, price factor, yield shift, rate move ``D * dy`` and
    duration source per row."""
    _check_issuers(frame, scenario)
    base_move = scenario.fx.get(base_currency, 0.0)
    fx_factor = (1.0 + _per_row(frame["currency"], {k.casefold(): v for k, v in scenario.fx.items()},
                                0.0)) / (1.0 + base_move)
    price_factor = np.ones(len(frame))
    for dim, shocks in scenario.price.items():
        key = _class_of if dim == "asset_class" else _casefold
        if dim == "issuer":
            shocks = {_casefold(k): v for k, v in shocks.items()}
        price_factor = price_factor * (1.0 + _per_row(frame[dim], shocks, 0.0, key))
    is_bond = frame["is_bond"].to_numpy(dtype=bool)
    shift = np.where(is_bond, _rate_shift(frame, scenario.rates_bp), 0.0)
    duration, source = _durations(frame, scenario.assumed_yield)
    usable = (shift != 0) & (source != "none")
    return fx_factor, price_factor, shift, np.where(usable, duration * shift, 0.0), source


def stress(valuation: Valuation,
           scenario: Scenario | Mapping[str, Any] | str | Path | list | tuple, *,
           value: str = "value") -> StressResult:
    """Apply a scenario (or several at once) to a valuation.

    Parameters
    ----------
    valuation
        The result of ``value_positions``.
    scenario
        A ``Scenario``, a dict in the scenario format, a YAML path, a name in
        ``data/scenarios/``, or a list of these applied together
        (``["cfa_peg_break", "em_rates_200bp"]``).
    value
        ``value`` (clean) or ``dirty_value`` (accrued interest moves with FX only).

    Returns
    -------
    StressResult
    """
    scenario = as_scenario(scenario)
    if value not in ("value", "dirty_value"):
        raise ValidationError(f"value must be 'value' or 'dirty_value', not {value!r}",
                              column="value", value=value)
    frame = valuation.positions
    fx_factor, price_factor = np.ones(len(frame)), np.ones(len(frame))
    shift, rate_move = np.zeros(len(frame)), np.zeros(len(frame))
    moved, unshocked, approx = (np.zeros(len(frame), dtype=bool) for _ in range(3))
    for part in scenario.components or (scenario,):
        fx, price, dy, move, source = _moves(frame, part, valuation.base_currency)
        fx_factor, price_factor = fx_factor * fx, price_factor * price
        shift, rate_move = shift + dy, rate_move + move
        moved |= dy != 0
        unshocked |= (dy != 0) & (source == "none")
        approx |= (dy != 0) & (source == "maturity_approx")
    is_bond = frame["is_bond"].to_numpy(dtype=bool)
    duration, source = _durations(frame, scenario.assumed_yield)
    rate_factor = np.where(moved, np.maximum(0.0, 1.0 - rate_move), 1.0)
    clean = frame["value"].to_numpy(dtype=float)
    clean_after = clean * price_factor * rate_factor * fx_factor
    before = frame[value].to_numpy(dtype=float)
    after = clean_after
    if value == "dirty_value":
        after = clean_after + frame["accrued"].to_numpy(dtype=float) * fx_factor
    out = frame.assign(
        fx_factor=fx_factor, price_factor=price_factor, rate_shift=shift,
        duration=np.where(is_bond, duration, np.nan),
        duration_source=pd.array(np.where(is_bond, source, "n/a"), dtype="str"),
        rate_factor=rate_factor, duration_approx=approx,
        rate_unshocked=unshocked, before=before, after=after, change=after - before,
    )
    return StressResult(scenario, valuation.base_currency, out)
