"""Complete snapshots: what the rows an import rejected carried, in the base currency.

Owns turning a snapshot's rejection record (``store.queries.snapshot_rejections``:
count, readable market value per currency, identifiers) into the figures a
report, the history and the changes show: ``incomplete``, ``rejected_rows``,
``rejected_value`` (the readable values converted at the date's rates and
parities; what cannot be converted is listed in ``rejected_unconverted``) and
``rejected_unreadable`` (rows whose value or currency could not be read). A
rejected row is in no figure: these say how much the figures leave out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.fx import lookup_fx


def convert_rejections(rejected: Mapping[date, Mapping[str, Any]], base_currency: str,
                       fx_rates: pd.DataFrame | None, *, pivot: str = "EUR"
                       ) -> dict[date, dict[str, Any]]:
    """Each date's rejection record with ``rejected_value`` in ``base_currency`` added."""
    out = {}
    for day, record in rejected.items():
        local = dict(record.get("value_local") or {})
        codes = list(local)
        value, unconverted = 0.0, []
        if codes:
            rates = lookup_fx(codes, [day] * len(codes), base_currency, fx_rates,
                              pivot=pivot)["fx_rate"].to_numpy(dtype=float)
            amounts = np.array([local[c] for c in codes], dtype=float)
            known = ~np.isnan(rates)
            value = float((amounts[known] * rates[known]).sum())
            unconverted = [c for c, k in zip(codes, known, strict=True) if not k]
        out[day] = {**record, "value": value, "unconverted": unconverted}
    return out


def completeness(rejected: Mapping[date, Mapping[str, Any]], day: date | None
                 ) -> dict[str, Any]:
    """The report's completeness figures for one date (all zero when nothing was rejected)."""
    record = rejected.get(day, {}) if day is not None else {}
    rows = int(record.get("rows", 0))
    return {"incomplete": rows > 0, "rejected_rows": rows,
            "rejected_value": float(record.get("value", 0.0)) if rows else 0.0,
            "rejected_value_local": dict(record.get("value_local") or {}),
            "rejected_unreadable": int(record.get("unreadable", 0)),
            "rejected_unconverted": list(record.get("unconverted") or [])}


def rejected_identifiers(rejected: Mapping[date, Mapping[str, Any]], day: date | None
                         ) -> tuple[set[str], bool]:
    """The identifiers rejected on ``day``, and whether some rejected row is not among them."""
    record = rejected.get(day, {}) if day is not None else {}
    return ({str(i).upper() for i in record.get("identifiers") or ()},
            int(record.get("unidentified", 0)) > 0)
