"""Stress scenarios as data: their format, their checks, and composing them.

Owns the scenario format (a dict, or a YAML file in ``data/scenarios/``; keys
in ``KEYS``, described in ``stress``) and what a scenario may name: a currency
must be ISO 4217 or in the parity table (``XFA`` is an error, not a shock of
nothing), an asset class a label of the taxonomy (``Equty`` is an error;
``Actions`` and ``Equity`` are both ``equity``), a country an ISO 3166 code or
a region (``CEMAC``, ``UEMOA``: every member, a member named as well keeping
its own figure). Each error names the file, the key and the known values.
Issuers depend on the portfolio: ``stress`` checks them against the valuation.

Several scenarios compose into one (``compose``): their moves compound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from folio.analytics import vocabulary
from folio.config import PROJECT_DATA
from folio.errors import ConfigError, NotFound, ValidationError

SCENARIOS = PROJECT_DATA / "scenarios"
PRICE_DIMENSIONS = ("asset_class", "country", "currency", "issuer")
RATE_DIMENSIONS = ("country", "currency")
KEYS = ("name", "description", "pivot", "fx", "price", "rates_bp", "assumed_yield")


@dataclass(frozen=True)
class Scenario:
    """A set of shocks; see ``folio.analytics.stress`` for their meaning.

    Labels are stored as matched: asset classes as their taxonomy class,
    countries and currencies casefolded (regions expanded; ``fx`` keeps its
    codes), issuers as written.
    ``components`` holds the scenarios a composed one applies, in order.
    """

    name: str
    description: str = ""
    pivot: str = "EUR"
    fx: Mapping[str, float] = field(default_factory=dict)
    price: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    rates_bp: Mapping[str, Any] = field(default_factory=dict)
    assumed_yield: float = 0.05
    source: str = "<dict>"
    parts: tuple[str, ...] = ()  # the scenarios composed into this one, if any
    components: tuple[Scenario, ...] = ()


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


def _currency(label: str, source: str, key: str) -> str:
    code = label.upper()
    if code not in vocabulary.currencies():
        raise vocabulary.unknown(source, key, label, "currency", vocabulary.currencies(),
                                 "ISO 4217 codes and the parity table's (FRF, DEM...)")
    return code


def _labels(dim: str, table: Mapping[str, Any], source: str, key: str,
            low: float | None) -> dict[str, float]:
    """``{label: number}`` of one dimension, each label checked and stored as matched."""
    out: dict[str, float] = {}
    regional: dict[str, float] = {}
    for label, move in table.items():
        where = f"{key}.{label}"
        number = _number(move, source, where, low=low)
        if dim == "currency":
            out[_currency(label, source, where)] = number
        elif dim == "country":
            code = label.upper()
            if code in vocabulary.regions():
                regional.update(dict.fromkeys(vocabulary.regions()[code], number))
            elif code in vocabulary.countries():
                out[code.casefold()] = number
            else:
                raise vocabulary.unknown(source, where, label, "country",
                                         [*vocabulary.countries(), *vocabulary.regions()],
                                         "ISO 3166 alpha-2 codes, and the regions "
                                         f"{', '.join(sorted(vocabulary.regions()))}")
        elif dim == "asset_class":
            cls = vocabulary.asset_class(label)
            if cls is None:
                raise vocabulary.unknown(source, where, label, "asset class",
                                         vocabulary.ASSET_CLASSES,
                                         ", ".join(vocabulary.ASSET_CLASSES)
                                         + " (or a label of asset_classes.csv)")
            if cls in out and out[cls] != number:
                raise ValidationError(f"{source}: {where}: {label!r} is {cls}, already "
                                      f"shocked by {out[cls]}", file=source, key=where)
            out[cls] = number
        else:  # issuer: as written, checked against the portfolio when applied
            out[label] = number
    # A member named on its own keeps its figure over its region's.
    return {**{c.casefold(): v for c, v in regional.items()}, **out}


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "<dict>",
                       name: str | None = None) -> Scenario:
    """Check a scenario given as plain data and build a ``Scenario``.

    Raises ``ValidationError`` naming ``source`` and the offending key
    (``fx.XAF``, ``price.asset_class.Equty``...); for an unknown name, its
    ``known`` field lists the known values.
    """
    if not isinstance(data, Mapping):
        raise ValidationError(f"{source}: a scenario must be a mapping", file=source, key=None)
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ValidationError(f"{source}: unknown key {unknown[0]!r}; keys are {', '.join(KEYS)}",
                              file=source, key=str(unknown[0]))
    pivot = _currency(str(data.get("pivot") or "EUR").strip(), source, "pivot")
    fx = _labels("currency", _table(data.get("fx"), source, "fx"), source, "fx", low=-1)
    if pivot in fx:
        raise ValidationError(f"{source}: fx.{pivot}: the pivot {pivot} cannot move against "
                              "itself; move the other currencies instead",
                              file=source, key=f"fx.{pivot}")
    price = {}
    for dim, shocks in _table(data.get("price"), source, "price").items():
        if dim not in PRICE_DIMENSIONS:
            raise ValidationError(f"{source}: price.{dim}: shocks apply by "
                                  f"{', '.join(PRICE_DIMENSIONS)}", file=source, key=f"price.{dim}")
        price[dim] = _labels(dim, _table(shocks, source, f"price.{dim}"), source,
                             f"price.{dim}", low=-1)
        if dim == "currency":  # matched as positions' labels are: casefolded
            price[dim] = {k.casefold(): v for k, v in price[dim].items()}
    rates: dict[str, Any] = {}
    for dim, shocks in _table(data.get("rates_bp"), source, "rates_bp").items():
        if dim == "default":
            rates["default"] = _number(shocks, source, "rates_bp.default")
        elif dim in RATE_DIMENSIONS:
            rates[dim] = _labels(dim, _table(shocks, source, f"rates_bp.{dim}"), source,
                                 f"rates_bp.{dim}", low=None)
            if dim == "currency":
                rates[dim] = {k.casefold(): v for k, v in rates[dim].items()}
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


def as_scenario(scenario: Scenario | Mapping[str, Any] | str | Path) -> Scenario:
    """A ``Scenario`` from any of the forms ``stress`` takes (a list composes)."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return scenario_from_dict(scenario)
    if isinstance(scenario, list | tuple):
        return compose(scenario)
    return load_scenario(scenario)


def compose(scenarios: Iterable[Scenario | Mapping[str, Any] | str | Path]) -> Scenario:
    """Several scenarios applied together: FX and price moves compound, rate
    shifts add (each scenario's most specific shift, with its own durations)."""
    parts = [as_scenario(s) for s in scenarios]
    if not parts:
        raise ValidationError("compose: no scenario given", key=None)
    flat = tuple(c for p in parts for c in (p.components or (p,)))
    if len(flat) == 1:
        return flat[0]
    return Scenario(name=" + ".join(s.name for s in flat),
                    description="\n".join(f"{s.name}: {s.description}" for s in flat),
                    pivot=flat[0].pivot, source=" + ".join(s.source for s in flat),
                    parts=tuple(Path(s.source).stem for s in flat), components=flat)
