"""The portfolio report: one plain dict for ``--json`` and a text rendering of it.

Owns the report's shape (``portfolio``, ``as_of``, ``base_currency``,
``valuation``, ``exposures``, ``concentration``, ``flags``, ``classification``), the ``Report``
that carries it with the valuation it came from (for ``to_excel``, drawn by
``excel``), and its terminal layout. The text is drawn from the dict alone, so
both outputs always show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.completeness import completeness
from folio.analytics.concentration import TOP, check_limits, concentration
from folio.analytics.exposures import DIMENSIONS, exposures
from folio.analytics.fx import fx_summary
from folio.analytics.totals import max_unvalued, require_valued
from folio.analytics.valuation import FLAGS, Valuation
from folio.analytics.vocabulary import OTHER, asset_class
from folio.config import Settings

MAX_LISTED = 20  # flagged identifiers listed per flag; a million rows must not print
TITLES = {"issuer": "Issuer", "country": "Country", "region": "Region", "currency": "Currency",
          "asset_class": "Asset class", "maturity": "Maturity"}


def _num(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class Report(dict):
    """A report: its plain data (a ``dict``, as ``--json`` prints it) and the
    valuation it was built from, so it can also be written as a workbook.

    Attributes
    ----------
    valuation
        The ``Valuation`` the figures come from (positions with their flags).
    limits
        The limits checked, ``{dimension: share}``.
    """

    def __init__(self, data: Mapping[str, Any], valuation: Valuation,
                 limits: Mapping[str, float] | None = None,
                 changes: Callable[[], Any] | None = None) -> None:
        super().__init__(data)
        self.valuation = valuation
        self.limits = dict(limits or {})
        self._changes = changes  # the comparison with the snapshot before, when asked

    @property
    def from_store(self) -> bool:
        """Whether the report was read from the store (``report()``), so that the
        changes since the snapshot before can be found."""
        return self._changes is not None

    def to_text(self, *, width: int = 78) -> str:
        """The report as text for a terminal (``format_report``)."""
        return format_report(self, width=width)

    def to_excel(self, path: str | Path, *, scenarios: Sequence[Any] | None = None,
                 changes: Any = None) -> Path:
        """Write the report as one formatted Excel workbook.

        Sheets: valuation, positions with their flags, one per exposure (with
        the unvalued bucket), concentration, limits, stress, changes. Money in
        its currency's minor units (none for XAF, XOF, JPY; 2 for EUR, USD),
        shares as percentages, thousands separated, header rows frozen.

        Parameters
        ----------
        path
            The ``.xlsx`` file to write (replaced if it exists).
        scenarios
            Stress scenarios, each a name, path, dict or list (composed); by
            default every shipped scenario; ``[]`` for none.
        changes
            A ``Changes`` to show; by default, for a stored portfolio, the
            changes since the snapshot before this one (none for the first).

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        ConfigError
            openpyxl is not installed (``pip install 'folio[excel]'``).
        """
        from folio.analytics.excel import write_workbook

        if changes is None and self._changes is not None:
            changes = self._changes()
        return write_workbook(self, path, scenarios=scenarios, changes=changes)


def build_report(valuation: Valuation, *, portfolio: str | None = None,
                 limits: Mapping[str, float] | None = None, top: Iterable[int] = TOP,
                 dims: Iterable[str] = DIMENSIONS, strict: bool = False,
                 max_unvalued_share: float | None = None) -> Report:
    """The report of a valuation as JSON-able data (no I/O): a ``Report``, a
    ``dict`` that can also be written ``to_excel``.

    Parameters
    ----------
    valuation
        The result of ``value_positions`` for one as-of date.
    portfolio
        Name shown in the report.
    limits
        Optional ``{dimension: maximum share}``; breaches are listed under
        ``concentration.breaches``.
    top, dims
        Top-N shares and exposure dimensions.
    strict
        Raise ``Unvalued`` rather than report when any position has no value.
    max_unvalued_share
        Above this share of unvalued positions, concentration is marked
        untrusted and limits are not checked (default: the setting).
    """
    if strict:
        require_valued(valuation)
    threshold = max_unvalued(max_unvalued_share)
    frame = valuation.positions
    totals = valuation.totals()
    flags: dict[str, Any] = {}
    for flag in FLAGS:
        mask = frame[flag].to_numpy(dtype=bool)
        ids = sorted({str(i) for i in frame.loc[mask, "identifier"]})
        flags[flag] = {"positions": totals["flags"][flag]["positions"],
                       "value": _num(totals["flags"][flag]["value"]),
                       "unvalued_positions": totals["flags"][flag]["unvalued_positions"],
                       "identifiers": ids[:MAX_LISTED], "more": max(0, len(ids) - MAX_LISTED)}
    tables = exposures(valuation, dims)
    conc = {dim: concentration(valuation, dim, top=top, max_unvalued_share=threshold).to_dict()
            for dim in ("issuer", "country")}
    breaches = (check_limits(valuation, limits, max_unvalued_share=threshold)
                if limits else None)
    return Report({
        "portfolio": portfolio,
        "as_of": totals["as_of"],
        "base_currency": valuation.base_currency,
        "valuation": {
            "positions": totals["positions"], "value": _num(totals["value"]),
            "accrued": _num(totals["accrued"]), "dirty_value": _num(totals["dirty_value"]),
            "valued_positions": totals["valued_positions"],
            "unvalued_positions": totals["unvalued_positions"],
            "unvalued_share": totals["unvalued_share"], "max_unvalued_share": threshold,
            "trusted": totals["unvalued_share"] <= threshold,
            "unvalued": totals["unvalued"], "unvalued_local": totals["unvalued_local"],
            "flagged_positions": totals["flagged_positions"],
            "flagged_value": _num(totals["flagged_value"]),
            "flagged_share": _num(totals["flagged_share"]),
            **completeness(valuation.rejected, valuation.as_of),
            "stale_fx_days": valuation.stale_days,
            "stale_price_days": valuation.stale_price_days, "pivot": valuation.pivot,
            "fx": fx_summary(frame),
        },
        "exposures": {dim: [{"bucket": str(r.bucket), "value": _num(r.value),
                             "share": _num(r.share), "positions": int(r.positions)}
                            for r in table.itertuples(index=False)]
                      for dim, table in tables.items()},
        "concentration": {
            **conc,
            "limits": dict(limits) if limits else {},
            "limits_checked": bool(limits) and totals["unvalued_share"] <= threshold,
            "breaches": [] if breaches is None else [
                {k: (_num(v) if isinstance(v, float | np.floating) else v)
                 for k, v in row.items()} for row in breaches.to_dict("records")
                if row["status"] == "breach"],
        },
        "flags": flags,
        "classification": _classification(frame),
    }, valuation, limits)


def _classification(frame) -> dict[str, Any]:
    """What the vocabulary did: countries read from ISINs, and the asset-class
    labels it does not know (they are ``other``: a typo shows here)."""
    out: dict[str, Any] = {"countries_from_isin": int(frame["country_inferred"].sum())
                           if "country_inferred" in frame else 0,
                           "unknown_asset_class_labels": []}
    if "asset_class_label" in frame:
        other = (frame["asset_class"] == OTHER).to_numpy(dtype=bool)
        labels = {str(x).strip() for x in pd.unique(frame.loc[other, "asset_class_label"])}
        out["unknown_asset_class_labels"] = sorted(x for x in labels if asset_class(x) is None)
    return out


def report(portfolio: str, as_of: date | str | None = None, base_currency: str | None = None,
           settings: Settings | None = None, *, limits: Mapping[str, float] | None = None,
           strict: bool = False) -> Report:
    """Value a stored snapshot and build its report (``.to_excel(path)`` writes it
    as a workbook, with the changes since the snapshot before).

    Parameters
    ----------
    portfolio
        Portfolio name.
    as_of
        Snapshot date (``date`` or ``YYYY-MM-DD``); default the latest.
    base_currency
        Value in this currency instead of the portfolio's (any currency the
        rates and parities reach).
    settings
        Settings in force by default (store, ``stale_fx_days``,
        ``max_unvalued_share``).
    limits
        Optional concentration limits, e.g. ``{"issuer": 0.10, "country": 0.35}``.
    strict
        Refuse to report (``Unvalued``) when any position has no value.

    Raises
    ------
    NotFound
        Unknown portfolio, or no snapshot on ``as_of``.
    Unvalued
        ``strict`` and some position has no value.
    """
    from folio.analytics.data import previous_changes, value_snapshot  # they read the store
    from folio.config import get_settings

    settings = settings or get_settings()
    valuation = value_snapshot(portfolio, as_of, base_currency, settings=settings)
    out = build_report(valuation, portfolio=portfolio, limits=limits, strict=strict,
                       max_unvalued_share=settings.max_unvalued_share)
    out._changes = lambda: previous_changes(portfolio, valuation, settings=settings)
    return out


# ------------------------------------------------------------------------- text


def _money(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def format_report(data: Mapping[str, Any], *, width: int = 78) -> str:
    """Render ``report()``'s dict as text for a terminal."""
    ccy = data.get("base_currency", "")
    val = data["valuation"]
    lines = [f"{data.get('portfolio') or 'portfolio'} as of {data.get('as_of') or 'several dates'}"
             f" (values in {ccy})", "=" * min(width, 60)]
    lines.append(f"{'Market value (clean)':<24}{_money(val['value']):>22}")
    lines.append(f"{'Accrued interest':<24}{_money(val['accrued']):>22}")
    lines.append(f"{'Dirty value':<24}{_money(val['dirty_value']):>22}")
    lines.append(f"{'Positions':<24}{val['positions']:>22,}"
                 + (f"  ({val['valued_positions']:,} valued)" if val["unvalued_positions"] else ""))
    if val["unvalued_positions"]:
        why = ", ".join(f"{n} {r}" for r, n in val["unvalued"].items() if n)
        local = ", ".join(f"{_money(v)} {c}" for c, v in val["unvalued_local"].items())
        lines.append(f"{'UNVALUED':<24}{val['unvalued_positions']:>22,}  "
                     f"{_pct(val['unvalued_share'])} of positions, not in any total ({why})"
                     + (f"; known locally: {local}" if local else ""))
    if val.get("incomplete"):
        unread = val["rejected_unreadable"]
        lines.append(f"{'INCOMPLETE':<24}{val['rejected_rows']:>22,}  row(s) rejected at import, "
                     f"carrying {_money(val['rejected_value'])} {ccy}"
                     + (f" (+{unread} unreadable)" if unread else "")
                     + (f" (not converted: {', '.join(val['rejected_unconverted'])})"
                        if val["rejected_unconverted"] else "") + "; in no figure")
    lines.append(f"{'Flagged value':<24}{_money(val['flagged_value']):>22}  "
                 f"{_pct(val['flagged_share'])} of value, {val['flagged_positions']} position(s)")
    for fx in val["fx"]:
        if fx["route"] == "identity":
            continue
        rate = "MISSING" if fx["rate"] is None else f"{fx['rate']:,.6g}"
        when = ("" if fx["date"] is None else " (fixed parity)" if fx["route"] == "peg"
                else f" on {fx['date']} ({fx['gap_days']} d old, {fx['route']})")
        lines.append(f"  FX 1 {fx['currency']} = {rate} {ccy}{when}")

    lines += ["", "Data quality"]
    raised = [(name, f) for name, f in data["flags"].items() if f["positions"]]
    if not raised:
        lines.append("  no flags")
    for name, f in raised:
        ids = ", ".join(f["identifiers"]) + (f" and {f['more']} more" if f["more"] else "")
        lines.append(f"  {name:<20}{f['positions']:>5} position(s) {_money(f['value']):>18}  {ids}")
    named = data.get("classification") or {}
    if named.get("countries_from_isin"):
        lines.append(f"  country read from the ISIN for {named['countries_from_isin']} "
                     "position(s)")
    if named.get("unknown_asset_class_labels"):
        lines.append("  asset classes not in the taxonomy (counted as other): "
                     + ", ".join(named["unknown_asset_class_labels"][:MAX_LISTED]))

    for dim, rows in data["exposures"].items():
        title = TITLES.get(dim, dim)
        lines += ["", f"{title:<40}{'value':>22}{'share':>9}"]
        for row in rows:
            if row["bucket"] == "unvalued":
                if row["positions"]:
                    lines.append(f"  {'unvalued':<38}{'unknown':>22}{'n/a':>9}  "
                                 f"{row['positions']} position(s)")
                continue
            label = row["bucket"] if len(row["bucket"]) <= 38 else row["bucket"][:37] + "…"
            lines.append(f"  {label:<38}{_money(row['value']):>22}{_pct(row['share']):>9}")

    lines += ["", "Concentration"]
    conc = data["concentration"]
    for dim in ("issuer", "country"):
        c = conc.get(dim)
        if not c:
            continue
        tops = ", ".join(f"top {k.split('_')[1]} {_pct(v)}" for k, v in c["top"].items())
        eff = "n/a" if c["effective_names"] is None else f"{c['effective_names']:.1f}"
        hhi = "n/a" if c["hhi"] is None else f"{c['hhi']:.4f}"
        lines.append(f"  {dim:<8} {c['names']} names; {tops}; HHI {hhi} "
                     f"({eff} effective names)"
                     + (f"; unclassified {_pct(c['unclassified_share'])}"
                        if c["unclassified_share"] else "")
                     + ("" if c.get("trusted", True) else
                        f"; NOT TRUSTED: {_pct(c['unvalued_share'])} of positions unvalued"))
    if conc.get("limits"):
        limits = ", ".join(f"{k} {_pct(v)}" for k, v in conc["limits"].items())
        lines.append(f"  limits: {limits}")
        if not conc.get("limits_checked", True):
            lines.append(f"  NOT CHECKED: {_pct(val['unvalued_share'])} of positions unvalued "
                         f"(above {_pct(val['max_unvalued_share'])}); a breach on part of the "
                         "portfolio would mislead")
        elif not conc["breaches"]:
            lines.append("  no breach")
        for b in conc["breaches"]:
            lines.append(f"  BREACH {b['dimension']} {b['bucket']}: {_pct(b['share'])} "
                         f"> {_pct(b['limit'])}")
    return "\n".join(lines) + "\n"
