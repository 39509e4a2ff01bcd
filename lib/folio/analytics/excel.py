"""The report as an Excel workbook: which sheets, in which order, formatted how.

Owns the workbook layout of ``Report.to_excel``: a sheet for the valuation,
the positions with their flags, each exposure (its ``unvalued`` bucket last),
concentration, limits, stress and changes; and how cells read: money in its
currency's minor units (no decimals for XAF, XOF, JPY, KMF; 2 for EUR, USD; the
one ISO 4217 table every folio table reads, ``folio.ingest.currencies``), shares as percentages, thousands separated, dates
as dates, the header row frozen and columns as wide as their content.

openpyxl is the optional ``excel`` extra (``pip install
'folio[excel]'``): imported here only, when a workbook is written. The
workbook is written in openpyxl's write-only mode, row by row, so a large
portfolio does not hold every cell in memory; Excel's row limit caps the
positions sheet, and the valuation sheet says how many were listed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from folio.analytics.concentration import concentration
from folio.analytics.exposures import UNVALUED
from folio.analytics.valuation import FLAGS
from folio.errors import ConfigError
from folio.ingest.currencies import minor_units

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
PERCENT, RATIO, COUNT, RATE, DATE = "0.0%", "0.0000", "#,##0", "#,##0.000000", "yyyy-mm-dd"
MAX_WIDTH, MIN_WIDTH, SAMPLE = 60, 8, 500  # column widths from the first SAMPLE rows
POSITION_COLUMNS = (  # (column, title, kind): kind says how a cell is formatted
    ("identifier", "Identifier", "text"), ("name", "Name", "text"),
    ("issuer", "Issuer", "text"), ("country", "Country", "text"),
    ("country_inferred", "Country from ISIN", "bool"), ("region", "Region", "text"),
    ("asset_class", "Asset class", "text"), ("asset_class_label", "Asset class (as written)",
                                             "text"),
    ("currency", "Currency", "text"), ("quantity", "Quantity", "number"),
    ("price", "Price", "number"), ("local_value", "Local value", "local"),
    ("value_source", "Value from", "text"), ("fx_rate", "FX rate", "rate"),
    ("fx_route", "FX route", "text"), ("fx_date", "FX date", "date"),
    ("value", "Value", "money"), ("accrued", "Accrued", "money"),
    ("dirty_value", "Dirty value", "money"), ("maturity_date", "Maturity", "date"),
    ("unvalued", "Unvalued", "bool"), ("unvalued_reason", "Unvalued because", "text"),
    *((flag, flag.replace("_", " ").capitalize(), "bool") for flag in FLAGS),
)


def _openpyxl():
    try:
        import openpyxl
    except ImportError as exc:
        raise ConfigError(f"writing an Excel report needs the excel extra ({exc.name} is not "
                          "installed): pip install 'folio[excel]'", setting="excel",
                          missing=exc.name) from None
    return openpyxl


@functools.cache
def money_format(currency: str | None) -> str:
    """The number format of an amount in ``currency``: thousands separated, as
    many decimals as its minor units (2 for an unknown code), as every folio table."""
    digits = minor_units(currency, default=2)
    return "#,##0" + ("." + "0" * digits if digits else "")


def _plain(value: Any) -> Any:
    """A cell value openpyxl writes: None for missing, Python scalars, naive dates."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None).date()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).date()
    return value if isinstance(value, int | str) or hasattr(value, "isoformat") else str(value)


class _Sheet:
    """One write-only sheet: a bold frozen header, formatted rows, fitted widths.

    A write-only sheet streams its XML: the frozen pane and the column widths
    must be set before its rows go out. So the first ``SAMPLE`` rows wait here
    while they set the widths, then every row is written as it comes.
    """

    def __init__(self, book, title: str, header: Sequence[str]) -> None:
        from openpyxl.styles import Font

        self.ws = book.create_sheet(title)
        self.ws.freeze_panes = "A2"
        self.widths = [len(h) + 2 for h in header]
        self.waiting: list[list[Any]] | None = []
        self._font = Font(bold=True)
        self._append(list(header), [None] * len(header), bold=True)

    def _append(self, values: list[Any], formats: list[str | None], bold: bool = False) -> None:
        from openpyxl.cell import WriteOnlyCell

        row = []
        for i, (value, fmt) in enumerate(zip(values, formats, strict=True)):
            cell = WriteOnlyCell(self.ws, value=_plain(value))
            if fmt:
                cell.number_format = fmt
            if bold:
                cell.font = self._font
            if self.waiting is not None and cell.value is not None:
                shown = f"{cell.value:,.2f}" if isinstance(cell.value, float) else str(cell.value)
                self.widths[i] = max(self.widths[i], len(shown) + 2)
            row.append(cell)
        if self.waiting is None:
            self.ws.append(row)
            return
        self.waiting.append(row)
        if len(self.waiting) > SAMPLE:
            self.close()

    def row(self, values: Sequence[Any], formats: Sequence[str | None] | None = None) -> None:
        """Append one row; ``formats`` holds a number format per cell (None: none)."""
        self._append(list(values), list(formats or [None] * len(values)))

    def close(self) -> None:
        """Set the widths and write the rows that waited for them (once)."""
        from openpyxl.utils import get_column_letter

        if self.waiting is None:
            return
        for i, width in enumerate(self.widths, start=1):
            self.ws.column_dimensions[get_column_letter(i)].width = max(
                MIN_WIDTH, min(MAX_WIDTH, width))
        waiting, self.waiting = self.waiting, None
        for row in waiting:
            self.ws.append(row)


def _table(book, title: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]
           ) -> _Sheet:
    """A sheet of ``(title, format)`` columns and ``rows``."""
    sheet = _Sheet(book, title, [c for c, _ in columns])
    formats = [f for _, f in columns]
    for values in rows:
        sheet.row(values, formats)
    return sheet


def _valuation_sheet(book, data: Mapping[str, Any], listed: int) -> _Sheet:
    val, money = data["valuation"], money_format(data.get("base_currency"))
    sheet = _Sheet(book, "Valuation", ["Item", "Value", "Note"])
    items = [
        ("Portfolio", data.get("portfolio"), None, None),
        ("As of", date.fromisoformat(data["as_of"]) if data.get("as_of") else None, DATE,
         None),
        ("Base currency", data.get("base_currency"), None, None),
        ("Market value (clean)", val["value"], money, "valued positions only"),
        ("Accrued interest", val["accrued"], money, None),
        ("Dirty value", val["dirty_value"], money, None),
        ("Positions", val["positions"], COUNT, None),
        ("Valued positions", val["valued_positions"], COUNT, None),
        ("Unvalued positions", val["unvalued_positions"], COUNT,
         ", ".join(f"{n} {why}" for why, n in val["unvalued"].items() if n) or None),
        ("Unvalued share", val["unvalued_share"], PERCENT, "of positions, in no total"),
        ("Trusted", val["trusted"], None,
         f"unvalued share at most {val['max_unvalued_share']:.0%}"),
        ("Flagged value", val["flagged_value"], money,
         f"{val['flagged_positions']} position(s)"),
        ("Flagged share", val["flagged_share"], PERCENT, "of value"),
        ("Incomplete", val.get("incomplete", False), None, "rows rejected at import"),
        ("Rejected rows", val.get("rejected_rows", 0), COUNT, None),
        ("Rejected value", val.get("rejected_value", 0.0), money, "in no figure"),
        ("Positions listed", listed, COUNT,
         None if listed == val["positions"] else f"Excel holds {MAX_ROWS - 1:,} rows a sheet"),
    ]
    for label, value, fmt, note in items:
        sheet.row([label, value, note], [None, fmt, None])
    sheet.row([None, None, None])
    sheet.row(["FX", "Rate (base per unit)", "Date, route"], [None, None, None])
    for fx in val["fx"]:
        sheet.row([f"1 {fx['currency']} ({fx['as_of']})", fx["rate"],
                   "MISSING" if fx["rate"] is None
                   else f"{fx['date'] or ''} {fx['route']}".strip()], [None, RATE, None])
    return sheet


def _positions_sheet(book, valuation, n: int) -> _Sheet:
    frame = valuation.positions
    columns = [(c, t, k) for c, t, k in POSITION_COLUMNS if c in frame]
    sheet = _Sheet(book, "Positions", [t for _, t, _ in columns])
    base = money_format(valuation.base_currency)
    arrays = [frame[c].iloc[:n].to_numpy(dtype=object) for c, _, _ in columns]
    local = [money_format(c) if isinstance(c, str) else None
             for c in frame["currency"].iloc[:n].to_numpy(dtype=object)]
    kinds = [k for _, _, k in columns]
    fixed = {"money": base, "rate": RATE, "date": DATE}
    for i in range(n):
        values = [a[i] for a in arrays]
        formats = []
        for kind, value in zip(kinds, values, strict=True):
            if kind == "local":
                formats.append(local[i])
            elif kind == "number":
                whole = isinstance(value, float) and math.isfinite(value) and value.is_integer()
                formats.append(COUNT if whole else "#,##0.00####")
            else:
                formats.append(fixed.get(kind))
        sheet.row(values, formats)
    return sheet


def _exposure_sheets(book, data: Mapping[str, Any]) -> list[_Sheet]:
    money = money_format(data.get("base_currency"))
    sheets = []
    for dim, rows in data["exposures"].items():
        body = [[r["bucket"], r["value"], r["share"], r["positions"],
                 "value unknown: in no total" if r["bucket"] == UNVALUED else None]
                for r in rows]
        sheets.append(_table(book, f"Exposure {dim}"[:31], [
            ("Bucket", None), ("Value", money), ("Share", PERCENT), ("Positions", COUNT),
            ("Note", None)], body))
    return sheets


def _concentration_sheet(book, report) -> _Sheet:
    dims = [d for d in ("issuer", "country", "region", "asset_class")
            if d in report.valuation.positions]
    rows = []
    for dim in dims:
        c = concentration(report.valuation, dim,
                          max_unvalued_share=report["valuation"]["max_unvalued_share"])
        rows.append([dim, c.names, *(c.top.get(n) for n in (1, 5, 10)), c.hhi,
                     c.effective_names, c.largest, c.largest_share, c.unclassified_share,
                     c.unvalued_share, c.trusted])
    return _table(book, "Concentration", [
        ("Dimension", None), ("Names", COUNT), ("Top 1", PERCENT), ("Top 5", PERCENT),
        ("Top 10", PERCENT), ("HHI", RATIO), ("Effective names", "0.0"), ("Largest", None),
        ("Largest share", PERCENT), ("Unclassified share", PERCENT),
        ("Unvalued share", PERCENT), ("Trusted", None)], rows)


def _limits_sheet(book, report) -> _Sheet:
    from folio.analytics.concentration import check_limits

    money = money_format(report.get("base_currency"))
    rows = []
    if report.limits:
        found = check_limits(report.valuation, report.limits,
                             max_unvalued_share=report["valuation"]["max_unvalued_share"])
        for dim, limit in report.limits.items():
            mine = found[found["dimension"] == dim]
            if mine.empty:
                rows.append([dim, None, None, None, limit, None, "within limit", None])
            for r in mine.itertuples(index=False):
                rows.append([dim, r.bucket, r.value, r.share, r.limit, r.excess, r.status,
                             r.unvalued_share if r.status == "unchecked" else None])
    else:
        rows.append(["no limits given", None, None, None, None, None, None, None])
    return _table(book, "Limits", [
        ("Dimension", None), ("Bucket", None), ("Value", money), ("Share", PERCENT),
        ("Limit", PERCENT), ("Excess", PERCENT), ("Status", None),
        ("Unvalued share", PERCENT)], rows)


def _stress_sheet(book, report, scenarios: Sequence[Any] | None) -> _Sheet:
    from folio.analytics.scenarios import list_scenarios
    from folio.analytics.stress import stress
    from folio.errors import FolioError

    money = money_format(report.get("base_currency"))
    rows = []
    for scenario in list_scenarios() if scenarios is None else scenarios:
        name = (scenario.get("name") if isinstance(scenario, Mapping)
                else getattr(scenario, "name", scenario))
        try:
            t = stress(report.valuation, scenario).totals()
        except FolioError as exc:  # one scenario that does not apply stops no other
            rows.append([str(name or scenario), None, None, None, None, None, None,
                         f"not applied: {exc.message}"])
            continue
        rows.append([t["scenario"], t["before"], t["after"], t["change"], t["change_share"],
                     t["positions"], t["unvalued_positions"],
                     "; ".join(filter(None, [
                         f"{t['unvalued_positions']} unvalued position(s) not moved"
                         if t["unvalued_positions"] else None,
                         f"{t['duration_approx_positions']} duration(s) approximated"
                         if t["duration_approx_positions"] else None])) or None])
    if not rows:
        rows.append(["no scenario given", None, None, None, None, None, None, None])
    return _table(book, "Stress", [
        ("Scenario", None), ("Before", money), ("After", money), ("Change", money),
        ("Change %", PERCENT), ("Positions", COUNT), ("Unvalued", COUNT), ("Note", None)],
        rows)


def _changes_sheet(book, changes, stored: bool) -> _Sheet:
    if changes is None:
        why = ("no earlier snapshot to compare with" if stored else
               "no comparison given (changes=compare_snapshots(before, after))")
        return _table(book, "Changes", [("Changes", None)], [[why]])
    money = money_format(changes.base_currency)
    summary = changes.summary()
    sheet = _table(book, "Changes", [
        ("Identifier", None), ("Currency", None), ("Name", None), ("Status", None),
        ("Quantity before", "#,##0.######"), ("Quantity after", "#,##0.######"),
        ("Value before", money), ("Value after", money), ("Change", money),
        ("Quantity effect", money), ("Price effect", money), ("FX effect", money)],
        changes.positions[["identifier", "currency", "name", "status", "quantity_before",
                           "quantity_after", "value_before", "value_after", "change",
                           "quantity_effect", "price_effect", "fx_effect"]
                          ].itertuples(index=False))
    sheet.row([None] * 12)
    sheet.row(["Total", changes.base_currency, None,
               ", ".join(f"{summary[s]} {s}" for s in ("added", "removed", "changed",
                                                       "unchanged", "rejected") if summary[s]),
               None, None, summary["value_before"], summary["value_after"], summary["change"],
               summary["quantity_effect"], summary["price_effect"], summary["fx_effect"]],
              [None] * 6 + [money] * 6)
    return sheet


def write_workbook(report, path: str | Path, *, scenarios: Sequence[Any] | None = None,
                   changes: Any = None) -> Path:
    """Write ``report`` (a ``Report``) as a workbook at ``path``; see ``Report.to_excel``."""
    openpyxl = _openpyxl()
    path = Path(path)
    book = openpyxl.Workbook(write_only=True)
    listed = min(len(report.valuation.positions), MAX_ROWS - 1)
    for write in (lambda: _valuation_sheet(book, report, listed),
                  lambda: _positions_sheet(book, report.valuation, listed),
                  lambda: _exposure_sheets(book, report),
                  lambda: _concentration_sheet(book, report),
                  lambda: _limits_sheet(book, report),
                  lambda: _stress_sheet(book, report, scenarios),
                  lambda: _changes_sheet(book, changes, report.from_store)):
        written = write()
        for sheet in written if isinstance(written, list) else [written]:
            sheet.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
