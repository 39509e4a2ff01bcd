"""The row rules: one function per check a block of positions goes through.

Owns what each check asks of a row and the issue it raises: text widths,
required values, ISIN check digits, numbers and amounts within bounds (and
numbers that read either way where no cell settled the decimal mark),
currencies, dates, the as-of date, the portfolio, duplicates, market value
against quantity x price, and a price that reads per 100 of nominal where
nothing says the row is a bond (or the reverse). Each rule reads and writes a
``Block`` (the cleaned cells, the numbers and dates typed so far, the rows
rejected so far); ``RULES`` is their order, which is also the order of a row's
issues. Errors reject a row; warnings keep it. The checks are column-wise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.ingest.columns import DATES, NUMERIC
from folio.ingest.currencies import named
from folio.ingest.evidence import (
    FIRST_DATE,
    LAST_DATE,
    franc_zone,
    settle_as_of,
)
from folio.ingest.evidence import (
    clean_values as settle_clean_values,
)
from folio.ingest.parse import (
    AMBIGUOUS_CURRENCIES,
    ambiguous_decimal_message,
    arrow_strings,
    check_currencies,
    check_isins,
    decide_decimal,
    decimal_votes,
    either_mark,
    parse_dates,
    parse_numbers,
    string_bytes,
    upper,
)
from folio.store.schema import positions

# Longer text is not a name or a code but a broken or hostile file; the row is
# rejected rather than a megabyte stored per cell.
MAX_TEXT_CHARS = 1000
MESSAGE_CHARS = 40  # a message quotes at most this much of a cell
# The store's own widths (VARCHAR(n): PostgreSQL refuses a longer value, and
# with it the whole file's transaction, naming no row): checked here, a row at
# a time, from the table definition so the two cannot drift apart. Not the
# currency's: the ISO 4217 check admits three letters only, and says why.
POSITION_COLUMNS = [
    "row", "identifier", "name", "quantity", "price", "market_value", "accrued_interest",
    "currency", "issuer", "country", "asset_class", "maturity_date", "account",
]
STORE_WIDTHS = {column.name: column.type.length for column in positions.columns
                if column.name in POSITION_COLUMNS and column.name != "currency"
                and getattr(column.type, "length", None)}
# Larger amounts are not holdings but broken cells (1e308): one of them made
# every total of the portfolio infinite. Below it, sums of millions of rows and
# quantity x price stay exact to the cent far beyond any real book.
MAX_AMOUNT = 1e15
# quantity x price may be a hundred times the value (bond prices per 100).
MAX_PRODUCT = MAX_AMOUNT * 100
# A row is a bond quoted per 100 of nominal when its asset class says so (as
# the analytics' per-100 rule reads it), it has a maturity, its price cell
# carries "%", or the file's preset says prices are per 100.
BOND_CLASS = r"bond|oblig|fixed income|treasur|govt|gilt|debt|note"


def quoted(cells: pd.Series) -> np.ndarray:
    """Cells as a message quotes them: the first ``MESSAGE_CHARS`` characters, and "..."
    when there is more."""
    cut = cells.fillna("").str.slice(0, MESSAGE_CHARS)
    more = (cells.str.len() > MESSAGE_CHARS).fillna(False).to_numpy(bool)
    return (cut.to_numpy(object) + np.where(more, "...", "")).astype(object)


@dataclass
class Block:
    """One block's rows as the rules see them, and what the rules found so far."""

    checker: Any  # the ``validate.Checker``: the file's settled facts and its issues
    table: Any  # the ``RawTable`` the rows came from (kind, delimiter)
    rows: np.ndarray  # file row of each row
    text: dict[str, pd.Series]  # field -> cleaned cells
    ident: pd.Series  # upper-case identifiers
    id_codes: np.ndarray  # dense codes of (identifier, account); -1 for none
    same_as: np.ndarray  # the earlier file row a row repeats cell for cell, 0 if none
    earlier_live: np.ndarray  # an earlier block kept a row of this instrument
    rejected: np.ndarray
    numbers: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    dates: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    ccy: pd.Series | None = None

    @property
    def cols(self) -> dict[str, str]:
        return self.checker.cols

    def __len__(self) -> int:
        return len(self.rows)

    def error(self, mask: np.ndarray, field: str, code: str, messages) -> None:
        """Reject the rows of ``mask``; ``messages`` is one text, or a function of the
        rows' positions (messages are made for bad rows only)."""
        if not mask.any():
            return
        if callable(messages):
            messages = messages(np.flatnonzero(mask))
        self.checker._issues.add(self.rows[mask], self.cols.get(field), code, "error",
                                 self.text[field][mask], messages)
        self.rejected[mask] = True

    def warn(self, mask: np.ndarray, field: str, code: str, messages) -> None:
        """A warning on the rows of ``mask`` (kept)."""
        if mask.any():
            self.checker._issues.add(self.rows[mask], self.cols.get(field), code, "warning",
                                     self.text[field][mask], messages)


def too_long(block: Block) -> None:
    """Text longer than the store's column (or ``MAX_TEXT_CHARS``) is an error."""
    cols, text = block.cols, block.text
    for field, values in text.items():
        if field in NUMERIC or field in DATES:
            continue  # a long number or date is already not a number or date
        limit = min(STORE_WIDTHS.get(field, MAX_TEXT_CHARS), MAX_TEXT_CHARS)
        arr = arrow_strings(values)
        if (pc.max(pc.binary_length(arr)).as_py() or 0) <= limit:
            continue  # no cell has that many bytes, so none that many characters
        lengths = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)

        def message(at, field=field, limit=limit, lengths=lengths):
            counts = np.array([f" ({n:,}): " for n in lengths[at]], dtype=object)
            return (f"{cols[field]} is longer than {limit:,} characters" + counts
                    + quoted(text[field].iloc[at]))

        block.error(lengths > limit, field, "too_long", message)


def required(block: Block) -> None:
    """An identifier, a quantity and a currency on every row."""
    for field in ("identifier", "quantity", "currency"):
        missing = block.text[field].isna().to_numpy(bool)
        block.error(missing, field, "missing_value", f"{block.cols[field]} is empty")


def isin(block: Block) -> None:
    """An identifier that looks like an ISIN has the right check digit."""
    ident = block.ident
    _, bad = check_isins(ident)
    block.error(bad, "identifier", "invalid_isin",
                lambda at: "ISIN check digit is wrong: " + ident.iloc[at].fillna("")
                + " fails the ISIN checksum")


def numbers(block: Block) -> None:
    """Numbers parse with the file's decimal mark (settled by its first rows, a column
    may have its own) and stay within ``MAX_AMOUNT``."""
    checker, text, cols = block.checker, block.text, block.cols
    delimiter = block.table.delimiter
    if checker.decimal is None:
        votes = {f: decimal_votes(text[f]) for f in NUMERIC if f in text}
        comma, dot = sum(c for c, _ in votes.values()), sum(d for _, d in votes.values())
        checker.decimal = decide_decimal(comma, dot, delimiter)
        # A tie is settled by the delimiter's convention, not by the file: the
        # cells that read either way are then said to be a guess. (A workbook's
        # number cells never look so: the reader writes them unambiguously.)
        checker.decimal_guessed = comma == dot
        for f, (comma, dot) in votes.items():
            # A column may use its own mark (an export written by two tools).
            checker._decimals[f] = decide_decimal(comma, dot, delimiter, tie=None)
    if checker.decimal_guessed:
        ambiguous_decimal(block)
    for field in NUMERIC:
        if field not in text:
            block.numbers[field] = np.full(len(block), np.nan)
            continue
        values, invalid = parse_numbers(text[field],
                                        checker._decimals.get(field) or checker.decimal,
                                        cleaned=True)
        block.numbers[field] = values
        block.error(invalid, field, "invalid_number",
                    lambda at, field=field: cols[field] + " is not a number: "
                    + text[field].iloc[at].fillna("").str.slice(0, 60))
        huge = np.abs(values) > MAX_AMOUNT  # NaN (empty, invalid) compares False
        block.error(huge, field, "out_of_range",
                    lambda at, field=field: cols[field] + f" is beyond ±{MAX_AMOUNT:.0e}: "
                    + quoted(text[field].iloc[at]))


def ambiguous_decimal(block: Block) -> None:
    """A warning per numeric column, once a file, whose cells read as different numbers
    with either mark (``655.957``) where the mark was the delimiter's convention."""
    checker, text, cols = block.checker, block.text, block.cols
    for field in NUMERIC:
        if field not in text or field in checker.decimal_warned or checker._decimals.get(field):
            continue
        either = either_mark(text[field]) & ~block.rejected
        if not either.any():
            continue
        checker.decimal_warned.add(field)
        first = int(np.flatnonzero(either)[0])
        at = np.zeros(len(block), dtype=bool)
        at[first] = True
        block.warn(at, field, "ambiguous_decimal",
                   ambiguous_decimal_message(
                       block.table.file, int(block.rows[first]), cols[field],
                       text[field].iloc[first],
                       int(either.sum()), checker.decimal, block.table.delimiter,
                       "decimal='{mark}' (folio import --decimal '{mark}')",
                       at_least=not block.table.last))  # later blocks are not read yet


def clean_values(block: Block) -> None:
    """A market value that includes accrued interest is stored clean (see ``Checker``)."""
    settle_clean_values(block.checker, block.numbers, block.rows, block.rejected)


def product_range(block: Block) -> None:
    """quantity x price within ``MAX_PRODUCT``."""
    cols = block.cols
    with np.errstate(over="ignore", invalid="ignore"):  # a rejected 1e308 may: inf
        product = np.abs(block.numbers["quantity"] * block.numbers["price"])
    vast = ~block.rejected & (product > MAX_PRODUCT)
    if vast.any():
        block.error(vast, "price", "out_of_range", lambda at: [
            f"{cols['quantity']} x {cols['price']} = {p:.3g}, beyond {MAX_PRODUCT:.0e}"
            for p in product[at]])


def currency(block: Block) -> None:
    """An ISO 4217 code (FCFA settled as XOF or XAF where the file's evidence decides;
    a name or symbol of one currency, ``EURO`` or ``£``, read as its code)."""
    ccy = franc_zone(block.checker, upper(block.text["currency"]), block.ident, block.rows)
    bad = check_currencies(ccy)
    if bad.any():
        ccy, bad = _named_currencies(block, ccy, bad)
    block.ccy = ccy
    placeholder = block.checker.placeholder_currency
    if placeholder:
        # A dry run of a file naming no currency: its positions are shown, once
        # said so, rather than every row rejected for want of one.
        shown = (ccy == placeholder).fillna(False).to_numpy(bool)
        bad &= ~shown
        if shown.any() and not block.checker.placeholder_said:
            block.checker.placeholder_said = True
            block.checker._issues.add(
                block.rows[shown][:1], block.cols.get("currency"), "currency_unknown",
                "warning", placeholder,
                f"the file names no currency: {placeholder} (ISO 4217's 'no currency') stands "
                f"in for it in this preview, and an import would reject every row; give it as "
                f"a constant when you save the mapping (folio mapping save NAME ... --constant "
                f"currency=EUR), or in Python constants={{'currency': 'EUR'}}")
    block.error(bad, "currency", "invalid_currency",
                lambda at: [AMBIGUOUS_CURRENCIES.get(v, f"{v} is not an ISO 4217 currency code")
                            for v in ccy.iloc[at]])


def _named_currencies(block: Block, ccy: pd.Series, bad: np.ndarray
                      ) -> tuple[pd.Series, np.ndarray]:
    """Cells naming one currency (``currency_names.csv``) as its code, each name
    said once in a file with a ``currency_resolved`` warning; and what stays bad."""
    found = named(pd.unique(ccy[bad]))
    if not found:
        return ccy, bad
    said = block.checker.currency_names_said
    for name, code in found.items():
        at = (ccy == name).fillna(False).to_numpy(bool)
        if name not in said:
            said.add(name)
            cell = block.text["currency"][at].iloc[0]  # as the file writes it
            block.checker._issues.add(
                block.rows[at][:1], block.cols.get("currency"), "currency_resolved", "warning",
                cell, f"{cell} read as {code}, the ISO 4217 code it names")
        ccy = ccy.mask(pd.Series(at, index=ccy.index), code)
    return ccy, check_currencies(ccy)


def dates(block: Block) -> None:
    """Dates parse (Excel serials in a workbook; month first where the file is US) and
    fall within the dates folio can compute with."""
    checker, text, cols = block.checker, block.text, block.cols
    excel = block.table.kind == "xlsx"
    for field in DATES:
        if field not in text:
            block.dates[field] = np.full(len(block), np.datetime64("NaT"), dtype="datetime64[D]")
            continue
        values, invalid = parse_dates(text[field], excel_serials=excel,
                                      month_first=checker.date_order == "mdy", cleaned=True)
        block.error(invalid, field, "invalid_date",
                    lambda at, field=field: cols[field] + " is not a valid date: "
                    + text[field].iloc[at].fillna("").str.slice(0, 40))
        outside = (values < FIRST_DATE) | (values > LAST_DATE)  # NaT compares False
        block.error(outside, field, "out_of_range",
                    lambda at, field=field: cols[field] + f" is outside {FIRST_DATE} to "
                    f"{LAST_DATE}, the dates folio can compute with: "
                    + quoted(text[field].iloc[at]))
        if outside.any():  # nor a date of the file's: an as-of of 0001-01-01 settles nothing
            values = np.where(outside, np.datetime64("NaT"), values)
        block.dates[field] = values


def as_of(block: Block) -> None:
    """Each row's as-of date (where the file has a column) is the import's."""
    checker, cols = block.checker, block.cols
    settle_as_of(checker, block.dates["as_of"])
    if "as_of" in cols and checker.as_of is not None:
        row_dates = block.dates["as_of"]
        target = np.datetime64(checker.as_of, "D")
        later = ~np.isnat(row_dates) & (row_dates > target)
        earlier = ~np.isnat(row_dates) & (row_dates < target)
        day = checker.as_of.isoformat()
        block.error(later, "as_of", "future_date",
                    f"{cols['as_of']} is after the import's as-of date {day}")
        block.error(earlier, "as_of", "as_of_mismatch",
                    f"{cols['as_of']} differs from the import's as-of date {day}")


def portfolio(block: Block) -> None:
    """A row that names a portfolio names the import's."""
    if "portfolio" in block.cols:
        name = block.checker.portfolio
        cells = block.text["portfolio"]
        other = (cells.notna() & (upper(cells) != name.upper())).to_numpy(bool)
        block.error(other, "portfolio", "portfolio_mismatch",
                    f"row belongs to another portfolio than {name}")


def duplicates(block: Block) -> None:
    """An identical row twice is an error (it would double count); the same instrument
    in the same account on two different rows (lots) is a warning."""
    exact = (block.same_as > 0) & ~block.rejected
    if exact.any():
        same_as = block.same_as
        block.error(exact, "identifier", "duplicate_row",
                    lambda at: [f"same as row {r}" for r in same_as[at]])
    live, id_codes = ~block.rejected, block.id_codes
    same_id = np.zeros(len(block), dtype=bool)
    live_rows = np.flatnonzero(live)
    _, first_live = np.unique(id_codes[live_rows], return_index=True)
    same_id[live_rows] = True
    same_id[live_rows[first_live]] = False  # the first row of each instrument is not a repeat
    same_id |= live & block.earlier_live  # ... unless an earlier block had it
    same_id &= id_codes >= 0
    block.warn(same_id, "identifier", "duplicate_instrument",
               "the same instrument appears on an earlier row; both rows are kept")


def _scales(block: Block) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """quantity x price, and its gap to the market value read per unit and per 100,
    on the rows where all three are there (``comparable``)."""
    qty, price, mv = (block.numbers[f] for f in ("quantity", "price", "market_value"))
    comparable = (~block.rejected & np.isfinite(qty) & np.isfinite(price) & np.isfinite(mv)
                  & (mv != 0))
    product = qty * price
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gap = np.abs(product - mv) / np.abs(mv)
        gap_pct = np.abs(product / 100 - mv) / np.abs(mv)
    return comparable, product, gap, gap_pct


def mv_mismatch(block: Block) -> None:
    """The market value agrees with quantity x price (per unit or per 100)."""
    comparable, product, gap, gap_pct = _scales(block)
    tolerance = block.checker.mv_tolerance
    off = comparable & (gap > tolerance) & (gap_pct > tolerance)
    if off.any():
        mv_col, mv = block.cols["market_value"], block.numbers["market_value"]
        best = np.where(gap_pct < gap, product / 100, product)
        msg = pd.Series(
            [f"{mv_col} {m:,.2f} differs from quantity x price {b:,.2f} by {g:.1%}"
             for m, b, g in zip(mv[off], best[off], np.minimum(gap, gap_pct)[off], strict=True)],
            dtype=object)
        block.warn(off, "market_value", "mv_mismatch", msg)


def _marked_per_100(block: Block, at: np.ndarray) -> np.ndarray:
    """Which rows of ``at`` the asset class (``BOND_CLASS``), a '%' in the price cell or
    the preset mark as quoted per 100 of nominal."""
    if block.checker.price_per_100:
        return np.ones(len(at), dtype=bool)
    marked = np.zeros(len(at), dtype=bool)
    rows = pa.array(at)
    if "asset_class" in block.text:
        # A file has a handful of asset classes: the regex runs once per distinct one.
        classes = pc.dictionary_encode(arrow_strings(block.text["asset_class"]).take(rows))
        bond = pc.match_substring_regex(classes.dictionary, BOND_CLASS, ignore_case=True)
        marked |= pc.fill_null(bond.take(classes.indices), False).to_numpy(zero_copy_only=False)
    prices = arrow_strings(block.text["price"]) if "price" in block.text else None
    # Most files write no '%' at all: one look at the column's bytes says so.
    if prices is not None and (string_bytes(prices)[1] == ord("%")).any():
        percent = pc.match_substring(prices.take(rows), "%")
        marked |= pc.fill_null(percent, False).to_numpy(zero_copy_only=False)
    return marked


def price_scale(block: Block) -> None:
    """Warn where the value agrees with quantity x price only at a scale the row does
    not explain: per 100 of nominal on a row nothing marks as a bond (a bond's price
    read as a unit price, or a unit price 100 times too large), or per unit on a row
    whose asset class, '%' or preset says it is quoted per 100 (valued from its price
    it would be 100 times off)."""
    comparable, product, gap, gap_pct = _scales(block)
    tolerance = block.checker.mv_tolerance
    hundredfold = comparable & (gap_pct <= tolerance) & (gap > tolerance)
    unit = comparable & (gap <= tolerance) & (gap_pct > tolerance)
    at = np.flatnonzero(hundredfold | unit)
    if len(at) == 0:
        return
    # A maturity explains a price per 100 (dated paper is quoted so), but alone it
    # does not make a unit price suspect: funds and notes with a term have one too.
    bond, said = np.zeros(len(block), dtype=bool), np.zeros(len(block), dtype=bool)
    said[at] = _marked_per_100(block, at)
    bond[at] = said[at] | ~np.isnat(block.dates["maturity_date"][at])
    cols, (qty, price, mv) = block.cols, (block.numbers[f] for f in
                                          ("quantity", "price", "market_value"))
    names = f"{cols['quantity']} x {cols['price']}"
    for mask, says in (
        (hundredfold & ~bond, "is 100 x {mv_col} {m:,.2f}: {price_col} {p:,.4g} reads as a "
         "price per 100 of nominal, but nothing marks the row as a bond (asset class, "
         "maturity, '%'); check {price_col} and {mv_col}"),
        (unit & said, "equals {mv_col} {m:,.2f}: {price_col} {p:,.4g} reads as a unit price, "
         "but the row is marked as a bond quoted per 100 (asset class, '%' or preset); "
         "valued from its price it would be 100 times too small"),
    ):
        if mask.any():
            block.warn(mask, "price", "price_scale", [
                f"{names} = {q * p:,.2f} " + says.format(mv_col=cols["market_value"],
                                                          price_col=cols["price"], m=m, p=p)
                for q, p, m in zip(qty[mask], price[mask], mv[mask], strict=True)])


# (rule, whether a progress step follows it), in the order a row's issues come.
RULES: tuple[tuple[Callable[[Block], None], bool], ...] = (
    (too_long, False), (required, True), (isin, False), (numbers, False),
    (clean_values, False), (product_range, True), (currency, True), (dates, True),
    (as_of, False), (portfolio, True), (duplicates, True), (mv_mismatch, False),
    (price_scale, False),
)

