"""Validation: typed positions and one issue record per problem, computed column-wise.

Owns the row rules (required values, numbers, ISIN check digits, ISO currencies,
dates against the as-of date, portfolio, duplicates, market value against
quantity x price), the bounds of what the store and the analytics can hold
(text widths, amounts, dates), and what counts as data at all (blank, totals
and trailer rows are dropped, not reported). Errors reject a row; warnings keep it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.errors import ValidationError
from folio.ingest.columns import DATES, NUMERIC, ColumnMapping, normalise
from folio.ingest.parse import (
    AMBIGUOUS_CURRENCIES,
    arrow_strings,
    check_currencies,
    check_isins,
    clean_text,
    decide_decimal,
    decimal_votes,
    detect_decimal,
    fixed_width,
    parse_dates,
    parse_numbers,
)
from folio.ingest.readers import BlockSource, RawTable
from folio.ingest.rejected import RejectedRows
from folio.result import MAX_RESULT_ISSUES
from folio.store.schema import positions

ISSUE_COLUMNS = ["row", "column", "code", "severity", "value", "message"]
POSITION_COLUMNS = [
    "row", "identifier", "name", "quantity", "price", "market_value", "accrued_interest",
    "currency", "issuer", "country", "asset_class", "maturity_date", "account",
]
# A totals line: column-wise on lower-cased cells (pyarrow), and through re on
# normalise()d text, whose separators are single spaces, which it also accepts.
_TOTAL_TEXT = r"^(sous[ _-]*)?(grand[ _-]*)?(total|totals|totaux|sub[ _-]?total|subtotal)\b"
_TOTAL = re.compile(_TOTAL_TEXT)
# Longer text is not a name or a code but a broken or hostile file; the row is
# rejected rather than a megabyte stored per cell.
MAX_TEXT_CHARS = 1000
MAX_VALUE_CHARS = 200  # an issue quotes at most this much of a cell
MESSAGE_CHARS = 40  # a message quotes at most this much of a cell
# The store's own widths (VARCHAR(n): PostgreSQL refuses a longer value, and
# with it the whole file's transaction, naming no row): checked here, a row at
# a time, from the table definition so the two cannot drift apart. Not the
# currency's: the ISO 4217 check admits three letters only, and says why.
STORE_WIDTHS = {column.name: column.type.length for column in positions.columns
                if column.name in POSITION_COLUMNS and column.name != "currency"
                and getattr(column.type, "length", None)}
# Larger amounts are not holdings but broken cells (1e308): one of them made
# every total of the portfolio infinite. Below it, sums of millions of rows and
# quantity x price stay exact to the cent far beyond any real book.
MAX_AMOUNT = 1e15
# quantity x price may be a hundred times the value (bond prices per 100).
MAX_PRODUCT = MAX_AMOUNT * 100
# The dates pandas can hold (nanoseconds since 1970): the analytics compute in
# them, so a maturity of 9999-12-31 stored as it is broke every report.
FIRST_DATE = np.datetime64(pd.Timestamp.min.ceil("D").date(), "D")
LAST_DATE = np.datetime64(pd.Timestamp.max.floor("D").date(), "D")
_STEPS = 8  # progress reports during validation


@dataclass
class Validated:
    """What validation found: the positions to keep, the counts, and the first issues."""

    positions: pd.DataFrame | None  # POSITION_COLUMNS, typed (None when checked in blocks)
    issues: pd.DataFrame  # ISSUE_COLUMNS, ordered by row: the first MAX_RESULT_ISSUES
    rows_total: int
    rows_rejected: int
    as_of: date
    decimal: str
    issues_total: int = 0  # all of them, kept or not
    warnings: int = 0
    rejected: dict = dataclasses.field(default_factory=dict)  # RejectedRows.to_dict()


def _no_issues() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object)
                         for c in ISSUE_COLUMNS})


class _Issues:
    """Collects issue blocks column-wise; hands them out a block at a time.

    ``drain`` returns what the last block(s) added, in row order, for the
    caller to keep (an import writes them all to the store); this keeps only
    counts and the first ``MAX_RESULT_ISSUES`` by row, so a file of millions of
    bad rows does not hold millions of issues in memory.
    """

    def __init__(self) -> None:
        self.blocks: list[pd.DataFrame] = []
        self.head = _no_issues()
        self.total = 0
        self.warnings = 0

    def add(self, rows: np.ndarray, column: str | None, code: str, severity: str,
            values: pd.Series | np.ndarray | str, messages: pd.Series | str) -> None:
        if len(rows) == 0:
            return
        n = len(rows)
        self.blocks.append(pd.DataFrame({
            "row": np.asarray(rows, dtype=np.int64),
            "column": [column] * n,
            "code": [code] * n,
            "severity": [severity] * n,
            "value": _as_list(values, n),
            "message": _as_list(messages, n),
        }))

    def drain(self) -> pd.DataFrame:
        """The issues added since the last drain, ordered by row."""
        if not self.blocks:
            return _no_issues()
        out = pd.concat(self.blocks, ignore_index=True)
        self.blocks = []
        out = out.sort_values(["row"], kind="stable").reset_index(drop=True)
        self.total += len(out)
        self.warnings += int((out["severity"] == "warning").sum())
        if len(self.head) < MAX_RESULT_ISSUES or out["row"].iloc[0] < self.head["row"].iloc[-1]:
            head = pd.concat([self.head, out.head(MAX_RESULT_ISSUES)], ignore_index=True)
            self.head = (head.sort_values(["row"], kind="stable").head(MAX_RESULT_ISSUES)
                         .reset_index(drop=True))
        return out


def _quoted(cells: pd.Series) -> np.ndarray:
    """Cells as a message quotes them: the first ``MESSAGE_CHARS`` characters, and "..."
    when there is more."""
    cut = cells.fillna("").str.slice(0, MESSAGE_CHARS)
    more = (cells.str.len() > MESSAGE_CHARS).fillna(False).to_numpy(bool)
    return (cut.to_numpy(object) + np.where(more, "...", "")).astype(object)


def _as_list(values, n: int) -> list:
    if isinstance(values, str):
        return [values] * n
    # An empty cell's value is reported as none (null in JSON), not "".
    return [None if v is None or v is pd.NA or v == "" or (isinstance(v, float) and np.isnan(v))
            else str(v)[:MAX_VALUE_CHARS]
            for v in (values.tolist() if hasattr(values, "tolist") else list(values))]


def _repeated_header(table: RawTable, columns: list[str], id_col: str) -> np.ndarray:
    """Mask of rows that repeat the header (files pasted together, page breaks)."""
    frame = table.frame
    out = np.zeros(len(frame), dtype=bool)
    # Only rows whose identifier cell reads as the header's are candidates.
    suspects = np.flatnonzero(
        (frame[id_col].str.strip().str.lower() == id_col.strip().lower()).fillna(False)
        .to_numpy(bool))
    if len(suspects):
        same = np.zeros(len(suspects), dtype=np.int64)
        for column in columns:
            cells = frame[column].iloc[suspects].str.strip().str.lower()
            same += (cells == column.strip().lower()).fillna(False).to_numpy(bool)
        out[suspects] = same >= min(2, len(columns))
    return out


def _data_rows(table: RawTable, id_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Masks of rows that are data (not blank, not totals, not below the data) and that
    have an identifier."""
    frame = table.frame
    n = len(frame)
    ident = frame[id_col].str.strip().fillna("")
    has_id = (ident != "").to_numpy(bool)
    id_total_like = ident.str.slice(0, 40).str.lower().str.match(_TOTAL_TEXT).fillna(False)
    # A row with an identifier that is not "Total..." is data whatever else it
    # holds: only the other rows (blank, totals, notes) need a look at every cell.
    suspects = np.flatnonzero(~has_id | id_total_like.to_numpy(bool))
    keep = np.ones(n, dtype=bool)
    if len(suspects):
        part = frame.iloc[suspects]
        blank = np.ones(len(part), dtype=bool)
        total_like = np.zeros(len(part), dtype=bool)
        for column in part.columns:
            s = part[column].str.strip()
            blank &= (s == "").fillna(True).to_numpy(bool)
            head = s.fillna("").str.slice(0, 40).str.lower()
            # "TotalEnergies" is a name, not a totals line (no word break after "total").
            total_like |= head.str.match(_TOTAL_TEXT).fillna(False).to_numpy(bool)
        # A totals line has no instrument of its own (or "Total" stands in its place).
        id_is_total = np.array([bool(_TOTAL.match(normalise(v))) for v in ident.iloc[suspects]],
                               dtype=bool)
        total_like &= ~has_id[suspects] | id_is_total
        keep[suspects] = ~blank & ~total_like
    if has_id.any():
        last = np.flatnonzero(has_id & keep)
        if len(last):
            keep[last[-1] + 1:] = False  # footers below the last holding
    return keep, has_id


def validate(
    table: RawTable,
    mapping: ColumnMapping,
    *,
    portfolio: str,
    as_of: date | None,
    mv_tolerance: float = 0.01,
    progress: Callable[[int, int, str], None] | None = None,
) -> Validated:
    """Type the mapped columns of a whole table and report every problem as an issue row.

    Raises
    ------
    ValidationError
        When the as-of date cannot be settled (no column and none given, or the
        file holds several dates and none was given).

    ``progress(done, total, "checking")`` is called as the checks go (in rows,
    as a share of the checks done). The table's rows are consumed: once
    cleaned, ``table.frame`` is emptied, so a large file is held once in memory,
    not twice. ``Checker`` does the same block by block.
    """
    checker = Checker(mapping, portfolio=portfolio, as_of=as_of, mv_tolerance=mv_tolerance,
                      progress=progress)
    positions = checker.check(table)
    checked = checker.finish()
    checked.positions = positions
    return checked


@dataclass
class _Seen:
    """The identifiers of one earlier block, for the duplicate checks that span blocks."""

    ident: pa.Array  # upper-case identifier of each row that has one
    rows: np.ndarray  # its file row (int32: a quarter of the memory of the strings' offsets)
    live: np.ndarray  # whether the row was kept
    sources: list[BlockSource]


class Checker:
    """Validation of one file, a block of rows at a time, with what spans blocks carried over.

    A large CSV is checked block by block (``readers.read_blocks``), so memory
    follows the block. What a check needs from earlier blocks is kept small: the
    decimal mark and as-of date the first block settles, the identifiers seen
    (an identical row or the same instrument far above), and rows below a
    block's last holding, which are footers only if no holding follows and so
    wait for the next block. ``check`` each block in order, then ``finish``.
    """

    def __init__(self, mapping: ColumnMapping, *, portfolio: str, as_of: date | None,
                 mv_tolerance: float = 0.01,
                 progress: Callable[[int, int, str], None] | None = None,
                 decimal: str | None = None, date_order: str | None = None,
                 mv_dirty: bool | None = None, base_currency: str | None = None) -> None:
        self.cols = mapping.fields  # field -> file column
        # A preset's conventions: the decimal mark, day or month first, and whether
        # the file's market value includes accrued interest (None: folio judges).
        self.date_order, self.mv_dirty = date_order, mv_dirty
        self.base_currency = base_currency
        self._decimals: dict[str, str] = {}
        self.rejected_values: list[tuple[np.ndarray, np.ndarray]] = []
        self.rejected = RejectedRows()
        self.portfolio = portfolio
        self.as_of = as_of
        self._as_of_given = as_of is not None
        self.mv_tolerance = mv_tolerance
        self.progress = progress
        self.decimal: str | None = decimal
        self._preset_decimal = decimal is not None
        self.rows_total = 0
        self.rows_rejected = 0
        self._issues = _Issues()
        self._held: RawTable | None = None
        self._held_sources: list[BlockSource] = []
        self._seen: list[_Seen] = []
        self._prints = np.zeros(0, dtype=np.uint64)  # of earlier identifiers, sorted
        self._holdings_seen = False
        self._file = ""
        self._delimiter: str | None = None

    # ------------------------------------------------------------------ blocks

    def _hold_tail(self, table: RawTable, keep: np.ndarray,
                   has_id: np.ndarray) -> tuple[RawTable, np.ndarray]:
        """Keep back the rows below the block's last holding until the next block."""
        holdings = np.flatnonzero(keep & has_id)
        cut = int(holdings[-1]) + 1 if len(holdings) else 0
        last_row = int(table.rows[cut - 1]) if cut else -1
        self._held = replace(table, frame=table.frame.iloc[cut:], rows=table.rows[cut:],
                             ragged=[r for r in table.ragged if r[0] > last_row])
        self._held_sources = [table.source] if table.source else []
        table = replace(table, frame=table.frame.iloc[:cut], rows=table.rows[:cut],
                        ragged=[r for r in table.ragged if r[0] <= last_row])
        return table, keep[:cut]

    def _join_held(self, table: RawTable) -> tuple[RawTable, list[BlockSource]]:
        sources = [table.source] if table.source else []
        if self._held is None:
            return table, sources
        held, self._held = self._held, None
        sources = self._held_sources + sources
        table = replace(
            table, frame=pd.concat([held.frame, table.frame], ignore_index=True),
            rows=np.concatenate([held.rows, table.rows]), ragged=held.ragged + table.ragged,
            span=(held.span[0], table.span[1]))
        return table, sources

    def check(self, table: RawTable) -> pd.DataFrame:
        """Check one block (the next in the file); return its positions to keep.

        Issues and counts accumulate for ``finish``. The block's rows are
        consumed (``table.frame`` is emptied once cleaned).
        """
        cols = self.cols
        self._file, self._delimiter = table.file, table.delimiter
        if self._as_of_given:
            _check_as_of(self.as_of, self._file)
        source_table = table
        table, sources = self._join_held(table)
        keep, has_id = _data_rows(table, cols["identifier"])
        holdings = bool((keep & has_id).any())
        if not table.last:
            table, keep = self._hold_tail(table, keep, has_id)
        elif not holdings and self._holdings_seen:
            keep[:] = False  # all below the file's last holding: footers
        self._holdings_seen |= holdings
        header_again = keep & _repeated_header(table, [c for c in cols.values() if c in table.frame],
                                                  cols["identifier"])
        keep &= ~header_again
        frame = table.frame if keep.all() else table.frame.loc[keep].reset_index(drop=True)
        rows = table.rows[keep]
        n = len(frame)
        issues = self._issues
        rejected = np.zeros(n, dtype=bool)
        steps = iter(range(1, _STEPS + 1))
        rows_before = self.rows_total

        def step() -> None:
            if self.progress:
                done = rows_before + n * next(steps) // _STEPS
                # More blocks to come: the file's row count is unknown (0), not
                # estimated, so a display's total never drifts (ingest/progress.py).
                total = rows_before + n if table.last else 0
                self.progress(done, total, "checking")

        def error(mask: np.ndarray, field: str, code: str, messages) -> None:
            """Reject the rows of ``mask``; ``messages`` is one text, or a function of the
            rows' positions (messages are made for bad rows only)."""
            if not mask.any():
                return
            if callable(messages):
                messages = messages(np.flatnonzero(mask))
            issues.add(rows[mask], cols.get(field), code, "error", text[field][mask], messages)
            rejected[mask] = True

        # Ragged lines below the last holding are footers ("Document généré le ..."), not data.
        last_data_row = int(rows.max()) if len(rows) else 0
        for row, cells, line in table.ragged:
            if row > last_data_row:
                continue
            if line.strip() and not _TOTAL.match(normalise(line.strip(table.delimiter or ";"))):
                issues.add(np.array([row]), None, "wrong_cell_count", "error", line[:200],
                           f"row has {cells} cells, the header has {len(table.header)}")

        if header_again.any():
            id_col = cols["identifier"]
            issues.add(table.rows[header_again], id_col, "repeated_header", "warning",
                       table.frame[id_col][header_again],
                       f"the header (row {table.header_row}) is repeated here; the row is skipped")
        if n == 0:
            source_table.frame = source_table.frame.iloc[:0]
            step()
            return _positions_frame({}, rows, np.zeros(0, dtype=bool),
                                    {f: np.zeros(0) for f in NUMERIC},
                                    np.zeros(0, dtype="datetime64[D]"))

        text = {field: clean_text(frame[col], no_value=field in _NO_VALUE_FIELDS)
                for field, col in cols.items() if col in frame}
        ident = text["identifier"].str.upper()
        ids = arrow_strings(ident)
        # Identical rows share their identifier: compare whole rows (raw cells) among
        # those only, before the raw rows are let go.
        same_as = np.zeros(n, dtype=np.int64)  # the file row this row repeats, 0 if none
        id_codes = _codes(ident)  # one hash pass serves both duplicate checks
        if "account" in text:  # one instrument in two accounts is two holdings, not a repeat
            id_codes = _instrument_codes(id_codes, _codes(text["account"]))
        shared = np.flatnonzero(np.bincount(id_codes + 1)[id_codes + 1] > 1)
        if len(shared):
            first = shared[_first_occurrence([frame[c].iloc[shared] for c in cols.values()
                                              if c in frame])]
            repeat = first != shared
            same_as[shared[repeat]] = rows[first[repeat]]
        has = ids.is_valid().to_numpy(zero_copy_only=False)
        prints = _fingerprints(ids.filter(pa.array(has)))
        earlier_live = self._earlier(ids, frame, same_as, prints)
        # From here on the cleaned columns are the rows: one copy of a large file in
        # memory, not two (the caller's table keeps its header, not its rows).
        source_table.frame = source_table.frame.iloc[:0]
        table.frame = table.frame.iloc[:0]
        frame = None
        step()

        for field, values in text.items():
            if field in NUMERIC or field in DATES:
                continue  # a long number or date is already not a number or date
            limit = min(STORE_WIDTHS.get(field, MAX_TEXT_CHARS), MAX_TEXT_CHARS)
            arr = arrow_strings(values)
            if (pc.max(pc.binary_length(arr)).as_py() or 0) <= limit:
                continue  # no cell has that many bytes, so none that many characters
            lengths = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
            long = lengths > limit

            def too_long(at, field=field, limit=limit, lengths=lengths):
                counts = np.array([f" ({n:,}): " for n in lengths[at]], dtype=object)
                return (f"{cols[field]} is longer than {limit:,} characters" + counts
                        + _quoted(text[field].iloc[at]))

            error(long, field, "too_long", too_long)

        # Required values.
        for field in ("identifier", "quantity", "currency"):
            missing = text[field].isna().to_numpy(bool)
            error(missing, field, "missing_value", f"{cols[field]} is empty")

        step()
        # Identifier: ISIN check digit where it looks like one.
        _, bad_isin = check_isins(ident)
        error(bad_isin, "identifier", "invalid_isin",
              lambda at: "ISIN check digit is wrong: " + ident.iloc[at].fillna("")
              + " fails the ISIN checksum")

        # Numbers: the decimal mark is the file's, settled by its first rows.
        if self.decimal is None:
            votes = {f: decimal_votes(text[f]) for f in NUMERIC if f in text}
            self.decimal = decide_decimal(sum(c for c, _ in votes.values()),
                                          sum(d for _, d in votes.values()), table.delimiter)
            for f, (comma, dot) in votes.items():
                # A column may use its own mark (an export written by two tools).
                self._decimals[f] = decide_decimal(comma, dot, table.delimiter, tie=None)
        numbers: dict[str, np.ndarray] = {}
        for field in NUMERIC:
            if field not in text:
                numbers[field] = np.full(n, np.nan)
                continue
            values, invalid = parse_numbers(text[field],
                                            self._decimals.get(field) or self.decimal)
            numbers[field] = values
            error(invalid, field, "invalid_number",
                  lambda at, field=field: cols[field] + " is not a number: "
                  + text[field].iloc[at].fillna("").str.slice(0, 60))
            huge = np.abs(values) > MAX_AMOUNT  # NaN (empty, invalid) compares False
            error(huge, field, "out_of_range",
                  lambda at, field=field: cols[field] + f" is beyond ±{MAX_AMOUNT:.0e}: "
                  + _quoted(text[field].iloc[at]))
        self._clean_values(numbers, rows, rejected)
        qty, price = numbers["quantity"], numbers["price"]
        with np.errstate(over="ignore", invalid="ignore"):  # a rejected 1e308 may: inf
            product = np.abs(qty * price)
        vast = ~rejected & (product > MAX_PRODUCT)
        if vast.any():
            error(vast, "price", "out_of_range", lambda at: [
                f"{cols['quantity']} x {cols['price']} = {p:.3g}, beyond {MAX_PRODUCT:.0e}"
                for p in product[at]])

        step()
        # Currency.
        ccy = self._franc_zone(text["currency"].str.upper(), ident, rows)
        bad_ccy = check_currencies(ccy)
        error(bad_ccy, "currency", "invalid_currency",
              lambda at: [AMBIGUOUS_CURRENCIES.get(v, f"{v} is not an ISO 4217 currency code")
                          for v in ccy.iloc[at]])

        step()
        # Dates.
        excel = table.kind == "xlsx"
        dates: dict[str, np.ndarray] = {}
        for field in DATES:
            if field not in text:
                dates[field] = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
                continue
            values, invalid = parse_dates(text[field], excel_serials=excel,
                                          month_first=self.date_order == "mdy")
            error(invalid, field, "invalid_date",
                  lambda at, field=field: cols[field] + " is not a valid date: "
                  + text[field].iloc[at].fillna("").str.slice(0, 40))
            outside = (values < FIRST_DATE) | (values > LAST_DATE)  # NaT compares False
            error(outside, field, "out_of_range",
                  lambda at, field=field: cols[field] + f" is outside {FIRST_DATE} to "
                  f"{LAST_DATE}, the dates folio can compute with: "
                  + _quoted(text[field].iloc[at]))
            if outside.any():  # nor a date of the file's: an as-of of 0001-01-01 settles nothing
                values = np.where(outside, np.datetime64("NaT"), values)
            dates[field] = values

        step()
        self._settle_as_of(dates["as_of"])
        if "as_of" in cols and self.as_of is not None:
            row_dates = dates["as_of"]
            target = np.datetime64(self.as_of, "D")
            later = ~np.isnat(row_dates) & (row_dates > target)
            earlier = ~np.isnat(row_dates) & (row_dates < target)
            error(later, "as_of", "future_date",
                  f"{cols['as_of']} is after the import's as-of date {self.as_of.isoformat()}")
            error(earlier, "as_of", "as_of_mismatch",
                  f"{cols['as_of']} differs from the import's as-of date {self.as_of.isoformat()}")

        if "portfolio" in cols:
            other = text["portfolio"].notna() & (text["portfolio"].str.upper() != self.portfolio.upper())
            other = other.to_numpy(bool)
            error(other, "portfolio", "portfolio_mismatch",
                  f"row belongs to another portfolio than {self.portfolio}")

        step()
        # Duplicates: an identical row twice is an error (it would double count);
        # the same instrument on two different rows (lots) is a warning.
        id_col = cols["identifier"]
        exact = (same_as > 0) & ~rejected
        if exact.any():
            error(exact, "identifier", "duplicate_row",
                  lambda at: [f"same as row {r}" for r in same_as[at]])
        live = ~rejected
        same_id = np.zeros(n, dtype=bool)
        live_rows = np.flatnonzero(live)
        _, first_live = np.unique(id_codes[live_rows], return_index=True)
        same_id[live_rows] = True
        same_id[live_rows[first_live]] = False  # the first row of each instrument is not a repeat
        same_id |= live & earlier_live  # ... unless an earlier block had it
        same_id &= id_codes >= 0
        if same_id.any():
            issues.add(rows[same_id], id_col, "duplicate_instrument", "warning",
                       text["identifier"][same_id],
                       "the same instrument appears on an earlier row; both rows are kept")

        step()
        # Market value against quantity x price (bond prices are quoted per 100).
        qty, price, mv = numbers["quantity"], numbers["price"], numbers["market_value"]
        comparable = live & np.isfinite(qty) & np.isfinite(price) & np.isfinite(mv) & (mv != 0)
        if comparable.any():
            product = qty * price
            with np.errstate(divide="ignore", invalid="ignore"):
                gap = np.abs(product - mv) / np.abs(mv)
                gap_pct = np.abs(product / 100 - mv) / np.abs(mv)
            off = comparable & (gap > self.mv_tolerance) & (gap_pct > self.mv_tolerance)
            if off.any():
                mv_col = cols["market_value"]
                best = np.where(gap_pct < gap, product / 100, product)
                msg = pd.Series(
                    [f"{mv_col} {m:,.2f} differs from quantity x price {b:,.2f} by {g:.1%}"
                     for m, b, g in zip(mv[off], best[off], np.minimum(gap, gap_pct)[off],
                                        strict=True)],
                    dtype=object)
                issues.add(rows[off], mv_col, "mv_mismatch", "warning", text["market_value"][off],
                           msg)

        # Timsort merges the two sorted runs in one linear pass, in place.
        merged = np.concatenate([self._prints, np.sort(prints)])
        self._prints = None
        merged.sort(kind="stable")
        self._prints = merged
        self._seen.append(_Seen(ident=ids.filter(pa.array(has)).cast(pa.string()),
                                rows=rows[has].astype(np.int32), live=live[has], sources=sources))
        keep_rows = ~rejected
        if rejected.any():  # for the file's totals: a gap these rows explain is reported
            self.rejected_values.append((rows[rejected], np.nan_to_num(mv[rejected])))
            self.rejected.add(ident[rejected], ccy[rejected], mv[rejected])
        positions = _positions_frame({**text, "identifier": ident, "currency": ccy},
                                     rows, keep_rows, numbers, dates["maturity_date"])
        self.rows_total += n
        self.rows_rejected += int(rejected.sum())
        step()
        return positions

    def _clean_values(self, numbers: dict[str, np.ndarray], rows: np.ndarray,
                      rejected: np.ndarray) -> None:
        """Store the clean market value where the file's includes accrued interest.

        A preset says so (``values: {market_value: dirty}``); otherwise the first
        block decides: most rows with quantity, price, value and accrued agree with
        value = quantity x price (/100) + accrued, and not without it.
        """
        qty, price = numbers["quantity"], numbers["price"]
        mv, accrued = numbers["market_value"], numbers["accrued_interest"]
        has = ~rejected & np.isfinite(mv) & np.isfinite(accrued) & (accrued != 0)
        if self.mv_dirty is None:
            ok = has & np.isfinite(qty) & np.isfinite(price) & (mv != 0)
            if not ok.any():
                return
            with np.errstate(divide="ignore", invalid="ignore"):
                clean = np.minimum(np.abs(qty * price - mv), np.abs(qty * price / 100 - mv))
                dirty = np.minimum(np.abs(qty * price + accrued - mv),
                                   np.abs(qty * price / 100 + accrued - mv))
            tol = 1e-4 * np.abs(mv) + 0.01
            votes = ok & (dirty <= tol) & (clean > tol)
            self.mv_dirty = bool(votes.sum() > 0.5 * ok.sum())
            if self.mv_dirty:
                self._issues.add(rows[:1], self.cols.get("market_value"), "dirty_value",
                                 "warning", "", f"{self.cols.get('market_value')} includes "
                                 f"{self.cols.get('accrued_interest')} (value = quantity x price "
                                 f"+ accrued on {int(votes.sum())} rows): folio stores the clean "
                                 f"value, {self.cols.get('market_value')} - accrued")
        if self.mv_dirty:
            numbers["market_value"] = np.where(has, np.round(mv - accrued, 2), mv)

    def _franc_zone(self, ccy: pd.Series, ident: pd.Series, rows: np.ndarray) -> pd.Series:
        """``FCFA`` as XOF or XAF, where the ISINs' countries (or the base currency) decide."""
        franc = pc.is_in(arrow_strings(ccy), value_set=pa.array(_FRANC)).fill_null(
            False).to_numpy(zero_copy_only=False)
        if not franc.any():
            return ccy
        countries = set(ident[franc].fillna("").str.slice(0, 2))
        zones = {z for z, members in _FRANC_ZONES.items() if countries & members}
        if len(zones) == 1 and all(c in _FRANC_ZONES[next(iter(zones))] or not c
                                   for c in countries):
            code, why = next(iter(zones)), "the ISINs' countries"
        elif self.base_currency in _FRANC_ZONES:
            code, why = self.base_currency, "the portfolio's base currency"
        else:
            return ccy  # nothing decides: the currency check says why
        self._issues.add(rows[franc][:1], self.cols.get("currency"), "currency_resolved",
                         "warning", ccy[franc].iloc[0],
                         f"FCFA read as {code} ({int(franc.sum())} rows), from {why}")
        return ccy.mask(pd.Series(franc, index=ccy.index), code)

    def add_field(self, name: str, column: str) -> None:
        """Read ``name`` from ``column`` in the blocks that have it (a column a layout
        adds once it has seen what fills it, such as the account of title lines)."""
        self.cols.setdefault(name, column)

    def add_file_issues(self, found: list[dict], code: str, message) -> None:
        """Warnings about the file as a whole (its totals against folio's)."""
        for item in found:
            self._issues.add(np.array([item["row"]]), self.cols.get("market_value"), code,
                             "warning", f"{item['file']:.2f}" if isinstance(item["file"], float)
                             else str(item["file"]), message(item))

    def _earlier(self, ids: pa.Array, frame: pd.DataFrame, same_as: np.ndarray,
                 prints: np.ndarray) -> np.ndarray:
        """Rows whose instrument a kept row of an earlier block had; rows repeating one.

        Sets ``same_as`` for rows identical (every mapped cell) to a row of an
        earlier block, read back from the file for the few instruments seen
        before; returns the mask of rows whose identifier an earlier kept row has.
        """
        n = len(ids)
        if not self._seen or not len(prints) or not len(self._prints):
            return np.zeros(n, dtype=bool)
        # Most files repeat no instrument across blocks: the sorted fingerprints of
        # all earlier identifiers say so in a binary search, where comparing the
        # strings themselves would cost a pass over every earlier identifier per block.
        at = np.minimum(np.searchsorted(self._prints, prints), len(self._prints) - 1)
        if not (self._prints[at] == prints).any():
            return np.zeros(n, dtype=bool)
        earlier = pa.chunked_array([s.ident for s in self._seen], type=pa.string())
        hit = pc.is_in(earlier, value_set=pc.unique(ids.cast(pa.string()))).to_numpy(
            zero_copy_only=False)
        if not hit.any():
            return np.zeros(n, dtype=bool)
        bounds = np.cumsum([0] + [len(s.ident) for s in self._seen])
        matched: list[tuple[_Seen, np.ndarray]] = [
            (s, np.flatnonzero(hit[lo:hi])) for s, lo, hi in zip(self._seen, bounds, bounds[1:], strict=False)]
        matched = [(s, at) for s, at in matched if len(at)]
        e_ident = pa.concat_arrays([s.ident.take(pa.array(at)) for s, at in matched])
        e_rows = np.concatenate([s.rows[at] for s, at in matched]).astype(np.int64)
        e_live = np.concatenate([s.live[at] for s, at in matched])
        earlier_live = pc.is_in(ids, value_set=e_ident.filter(pa.array(e_live))).fill_null(
            False).to_numpy(zero_copy_only=False)
        # Identical rows: the earlier rows' cells, read again, against this block's.
        candidates = np.flatnonzero(pc.is_in(ids, value_set=e_ident).fill_null(False)
                                    .to_numpy(zero_copy_only=False))
        cells: dict[int, list[str]] = {}
        for s, at in matched:
            for source in s.sources:
                cells.update(source.cells(s.rows[at].astype(np.int64).tolist()))
        order = np.argsort(e_rows, kind="stable")
        e_rows = np.array([r for r in e_rows[order] if int(r) in cells], dtype=np.int64)
        if len(e_rows) == 0 or len(candidates) == 0:
            return earlier_live
        header = list(frame.columns)
        columns = []
        for column in (c for c in self.cols.values() if c in frame):
            at = header.index(column)
            before = pd.Series([cells[int(r)][at] if at < len(cells[int(r)]) else None
                                for r in e_rows], dtype=pd.StringDtype("pyarrow"))
            columns.append(pd.concat([before, frame[column].iloc[candidates]], ignore_index=True))
        first = _first_occurrence(columns)[len(e_rows):]
        from_earlier = first < len(e_rows)
        same_as[candidates[from_earlier]] = e_rows[first[from_earlier]]
        return earlier_live

    def _settle_as_of(self, row_dates: np.ndarray) -> None:
        """The as-of date: given, or the one date of the file's as-of column."""
        if self._as_of_given or "as_of" not in self.cols:
            if self.as_of is None:
                _resolve_as_of(None, row_dates, None, self._file)  # raises: no column
            return
        found = np.unique(row_dates[~np.isnat(row_dates)])
        if self.as_of is not None:
            found = np.unique(np.append(found, np.datetime64(self.as_of, "D")))
        if len(found):
            self.as_of = _resolve_as_of(None, found, self.cols["as_of"], self._file)

    def finish(self) -> Validated:
        """What the whole file came to (``positions`` are the caller's: each block's)."""
        if self.as_of is None:
            _resolve_as_of(None, np.zeros(0, dtype="datetime64[D]"), self.cols.get("as_of"),
                           self._file)
        decimal = self.decimal or detect_decimal([], self._delimiter)
        self._issues.drain()  # what the caller did not take: counted and kept in the head
        return Validated(positions=None, issues=self._issues.head, rows_total=self.rows_total,
                         rows_rejected=self.rows_rejected, as_of=self.as_of, decimal=decimal,
                         issues_total=self._issues.total, warnings=self._issues.warnings,
                         rejected=self.rejected.to_dict())

    def drain_issues(self) -> pd.DataFrame:
        """The issues found since the last call, ordered by row (the caller keeps them)."""
        return self._issues.drain()


def _positions_frame(text: dict[str, pd.Series], rows: np.ndarray, keep: np.ndarray,
                     numbers: dict[str, np.ndarray], maturity: np.ndarray) -> pd.DataFrame:
    """The kept rows as POSITION_COLUMNS (text Arrow-backed, numbers float, dates days)."""
    out: dict[str, object] = {"row": rows[keep]}
    for field in POSITION_COLUMNS[1:]:
        if field in NUMERIC:
            out[field] = numbers[field][keep]
        elif field == "maturity_date":
            out[field] = maturity[keep]
        else:
            out[field] = _text_or_none(text, field, keep, upper_codes=field == "country")
    return pd.DataFrame(out)


_NO_VALUE_FIELDS = (*NUMERIC, *DATES, "currency")
_FRANC = ("FCFA", "CFA", "F CFA", "F.CFA", "XFA")
_FRANC_ZONES = {
    "XOF": {"BJ", "BF", "CI", "GW", "ML", "NE", "SN", "TG"},  # UEMOA
    "XAF": {"CM", "CF", "TD", "CG", "GQ", "GA"},  # CEMAC
}
_PRINT_FACTOR = np.uint64(0x100000001B3)  # odd: every byte moves every higher bit


def _fingerprints(arr: pa.Array) -> np.ndarray:
    """A 64-bit number per string of ``arr`` (no nulls) from its bytes: equal strings,
    equal numbers (different strings share one rarely; callers compare the strings)."""
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    if pc.max(pc.binary_length(arr)).as_py() <= 16 and pc.all(pc.string_is_ascii(arr)).as_py():
        # Codes and ISINs: the 16 padded bytes as two words, folded into one.
        words = fixed_width(pc.utf8_rpad(arr, width=16, padding=" "), 16).view(np.uint64)
        return words[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ words[:, 1]
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    lengths = np.diff(offsets)
    out = lengths.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # the length counts too
    size = int(offsets[-1] - offsets[0])
    if size == 0:
        return out
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    starts = offsets[:-1] - offsets[0]
    position = np.arange(size) - np.repeat(starts, lengths)  # of each byte in its string
    powers = np.cumprod(np.full(int(lengths.max()), _PRINT_FACTOR, dtype=np.uint64))
    terms = data.astype(np.uint64) * powers[position]  # wraps modulo 2**64, as meant
    filled = lengths > 0
    out[filled] += np.add.reduceat(terms, starts[filled])
    return out


def _instrument_codes(ids: np.ndarray, accounts: np.ndarray) -> np.ndarray:
    """Dense codes of (identifier, account) pairs; -1 where the identifier is missing."""
    pairs, _ = pd.factorize(ids * (int(accounts.max(initial=0)) + 2) + accounts + 1)
    return np.where(ids < 0, -1, pairs).astype(np.int64)


def _codes(column: pd.Series) -> np.ndarray:
    """Dense integer codes of a text column's values; -1 for missing."""
    encoded = pc.dictionary_encode(arrow_strings(column))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    missing = encoded.indices.is_null().to_numpy(zero_copy_only=False)
    return np.where(missing, -1, codes).astype(np.int64)


def _first_occurrence(columns: list[pd.Series]) -> np.ndarray:
    """For each row, the position of the first row with the same cells in ``columns``.

    Built from each column's dictionary codes (pyarrow, no Python strings), so
    the check spans a whole large file in a few integer arrays.
    """
    n = len(columns[0]) if columns else 0
    key = np.zeros(n, dtype=np.int64)
    for column in columns:
        codes = _codes(column) + 1  # 0 for missing
        # Combine, then re-number densely so the key never overflows.
        key, _ = pd.factorize(key * (int(codes.max(initial=0)) + 1) + codes)
        key = key.astype(np.int64)
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first[inverse]


def _text_or_none(text: dict[str, pd.Series], field: str, keep: np.ndarray,
                  upper_codes: bool = False) -> pd.Series:
    # Arrow-backed strings, not Python objects: a million names as str objects
    # would cost several times the file's size.
    if field not in text:
        return pd.Series(pd.NA, index=range(int(keep.sum())), dtype=pd.StringDtype("pyarrow"))
    # Arrow's filter, not a pandas boolean index (which costs more than the copy).
    kept = arrow_strings(text[field]).filter(pa.array(keep))
    if upper_codes:
        kept = pc.if_else(pc.less_equal(pc.utf8_length(kept), 3), pc.utf8_upper(kept), kept)
    return pd.Series(pd.arrays.ArrowStringArray(kept))


def _check_as_of(given: date, file: str) -> None:
    """Refuse an as-of date (``as_of=``) the analytics cannot compute with."""
    if not FIRST_DATE <= np.datetime64(given, "D") <= LAST_DATE:
        raise ValidationError(
            f"{file}: as-of date {given.isoformat()} is outside {FIRST_DATE} to {LAST_DATE}, "
            f"the dates folio can compute with; pass the statement's date",
            file=file, column=None, value=given.isoformat())


def _resolve_as_of(given: date | None, row_dates: np.ndarray, column: str | None,
                   file: str) -> date:
    if given is not None:
        return given
    if column is None:
        raise ValidationError(
            f"{file}: no as-of date: the file has no as-of column; pass as_of= "
            f"(or --as-of YYYY-MM-DD)", file=file, column=None)
    found = np.unique(row_dates[~np.isnat(row_dates)])
    if len(found) == 0:
        raise ValidationError(f"{file}: column {column!r} holds no valid date; pass as_of=",
                              file=file, column=column)
    if len(found) > 1:
        shown = ", ".join(str(d) for d in found[:5]) + (" ..." if len(found) > 5 else "")
        raise ValidationError(
            f"{file}: column {column!r} holds {len(found)} as-of dates ({shown}); pass "
            f"as_of= to import one of them", file=file, column=column, value=shown)
    return found[0].astype(object)
