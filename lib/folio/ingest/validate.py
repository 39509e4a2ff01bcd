"""Validation: typed positions and one issue record per problem, a block at a time.

Owns the order of a block's checks (what counts as data at all: blank, totals
and trailer rows are dropped, not reported; a repeated header is skipped with a
warning; then ``rules.RULES``, one function per check), what spans blocks (the
decimal mark and as-of date the first block settles, identifiers seen, rows
held back until the next block shows whether they are footers), the issues
collected (counts, and the first ones kept), and the typed positions a block
yields. Errors reject a row; warnings keep it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.ingest import rules
from folio.ingest.columns import DATES, NUMERIC, ColumnMapping, normalise
from folio.ingest.evidence import check_as_of, resolve_as_of
from folio.ingest.parse import arrow_strings, clean_text, detect_decimal, has_lower, upper
from folio.ingest.readers import BlockSource, RawTable
from folio.ingest.rejected import RejectedRows
from folio.ingest.repeats import (
    Seen,
    _codes,
    _fingerprints,
    _first_occurrence,
    _instrument_codes,
    earlier_rows,
    identifier_codes,
)
from folio.ingest.roles import TOTAL_LINE, data_rows, repeated_header
from folio.ingest.rules import POSITION_COLUMNS
from folio.result import MAX_RESULT_ISSUES

__all__ = ["Checker", "Validated", "validate", "POSITION_COLUMNS", "ISSUE_COLUMNS"]

ISSUE_COLUMNS = ["row", "column", "code", "severity", "value", "message"]
MAX_VALUE_CHARS = 200  # an issue quotes at most this much of a cell
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


def _as_list(values, n: int) -> list:
    if isinstance(values, str):
        return [values] * n
    # An empty cell's value is reported as none (null in JSON), not "".
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype) \
            and values.dtype.storage == "pyarrow":
        # Text cells (most issues quote one): cut and emptied on the Arrow strings.
        cut = pc.utf8_slice_codeunits(arrow_strings(values), 0, MAX_VALUE_CHARS)
        return pc.if_else(pc.equal(pc.binary_length(cut), 0), pa.scalar(None, cut.type),
                          cut).to_pylist()
    return [None if v is None or v is pd.NA or v == "" or (isinstance(v, float) and np.isnan(v))
            else str(v)[:MAX_VALUE_CHARS]
            for v in (values.tolist() if hasattr(values, "tolist") else list(values))]


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
                 mv_dirty: bool | None = None, base_currency: str | None = None,
                 price_per_100: bool = False, placeholder_currency: str | None = None) -> None:
        self.cols = mapping.fields  # field -> file column
        # A preset's conventions: the decimal mark, day or month first, and whether
        # the file's market value includes accrued interest (None: folio judges).
        self.date_order, self.mv_dirty = date_order, mv_dirty
        # A preset's word that its prices are per 100 of nominal (``values: {price: per_100}``).
        self.price_per_100 = price_per_100
        # A dry run's stand-in for a currency the file does not name (``PLACEHOLDER_CURRENCY``).
        self.placeholder_currency, self.placeholder_said = placeholder_currency, False
        self.currency_names_said: set[str] = set()  # "EURO" read as EUR: said once a file
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
        # Whether the first block's cells left the mark to the delimiter's convention
        # (then ``rules.ambiguous_decimal`` warns), and the columns it warned about.
        self.decimal_guessed = False
        self.decimal_warned: set[str] = set()
        self.rows_total = 0
        self.rows_rejected = 0
        self._issues = _Issues()
        self._held: RawTable | None = None
        self._held_sources: list[BlockSource] = []
        self._seen: list[Seen] = []
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
            check_as_of(self.as_of, self._file)
        source_table = table
        table, sources = self._join_held(table)
        keep, has_id = data_rows(table, cols["identifier"])
        holdings = bool((keep & has_id).any())
        if not table.last:
            table, keep = self._hold_tail(table, keep, has_id)
        elif not holdings and self._holdings_seen:
            keep[:] = False  # all below the file's last holding: footers
        self._holdings_seen |= holdings
        header_again = keep & repeated_header(table, [c for c in cols.values() if c in table.frame],
                                                  cols["identifier"])
        keep &= ~header_again
        frame = table.frame if keep.all() else table.frame.loc[keep].reset_index(drop=True)
        rows = table.rows[keep]
        n = len(frame)
        issues = self._issues
        steps = iter(range(1, _STEPS + 1))
        rows_before = self.rows_total

        def step() -> None:
            if self.progress:
                done = rows_before + n * next(steps) // _STEPS
                # More blocks to come: the file's row count is unknown (0), not
                # estimated, so a display's total never drifts (ingest/progress.py).
                total = rows_before + n if table.last else 0
                self.progress(done, total, "checking")

        # Ragged lines below the last holding are footers ("Document généré le ..."), not data.
        last_data_row = int(rows.max()) if len(rows) else 0
        for row, cells, line in table.ragged:
            if row > last_data_row:
                continue
            if line.strip() and not TOTAL_LINE.match(normalise(line.strip(table.delimiter or ";"))):
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
        ident = upper(text["identifier"])
        ids = arrow_strings(ident)
        has = ids.is_valid().to_numpy(zero_copy_only=False)
        present = ids.filter(pa.array(has))
        prints = _fingerprints(present)
        # Identical rows share their identifier: compare whole rows (raw cells) among
        # those only, before the raw rows are let go.
        same_as = np.zeros(n, dtype=np.int64)  # the file row this row repeats, 0 if none
        id_codes = identifier_codes(present, has, prints)  # for both duplicate checks
        if "account" in text:  # one instrument in two accounts is two holdings, not a repeat
            id_codes = _instrument_codes(id_codes, _codes(text["account"]))
        shared = np.flatnonzero(np.bincount(id_codes + 1)[id_codes + 1] > 1)
        if len(shared):
            first = shared[_first_occurrence([frame[c].iloc[shared] for c in cols.values()
                                              if c in frame])]
            repeat = first != shared
            same_as[shared[repeat]] = rows[first[repeat]]
        # Sorted once: the search among earlier blocks' fingerprints runs in order
        # (a fraction of the cost of a million random probes), and they are kept so.
        prints = np.sort(prints)
        earlier_live = earlier_rows(self._seen, self._prints, list(cols.values()), ids, frame,
                                    same_as, prints)
        # From here on the cleaned columns are the rows: one copy of a large file in
        # memory, not two (the caller's table keeps its header, not its rows).
        source_table.frame = source_table.frame.iloc[:0]
        table.frame = table.frame.iloc[:0]
        frame = None
        step()

        block = rules.Block(self, table, rows, text, ident, id_codes, same_as, earlier_live,
                            rejected=np.zeros(n, dtype=bool))
        for rule, then_step in rules.RULES:
            rule(block)
            if then_step:
                step()

        # Timsort merges the two sorted runs in one linear pass, in place.
        merged = np.concatenate([self._prints, prints])
        self._prints = None
        merged.sort(kind="stable")
        self._prints = merged
        rejected, mv, ccy = block.rejected, block.numbers["market_value"], block.ccy
        self._seen.append(Seen(ident=present.cast(pa.string()),
                               rows=rows[has].astype(np.int32), live=~rejected[has],
                               sources=sources))
        if rejected.any():  # for the file's totals: a gap these rows explain is reported
            self.rejected_values.append((rows[rejected], np.nan_to_num(mv[rejected])))
            self.rejected.add(ident[rejected], ccy[rejected], mv[rejected])
        positions = _positions_frame({**text, "identifier": ident, "currency": ccy},
                                     rows, ~rejected, block.numbers, block.dates["maturity_date"])
        self.rows_total += n
        self.rows_rejected += int(rejected.sum())
        step()
        return positions

    def add_field(self, name: str, column: str) -> None:
        """Read ``name`` from ``column`` in the blocks that have it (a column a layout
        adds once it has seen what fills it, such as the account of title lines)."""
        self.cols.setdefault(name, column)

    def add_file_issues(self, found: list[dict], code: str, message,
                        column: str | None = None) -> None:
        """Warnings about the file as a whole (its totals against folio's), on
        ``column`` (by default the market value's)."""
        for item in found:
            self._issues.add(np.array([item["row"]]), column or self.cols.get("market_value"),
                             code,
                             "warning", f"{item['file']:.2f}" if isinstance(item["file"], float)
                             else str(item["file"]), message(item))

    def finish(self) -> Validated:
        """What the whole file came to (``positions`` are the caller's: each block's)."""
        if self.as_of is None:
            resolve_as_of(None, np.zeros(0, dtype="datetime64[D]"), self.cols.get("as_of"),
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
    picked = pa.array(keep)
    for field in POSITION_COLUMNS[1:]:
        if field in NUMERIC:
            out[field] = numbers[field][keep]
        elif field == "maturity_date":
            out[field] = maturity[keep]
        else:
            out[field] = _text_or_none(text, field, picked, len(out["row"]),
                                       upper_codes=field == "country")
    return pd.DataFrame(out)


_NO_VALUE_FIELDS = (*NUMERIC, *DATES, "currency")
def _text_or_none(text: dict[str, pd.Series], field: str, keep: pa.BooleanArray, count: int,
                  upper_codes: bool = False) -> pd.Series:
    # Arrow-backed strings, not Python objects: a million names as str objects
    # would cost several times the file's size.
    if field not in text:
        return pd.Series(pd.arrays.ArrowStringArray(pa.nulls(count, pa.large_string())))
    # Arrow's filter, not a pandas boolean index (which costs more than the copy).
    kept = arrow_strings(text[field]).filter(keep)
    if upper_codes and has_lower(kept):
        kept = pc.if_else(pc.less_equal(pc.utf8_length(kept), 3), pc.utf8_upper(kept), kept)
    return pd.Series(pd.arrays.ArrowStringArray(kept))

