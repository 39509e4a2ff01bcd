"""Deterministic stress scenarios: shocks defined as data, applied to a valuation.

Owns the scenario format (a dict, or a YAML file in ``data/scenarios/``), its
checks, and how each shock moves a position's base-currency value:

- ``fx``: move of each currency's value against the scenario pivot (EUR by
  default); ``XAF: -0.20`` means one franc buys 20% fewer euros. A position in
  currency C valued in base B moves by ``(1 + fx[C]) / (1 + fx[B])``, so a
  XAF-based fund sees its EUR bonds gain 25% when the franc loses 20%.
- ``price``: relative moves of the clean value per bucket of ``asset_class``,
  ``country``, ``currency`` or ``issuer`` (labels matched ignoring case).
  Shocks from several dimensions compound: ``(1 + a) * (1 + b)``.
- ``rates_bp``: parallel yield shifts in basis points for bonds, by
  ``country`` or ``currency`` with an optional ``default``; the most specific
  applies (country, then currency, then default). The clean value moves by
  ``-D * dy`` with D the reference modified duration; without one, D is
  approximated from the years to maturity T as the annuity factor
  ``(1 - (1 + y) ** -T) / y`` (y the coupon, else ``assumed_yield``), a par
  bond's modified duration, and the position is flagged ``duration_approx``.
  A bond with neither duration nor maturity is left unshocked and flagged.
  Values never go below zero.

Accrued interest moves with FX only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from folio.analytics.exposures import UNCLASSIFIED, UNVALUED, bucket_codes, years_to_maturity
from folio.analytics.valuation import Valuation
from folio.config import PROJECT_DATA
from folio.errors import ConfigError, NotFound, ValidationError

SCENARIOS = PROJECT_DATA / "scenarios"
PRICE_DIMENSIONS = ("asset_class", "country", "currency", "issuer")
RATE_DIMENSIONS = ("country", "currency")
_KEYS = ("name", "description", "pivot", "fx", "price", "rates_bp", "assumed_yield")


@dataclass(frozen=True)
class Scenario:
    """A set of shocks; see the module docstring for their meaning."""

    name: str
    description: str = ""
    pivot: str = "EUR"
    fx: Mapping[str, float] = field(default_factory=dict)
    price: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rates_bp: Mapping[str, Any] = field(default_factory=dict)
    assumed_yield: float = 0.05
    source: str = "<dict>"
    parts: tuple[str, ...] = ()  # the scenarios composed into this one, if any


def _number(value: Any, source: str, key: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValidationError(f"{source}: {key} must be a number, not {value!r}",
                              file=source, key=key, value=str(value))
    if low is not None and value <= low:
        raise ValidationError(f"{source}: {key} = {value} must be above {low}",
                              file=source, key=key, value=str(value))
    return float(value)


def _table(value: Any, source: str, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{source}: {key} must be a mapping, not {type(value).__name__}",
                              file=source, key=key)
    return {str(k).strip(): v for k, v in value.items()}


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<dict>",
                       name: str | None = None) -> Scenario:
    """Check a scenario given as plain data and build a ``Scenario``.

    Raises ``ValidationError`` naming ``source`` and the offending key
    (``fx.XAF``, ``price.asset_class.Equity``...).
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"{source}: a scenario must be a mapping", file=source, key=None)
    unknown = [k for k in data if k not in _KEYS]
    if unknown:
        raise ValidationError(f"{source}: unknown key {unknown[0]!r}; keys are {', '.join(_KEYS)}",
                              file=source, key=str(unknown[0]))
    pivot = str(data.get("pivot") or "EUR").strip().upper()
    fx = {}
    for ccy, move in _table(data.get("fx"), source, "fx").items():
        code = ccy.upper()
        if code == pivot:
            raise ValidationError(f"{source}: fx.{ccy}: the pivot {pivot} cannot move against "
                                  "itself; move the other currencies instead",
                                  file=source, key=f"fx.{ccy}")
        fx[code] = _number(move, source, f"fx.{ccy}", low=-1)
    price = {}
    for dim, shocks in _table(data.get("price"), source, "price").items():
        if dim not in PRICE_DIMENSIONS:
            raise ValidationError(f"{source}: price.{dim}: shocks apply by "
                                  f"{', '.join(PRICE_DIMENSIONS)}", file=source, key=f"price.{dim}")
        price[dim] = {label.casefold(): _number(move, source, f"price.{dim}.{label}", low=-1)
                      for label, move in _table(shocks, source, f"price.{dim}").items()}
    rates: dict[str, Any] = {}
    for dim, shocks in _table(data.get("rates_bp"), source, "rates_bp").items():
        if dim == "default":
            rates["default"] = _number(shocks, source, "rates_bp.default")
        elif dim in RATE_DIMENSIONS:
            rates[dim] = {label.casefold(): _number(bp, source, f"rates_bp.{dim}.{label}")
                          for label, bp in _table(shocks, source, f"rates_bp.{dim}").items()}
        else:
            raise ValidationError(f"{source}: rates_bp.{dim}: shifts apply by country, currency "
                                  "or default", file=source, key=f"rates_bp.{dim}")
    assumed = _number(data.get("assumed_yield", 0.05), source, "assumed_yield", low=0)
    return Scenario(name=str(data.get("name") or name or source), pivot=pivot,
                    description=str(data.get("description") or "").strip(), fx=fx, price=price,
                    rates_bp=rates, assumed_yield=assumed, source=source)


def list_scenarios(folder: str | Path | None = None) -> list[str]:
    """Names of the scenario files (``*.yaml``/``*.yml``) in ``folder`` (default data/scenarios)."""
    folder = Path(folder) if folder else SCENARIOS
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def load_scenario(scenario: str | Path, folder: str | Path | None = None) -> Scenario:
    """Read a scenario from a YAML file, or by name from ``data/scenarios/``.

    Raises ``NotFound`` for an unknown name, ``ConfigError`` for a file that is
    not YAML, and ``ValidationError`` (with ``file`` and ``key``) for bad content.
    """
    path = Path(scenario)
    if not path.is_file():
        folder = Path(folder) if folder else SCENARIOS
        candidates = [folder / f"{scenario}.yaml", folder / f"{scenario}.yml"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            known = ", ".join(list_scenarios(folder)) or "none"
            raise NotFound(f"no scenario {str(scenario)!r}; known: {known}", kind="scenario",
                           key=str(scenario))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path.name}: cannot read scenario: {exc}".splitlines()[0],
                          file=str(path), setting=None) from None
    return scenario_from_dict(data if data is not None else {}, source=path.name, name=path.stem)


def _per_row(column: pd.Series, table: Mapping[str, float], default: float) -> np.ndarray:
    """Look labels up (ignoring case and spaces) once per distinct value."""
    codes, uniques = pd.factorize(column)
    values = np.array([table.get(str(u).strip().casefold(), default) for u in uniques] + [default],
                      dtype=float)
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
        return pd.concat([rest, table.iloc[-1:]], ignore_index=True)


def stress(valuation: Valuation, scenario: Scenario | Mapping[str, Any] | str | Path, *,
           value: str = "value") -> StressResult:
    """Apply a scenario to a valuation.

    Parameters
    ----------
    valuation
        The result of ``value_positions``.
    scenario
        A ``Scenario``, a dict in the scenario format, a YAML path or a name in
        ``data/scenarios/``.
    value
        ``value`` (clean) or ``dirty_value`` (accrued interest moves with FX only).

    Returns
    -------
    StressResult
    """
    if isinstance(scenario, Mapping):
        scenario = scenario_from_dict(scenario)
    elif not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    if value not in ("value", "dirty_value"):
        raise ValidationError(f"value must be 'value' or 'dirty_value', not {value!r}",
                              column="value", value=value)
    frame = valuation.positions
    base_move = scenario.fx.get(valuation.base_currency, 0.0)
    fx_factor = (1.0 + _per_row(frame["currency"], {k.casefold(): v for k, v in scenario.fx.items()},
                                0.0)) / (1.0 + base_move)
    price_factor = np.ones(len(frame))
    for dim, shocks in scenario.price.items():
        price_factor = price_factor * (1.0 + _per_row(frame[dim], shocks, 0.0))
    is_bond = frame["is_bond"].to_numpy(dtype=bool)
    shift = np.where(is_bond, _rate_shift(frame, scenario.rates_bp), 0.0)
    duration, source = _durations(frame, scenario.assumed_yield)
    moved = shift != 0
    unshocked = moved & (source == "none")
    rate_factor = np.where(moved & ~unshocked, np.maximum(0.0, 1.0 - duration * shift), 1.0)
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
        rate_factor=rate_factor, duration_approx=moved & (source == "maturity_approx"),
        rate_unshocked=unshocked, before=before, after=after, change=after - before,
    )
    return StressResult(scenario, valuation.base_currency, out)
