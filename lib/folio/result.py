"""The outcome of one import (or dry run) and the ways it shows itself.

Owns ``ImportResult``: counts, status, issues, the mapping used and where the
import ran, with a text summary for terminals, an HTML repr for notebooks, a
JSON form for ``folio import --json`` (and, complete, for a Celery task's
answer, which ``from_dict`` turns back into the same result) and a
spreadsheet-safe CSV of the issues.
"""

from __future__ import annotations

import html
import io
import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

MAX_JSON_ISSUES = 100
# The issues a result carries; the store keeps every one (``folio issues ID --csv``).
MAX_RESULT_ISSUES = 100_000
MAX_RESULT_MISSING = 100_000  # a dry run's missing instruments a result holds


def safe_cell(value: object) -> object:
    """Escape a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_csv(frame: pd.DataFrame, header: bool = True) -> str:
    """A CSV of ``frame`` that is safe to open in a spreadsheet."""
    buffer = io.StringIO()
    _escaped(frame).to_csv(buffer, index=False, header=header)
    return buffer.getvalue()


def _escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """``safe_cell`` of every cell, a column at a time where the column is all text
    (a cell at a time made a CSV of a million issues take seconds)."""
    out = {}
    for name, column in frame.items():
        if pd.api.types.infer_dtype(column, skipna=True) == "string":
            text = column.astype("string")
            formula = text.str.slice(0, 1).isin(_FORMULA_STARTS).fillna(False).to_numpy(bool)
            out[name] = column.where(~formula, "'" + text) if formula.any() else column
        elif column.dtype == object:
            out[name] = column.map(safe_cell)  # mixed values: only the text ones change
        else:
            out[name] = column  # numbers, dates: nothing a spreadsheet would run
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _json_cell(value: object) -> object:
    """A cell as JSON: numbers and text as they are, dates as ISO text, gaps as None."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, date):  # datetime and pd.Timestamp too
        return value.isoformat()
    return value


def frame_to_json(frame: pd.DataFrame) -> dict[str, Any]:
    """A frame as plain JSON with its column types, for ``frame_from_json``."""
    return {"columns": [str(c) for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "data": [[_json_cell(v) for v in row] for row in frame.itertuples(index=False)]}


def _issue_records(issues: pd.DataFrame) -> list[dict[str, Any]]:
    """The issues as JSON records: None for a gap, the row as a whole number."""
    return [{k: (None if pd.isna(v) else (int(v) if k == "row" else v)) for k, v in rec.items()}
            for rec in issues.to_dict("records")]


def _issue_columns(issues: pd.DataFrame) -> dict[str, Any]:
    """Every issue, a column at a time, with the column types: the values
    ``_issue_records`` gives, for ``from_dict`` to rebuild the very frame."""
    values = []
    for name, column in issues.items():
        cells = column.tolist()  # Python numbers, as records give them
        if column.dtype == object:
            cells = [v.item() if isinstance(v, np.generic) else v for v in cells]
        gaps = column.isna().to_numpy()
        if gaps.any():
            cells = [None if gap else v for v, gap in zip(cells, gaps, strict=True)]
        if name == "row" and column.dtype.kind != "i":
            cells = [None if v is None else int(v) for v in cells]
        values.append(cells)
    return {"columns": [str(c) for c in issues.columns],
            "dtypes": [str(t) for t in issues.dtypes], "values": values}


def frame_from_json(data: dict[str, Any]) -> pd.DataFrame:
    """The frame ``frame_to_json`` wrote, with the same column types."""
    frame = pd.DataFrame(data["data"], columns=data["columns"], dtype=object)
    if frame.empty:  # nothing to convert: the types alone
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            data["columns"], data["dtypes"], strict=True)})
    for name, dtype in zip(data["columns"], data["dtypes"], strict=True):
        if dtype.startswith("datetime64"):
            frame[name] = pd.to_datetime(frame[name]).astype(dtype)
        elif dtype != "object":
            frame[name] = frame[name].astype(dtype)
    return frame


@dataclass
class ImportResult:
    """What an import did. ``status`` is one of succeeded, partially_succeeded,
    failed, unchanged (or ``dry_run`` for a preflight that wrote nothing)."""

    import_id: str | None
    file: str
    portfolio: str
    as_of: date | None
    status: str
    via: str
    rows_total: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    issues: pd.DataFrame = field(default_factory=pd.DataFrame)
    mapping: dict[str, str] = field(default_factory=dict)
    mapping_name: str | None = None
    reader: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    fallback_reason: str | None = None
    error: str | None = None
    preview: pd.DataFrame | None = None  # dry run: the first positions
    missing_instruments: pd.DataFrame | None = None  # dry run: not in the reference
    # All the issues; ``issues`` holds the first MAX_RESULT_ISSUES of them.
    issues_total: int | None = None
    # All the missing instruments; ``missing_instruments`` holds the first MAX_RESULT_MISSING.
    missing_total: int | None = None
    # What the file's layout said: the preset that read it, the lines that are not
    # positions (role -> count), its cash lines (currency -> amount, never stored
    # as positions), its own totals against folio's, and where the as-of came from.
    preset: str | None = None
    row_roles: dict[str, int] = field(default_factory=dict)
    cash: dict[str, float] = field(default_factory=dict)
    totals: list[dict[str, Any]] = field(default_factory=list)
    as_of_source: str | None = None
    # The portfolio's base currency after the import, and why that one (asked
    # for, the portfolio's own, or chosen by value converted for a new one).
    base_currency: str | None = None
    base_currency_reason: str | None = None
    # The accounts the file names (account -> positions), and with
    # ``portfolio_per_account`` the portfolios written (portfolio -> positions).
    accounts: dict[str, int] = field(default_factory=dict)
    portfolios: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.issues_total is None:
            self.issues_total = len(self.issues)
        if self.missing_total is None and self.missing_instruments is not None:
            self.missing_total = len(self.missing_instruments)

    @property
    def headline(self) -> str:
        """What the import did, in the words people read first.

        ``imported 12 rows``; ``imported 10 of 12 rows, 2 rejected, 1 warning``;
        ``already imported (same file): nothing written``; ``would import 8 rows``
        (a dry run); ``failed: ...``. The import id is secondary, shown apart. A
        warning is named here, not only in the issues: a kept row that may be
        wrong (a decimal mark guessed, a price per 100) is news for whoever reads
        no further.
        """
        rejected = f", {self.rows_rejected:,} rejected" if self.rows_rejected else ""
        if self.warnings:
            rejected += f", {self.warnings:,} warning{'s' if self.warnings != 1 else ''}"
        of_total = (f"{self.rows_imported:,} of {self.rows_total:,} rows"
                    if self.rows_imported != self.rows_total else
                    f"{self.rows_imported:,} row" + ("" if self.rows_imported == 1 else "s"))
        if self.status == "unchanged":
            return "already imported (same file): nothing written"
        if self.status == "dry_run":
            return f"would import {of_total}{rejected}; nothing written"
        if self.status == "failed":
            return f"failed: {self.error or 'nothing imported'}"
        return f"imported {of_total}{rejected}"

    @property
    def ok(self) -> bool:
        return self.status in ("succeeded", "partially_succeeded", "unchanged", "dry_run")

    def to_dict(self, max_issues: int | None = MAX_JSON_ISSUES, *,
                complete: bool = False) -> dict[str, Any]:
        """Plain data: the counts and the first ``max_issues`` issues (all with None).

        ``complete`` adds what ``from_dict`` needs to rebuild this very result
        (every issue it holds, a column at a time with the column types, in
        ``issue_columns``, ``issues`` then empty; a dry run's preview and missing
        instruments as frames): how a Celery task answers.
        """
        issues = (self.issues.head(max_issues)
                  if not self.issues.empty and max_issues is not None else self.issues)
        out: dict[str, Any] = {
            "import_id": self.import_id,
            "status": self.status,
            "via": self.via,
            "task_id": self.task_id,
            "fallback_reason": self.fallback_reason,
            "portfolio": self.portfolio,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "file": self.file,
            "rows_total": self.rows_total,
            "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_rejected,
            "warnings": self.warnings,
            "mapping": self.mapping,
            "mapping_name": self.mapping_name,
            "reader": self.reader,
            # Complete, every issue a column at a time (issue_columns): a million-row
            # file's 10,000 issues as records cost a Celery answer 0.1 s to build,
            # encode, decode and rebuild, on the way from the worker's commit.
            "issues": [] if complete else _issue_records(issues),
            "issues_total": self.issues_total,
            "error": self.error,
            "preset": self.preset,
            "row_roles": self.row_roles,
            "cash": self.cash,
            "totals": self.totals,
            "as_of_source": self.as_of_source,
            "base_currency": self.base_currency,
            "base_currency_reason": self.base_currency_reason,
            "accounts": self.accounts,
            "portfolios": self.portfolios,
        }
        if self.missing_instruments is not None:
            out["missing_instruments"] = self.missing_instruments["identifier"].tolist()
            out["missing_total"] = self.missing_total
        if complete:
            out["issue_columns"] = _issue_columns(self.issues)
            for name in ("preview", "missing_instruments"):
                frame = getattr(self, name)
                out[f"{name}_frame"] = None if frame is None else frame_to_json(frame)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportResult:
        """The result ``to_dict`` described; exactly it when that was ``complete``."""
        columns, dtypes = data.get("issue_columns"), data.get("issue_dtypes")
        if columns is not None:
            issues = frame_from_json({
                "columns": columns["columns"], "dtypes": columns["dtypes"],
                "data": list(zip(*columns["values"], strict=True))})
        elif dtypes is not None:  # a worker of an earlier folio: every issue as a record
            issues = frame_from_json({
                "columns": list(dtypes), "dtypes": list(dtypes.values()),
                "data": [[rec.get(c) for c in dtypes] for rec in data["issues"]]})
        else:
            issues = pd.DataFrame(data.get("issues") or [])
        frames = {}
        for name in ("preview", "missing_instruments"):
            encoded = data.get(f"{name}_frame")
            frames[name] = None if encoded is None else frame_from_json(encoded)
        if frames["missing_instruments"] is None and data.get("missing_instruments") is not None:
            frames["missing_instruments"] = pd.DataFrame(
                {"identifier": data["missing_instruments"]})
        return cls(
            import_id=data["import_id"], file=data["file"], portfolio=data["portfolio"],
            as_of=date.fromisoformat(data["as_of"]) if data.get("as_of") else None,
            status=data["status"], via=data["via"], rows_total=data["rows_total"],
            rows_imported=data["rows_imported"], rows_rejected=data["rows_rejected"],
            warnings=data["warnings"], issues=issues, mapping=dict(data.get("mapping") or {}),
            mapping_name=data.get("mapping_name"), reader=dict(data.get("reader") or {}),
            task_id=data.get("task_id"), fallback_reason=data.get("fallback_reason"),
            error=data.get("error"), issues_total=data.get("issues_total"),
            missing_total=data.get("missing_total"), preset=data.get("preset"),
            row_roles=dict(data.get("row_roles") or {}), cash=dict(data.get("cash") or {}),
            totals=list(data.get("totals") or []), as_of_source=data.get("as_of_source"),
            base_currency=data.get("base_currency"),
            base_currency_reason=data.get("base_currency_reason"),
            accounts=dict(data.get("accounts") or {}),
            portfolios=dict(data.get("portfolios") or {}), **frames)

    def summary(self) -> str:
        """A few readable lines for a terminal."""
        head = f"{self.file} -> {self.portfolio}"
        if self.as_of:
            head += f" @ {self.as_of.isoformat()}"
        lines = [
            f"{head}: {self.headline}",
            f"  status: {self.status} (via {self.via}"
            + (f"; {self.fallback_reason}" if self.fallback_reason else "") + ")",
            f"  rows: {self.rows_total:,} read, {self.rows_imported:,} "
            + ("to import" if self.status == "dry_run" else "imported")
            + f", {self.rows_rejected:,} rejected, {self.warnings:,} warnings",
        ]
        if self.preset and self.preset == self.mapping_name:
            lines.append(f"  preset: saved mapping {self.preset!r}")
        elif self.preset:
            lines.append(f"  preset: {self.preset}")
        elif self.mapping_name:
            lines.append(f"  mapping: saved mapping {self.mapping_name!r}")
        if self.as_of_source:
            lines.append(f"  as-of from the {self.as_of_source}")
        if self.base_currency:
            lines.append(f"  base currency: {self.base_currency}"
                         + (f" ({self.base_currency_reason})" if self.base_currency_reason
                            else ""))
        if self.row_roles:
            lines.append("  other lines: " + ", ".join(f"{n} {r}" for r, n in self.row_roles.items()))
        if self.portfolios:
            lines.append("  portfolios: " + ", ".join(
                f"{p} ({n} positions)" for p, n in self.portfolios.items()))
        elif self.accounts:
            lines.append("  accounts: " + ", ".join(
                f"{a} ({n} positions)" for a, n in self.accounts.items()))
        if self.cash:
            lines.append("  cash (not positions): " + ", ".join(
                f"{c} {v:,.2f}" for c, v in self.cash.items()))
        for total in self.totals:
            lines.append(f"  total_mismatch: row {total['row']} {total['label']!r}: file "
                         f"{total['file']:,}, folio {total['folio']:,}")
        if self.import_id:
            lines.append(f"  import id: {self.import_id}")
        if self.error:
            lines.append(f"  error: {self.error}")
        for rec in self.issues.head(10).to_dict("records"):
            where = f"row {rec['row']}" + (f", {rec['column']}" if rec["column"] else "")
            lines.append(f"  {where}: [{rec['severity']}] "
                         f"{rec['code']}: {rec['message']}")
        if self.issues_total > 10:
            # A dry run has no import record to list issues from.
            where = (f" (folio issues {self.import_id} --csv)" if self.import_id
                     else " (result.issues)" if self.issues_total == len(self.issues)
                     else f" (result.issues holds the first {len(self.issues)})")
            lines.append(f"  ... {self.issues_total - 10} more issues{where}")
        if self.missing_instruments is not None and len(self.missing_instruments):
            more = self.missing_total - min(10, len(self.missing_instruments))
            lines.append(f"  not in the instrument reference: "
                         f"{', '.join(self.missing_instruments['identifier'].head(10))}"
                         + (f" and {more:,} more (missing_csv= or --missing-csv lists all)"
                            if more > 0 else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def issues_csv(self) -> str:
        """The issues as CSV, with formula-like cells escaped for spreadsheets."""
        return safe_csv(self.issues)

    def _repr_html_(self) -> str:
        # JupyterLab's theme colours (light and dark), these where there is no theme.
        colour = {"succeeded": "var(--jp-success-color1, #1a7f37)",
                  "partially_succeeded": "var(--jp-warn-color1, #9a6700)",
                  "failed": "var(--jp-error-color1, #cf222e)",
                  "dry_run": "var(--jp-brand-color1, #0969da)"}.get(
            self.status, "var(--jp-ui-font-color2, #57606a)")
        esc = html.escape
        parts = [
            f"<div><b>{esc(self.file)}</b> &rarr; <b>{esc(self.portfolio)}</b>"
            + (f" @ {self.as_of.isoformat()}" if self.as_of else "")
            + f": <span style='color:{colour};font-weight:bold'>{esc(self.headline)}</span>"
            f" <small>{esc(self.status)} via {esc(self.via)}"
            + (f"; {esc(self.fallback_reason)}" if self.fallback_reason else "")
            + (f"; import {esc(self.import_id)}" if self.import_id else "") + "</small></div>",
            f"<div>{self.rows_total:,} rows read: {self.rows_imported:,} "
            + ("to import" if self.status == "dry_run" else "imported")
            + f", {self.rows_rejected:,} rejected, {self.warnings:,} warnings</div>",
        ]
        if self.base_currency:
            parts.append(f"<div>base currency <b>{esc(self.base_currency)}</b>"
                         + (f" <small>{esc(self.base_currency_reason)}</small>"
                            if self.base_currency_reason else "") + "</div>")
        if self.error:
            parts.append(f"<div style='color:var(--jp-error-color1, #cf222e)'>"
                         f"{esc(self.error)}</div>")
        if not self.issues.empty:
            from folio.display import issue_counts, to_html

            # The count by code and column first: 500 rows failing one way are one line.
            carried = "" if self.issues_total <= len(self.issues) else \
                f" (of the first {len(self.issues):,} of {self.issues_total:,})"
            parts.append(f"<div>issues by code and column{carried}</div>"
                         + to_html(issue_counts(self.issues)))
            parts.append(f"<details><summary>the first {min(50, len(self.issues))} rows"
                         "</summary>" + to_html(self.issues.head(50)) + "</details>")
            if self.issues_total > 50:
                parts.append(f"<div><small>all {self.issues_total:,} issues"
                             + (f": <code>folio issues {esc(self.import_id)} --csv</code>"
                                if self.import_id else "") + "</small></div>")
        return "\n".join(parts)
