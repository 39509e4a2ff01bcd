"""Vectorised parsing of text cells: numbers, dates, ISINs and currency codes.

Owns the conversions from the text a custodian writes (``1 234 567,89``,
``(1'250.00)``, ``31/01/2024``, an Excel serial) to typed arrays with a mask of
cells that did not parse. Nothing here loops over rows in Python: work is done on
whole columns, and on unique values where values repeat (dates, codes).
"""

from __future__ import annotations

import functools
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio import datafiles
from folio.errors import ConfigError
from folio.ingest.currencies import ISO_4217

# Real characters, not \u escapes: pyarrow's RE2 does not read \u.
_SPACES = "[\\s\u00a0\u202f\u2009'\u2019]"
_THOUSANDS_DOT = r"^[+-]?\d{1,3}(\.\d{3})+$"
_THOUSANDS_COMMA = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"


# Cells that say "no value" as exports write it.
NO_VALUE = ("--", "-", "—", "N/A", "n/a", "N/a", "n.d.", "N.D.", "n.a.", "N.A.", "#N/A")


# Bytes that are neither whitespace nor part of a multi-byte character (0x21 to
# 0x7E, printable ASCII): a cell that starts and ends with one has nothing to trim.
_PLAIN_FIRST, _PLAIN_COUNT = np.uint8(0x21), 0x7F - 0x21
# The first bytes and longest of the NO_VALUE cells: only the short cells that
# start with one are looked up.
_NO_VALUE_FIRST = np.zeros(256, dtype=bool)
_NO_VALUE_FIRST[[v.encode()[0] for v in NO_VALUE]] = True
_NO_VALUE_BYTES = max(len(v.encode()) for v in NO_VALUE)


def nothing_to_trim(arr: pa.Array) -> bool:
    """Whether no string of ``arr`` starts or ends with whitespace: each starts and ends
    with printable ASCII (a multi-byte character might be a space)."""
    if len(arr) == 0:
        return True
    offsets, data = string_bytes(arr)
    starts, ends = offsets[:-1], offsets[1:]
    filled = ends > starts
    if not filled.all():
        starts, ends = starts[filled], ends[filled]
    return bool(((data[starts] - _PLAIN_FIRST) < _PLAIN_COUNT).all()
                and ((data[ends - 1] - _PLAIN_FIRST) < _PLAIN_COUNT).all())


def strip(column: pd.Series) -> pd.Series:
    """``column.str.strip()``, or the column itself when no cell has anything to strip."""
    return column if nothing_to_trim(arrow_strings(column)) else column.str.strip()


def has_lower(arr: pa.Array) -> bool:
    """Whether upper-casing could change a string of ``arr``: a byte is a lower-case
    ASCII letter or outside ASCII."""
    if len(arr) == 0:
        return False
    _, data = string_bytes(arr)
    return bool((((data - np.uint8(ord("a"))) < 26) | (data >= 0x80)).any())


def upper(column: pd.Series) -> pd.Series:
    """``column.str.upper()``, or the column itself when no cell could change."""
    return column.str.upper() if has_lower(arrow_strings(column)) else column


def first_bytes(arr: pa.Array) -> np.ndarray:
    """The first byte of each string of ``arr`` (0 for an empty one)."""
    out = np.zeros(len(arr), dtype=np.uint8)
    if len(arr):
        offsets, data = string_bytes(arr)
        filled = np.flatnonzero(offsets[1:] > offsets[:-1])
        out[filled] = data[offsets[filled]]
    return out


def clean_text(column: pd.Series, no_value: bool = False) -> pd.Series:
    """Strip whitespace; empty cells become missing, and with ``no_value`` cells that
    say none (``--``, ``N/A``: numbers and codes)."""
    stripped = arrow_strings(column)
    if len(stripped) == 0:
        return pd.Series(pd.arrays.ArrowStringArray(stripped), index=column.index)
    # Column-wise on the bytes first: most columns have no cell to trim and few
    # cells that could say none, and a kernel pass over every cell costs more.
    if not nothing_to_trim(stripped):
        stripped = pc.utf8_trim_whitespace(stripped)
    offsets, data = string_bytes(stripped)
    lengths = np.diff(offsets)
    none = lengths == 0  # empty (or null: the result is null either way)
    if no_value:
        short = np.flatnonzero((lengths > 0) & (lengths <= _NO_VALUE_BYTES))
        short = short[_NO_VALUE_FIRST[data[offsets[short]]]]
        if len(short):
            said = pc.is_in(stripped.take(pa.array(short)),
                            value_set=pa.array(NO_VALUE, stripped.type))
            none[short[pc.fill_null(said, False).to_numpy(zero_copy_only=False)]] = True
    cleaned = (pc.if_else(pa.array(none), pa.scalar(None, stripped.type), stripped)
               if none.any() else stripped)
    return pd.Series(pd.arrays.ArrowStringArray(cleaned), index=column.index)


def decimal_votes(column: pd.Series) -> tuple[int, int]:
    """How many of a column's first 5,000 cells can only be read with a decimal comma,
    and how many only with a decimal dot."""
    sample = column.dropna().head(5000)
    # pandas removes _SPACES a cell at a time in Python: only from the cells that
    # need it. A cell of printable ASCII but the space and the quote holds none.
    spaced = ~pc.match_substring_regex(arrow_strings(sample), "^[!-&(-~]*$").to_numpy(
        zero_copy_only=False)
    if spaced.any():
        sample = sample.copy()
        sample[spaced] = sample[spaced].str.replace(_SPACES, "", regex=True)
    both = (sample.str.contains(",", regex=False)
            & sample.str.contains(".", regex=False)).to_numpy(bool)
    last_comma = _comma_last(sample)
    # "0.500" is a decimal dot too (no one writes 500 so), and "1.234.567" a
    # decimal comma: a mark twice is the thousands mark.
    comma = int((both & last_comma).sum()) + int(sample.str.match(
        r"^[+-]?\(?(\d*,(\d{1,2}|\d{4,})|0,\d{3}|\d{1,3}(\.\d{3}){2,})\)?-?$").sum())
    dot = int((both & ~last_comma).sum()) + int(sample.str.match(
        r"^[+-]?\(?(\d*\.(\d{1,2}|\d{4,})|0\.\d{3}|\d{1,3}(,\d{3}){2,})\)?-?$").sum())
    return comma, dot


# A cell both marks read, as different numbers: "655.957" is 655.957 with a
# decimal dot and 655957 with a thousands dot; "1,500" likewise.
_EITHER_MARK = r"^[+-]?\(?\d{1,3}[.,]\d{3}\)?-?$"


def either_mark(column: pd.Series) -> np.ndarray:
    """Which cells of a (cleaned) text column are numbers whose value depends on the
    decimal mark: 1 to 3 digits, a dot or a comma, exactly three digits."""
    arr = arrow_strings(column)
    return pc.fill_null(pc.match_substring_regex(arr, _EITHER_MARK), False).to_numpy(
        zero_copy_only=False)


MARK_NAMES = {",": "decimal comma", ".": "decimal dot"}


def check_mark(decimal: str | None) -> str | None:
    """A ``decimal=`` option as given (None: detect), or ``ConfigError`` if it is no mark."""
    if decimal not in (None, *MARK_NAMES):
        raise ConfigError(f"decimal={decimal!r} is not a decimal mark (use ',' or '.')",
                          setting="decimal", value=str(decimal))
    return decimal


def ambiguous_decimal_message(file: str, row: int, column: str, cell: str, count: int,
                              decimal: str, delimiter: str | None, option: str,
                              at_least: bool = False) -> str:
    """What an ``ambiguous_decimal`` warning says: the cell, how many cells are like it
    (``at_least``: more may follow), both its readings, and ``option``, how to name a
    mark (its ``{mark}`` is the mark named)."""
    other = "." if decimal == "," else ","
    read, would = (parse_numbers(pd.Series([cell], dtype="string[pyarrow]"), mark)[0][0]
                   for mark in (decimal, other))
    why = ("the usual mark of files delimited by ';'" if delimiter == ";"
           else "folio's default where the delimiter is not ';'")
    more = (f" (and {'at least ' if at_least else ''}{count - 1:,} more "
            f"cell{'s' if count > 2 else ''} of the column like it)" if count > 1 else "")
    return (f"{file}, row {row}, column {column!r}: {cell!r}{more} reads with either decimal "
            f"mark and no cell of the file decides which; read with the {MARK_NAMES[decimal]} "
            f"({why}) as {read:.12g}, with a {MARK_NAMES[other]} it would be {would:.12g}. "
            f"Say which is meant: {option.format(mark=other)} for the {MARK_NAMES[other]}, "
            f"{option.format(mark=decimal)} to keep this reading")


def _comma_last(column: pd.Series) -> np.ndarray:
    """Whether a cell's last ',' comes after its last '.' (where it has both): a ','
    with no '.' after it. One regex pass, where pandas' rfind is a Python call a cell."""
    return pc.fill_null(pc.match_substring_regex(arrow_strings(column), ",[^.]*$"),
                        False).to_numpy(zero_copy_only=False)


def decide_decimal(comma: int, dot: int, delimiter: str | None,
                   tie: str | None = "auto") -> str | None:
    """The mark the votes give; a tie goes to ``tie`` ("auto": the delimiter's convention)."""
    if comma != dot:
        return "," if comma > dot else "."
    if tie != "auto":
        return tie
    return "," if delimiter == ";" else "."


def detect_decimal(columns: list[pd.Series], delimiter: str | None,
                   tie: str | None = "auto") -> str | None:
    """The file's decimal mark, from the shapes of its numeric cells.

    A comma followed by other than three digits (``12,5``), or by three after a
    lone 0 (``0,500``), can only be a decimal comma, and so can a dot twice
    (``1.234.567``); likewise a dot. Ties go to the comma in semicolon files (the
    European convention that is why they use semicolons) and to the dot elsewhere.
    """
    return decimal_decision(columns, delimiter, tie)[0]


def decimal_decision(columns: list[pd.Series], delimiter: str | None,
                     tie: str | None = "auto") -> tuple[str | None, bool]:
    """``detect_decimal``'s mark, and whether the votes tied (the mark is then the
    delimiter's convention, not the file's)."""
    votes = [decimal_votes(column) for column in columns]
    comma, dot = sum(c for c, _ in votes), sum(d for _, d in votes)
    return decide_decimal(comma, dot, delimiter, tie), comma == dot


_PLAIN_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def parse_numbers(column: pd.Series, decimal: str, *,
                  cleaned: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse a text column to float64 (``cleaned``: it is ``clean_text``'s already).

    Returns
    -------
    values, invalid
        ``values`` is NaN where the cell is empty or invalid; ``invalid`` marks
        non-empty cells that are not a finite number.
    """
    text = column if cleaned else clean_text(column)
    present = text.notna().to_numpy().copy()
    arr = arrow_strings(text)
    if decimal == ".":
        # A column of plain numbers casts as it is (a failure costs little: the
        # cast stops at the first cell it cannot read).
        try:
            values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            pass
        else:
            return _amounts(values, present)
    # Most cells are plain numbers (``1234.5``): cast those straight away and
    # send only the others (separators, commas, brackets, junk) the long way.
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_NUMBER), False)
    if decimal == ",":  # "1.234" may be a thousands dot there
        plain = pc.and_(plain, pc.invert(pc.fill_null(pc.match_substring(arr, "."), False)))
    plain_rows = plain.to_numpy(zero_copy_only=False)
    values = np.full(len(arr), np.nan)
    try:
        values[plain_rows] = pc.cast(pc.filter(arr, plain), pa.float64()).to_numpy(
            zero_copy_only=False)
    except pa.ArrowInvalid:  # a shape the cast does not take: all the long way
        plain_rows = np.zeros(len(arr), dtype=bool)
    rest = np.flatnonzero(present & ~plain_rows)
    if len(rest):  # "--", "N/A": no value, not a bad number
        none = pc.is_in(pc.take(arr, pa.array(rest)), value_set=pa.array(NO_VALUE, arr.type))
        gone = rest[none.fill_null(False).to_numpy(zero_copy_only=False)]
        present[gone] = False
        rest = np.setdiff1d(rest, gone)
    if len(rest):
        values[rest], _ = _parse_numbers_general(text.iloc[rest], decimal)
    return _amounts(values, present)


def _amounts(values: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parsed values and which present cells are invalid: not finite ("inf", "nan",
    "1e400" are not amounts). NaN where empty or invalid; -0 becomes 0."""
    invalid = present & ~np.isfinite(values)
    return np.where(invalid | ~present, np.nan, values) + 0.0, invalid


def _parse_numbers_general(text: pd.Series, decimal: str) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with separators, decimal commas, brackets or a trailing minus for
    negatives."""
    present = text.notna().to_numpy()
    # pyarrow's compute kernels directly: pandas falls back to a Python loop
    # per cell for some of these patterns, which dominated large imports.
    arr = pa.array(text.array)
    arr = pc.replace_substring_regex(arr, _SPACES, "")
    # "USD877.50", "877.50EUR", "$7,897.00", "-$0.26", "+2.68%": the amount alone.
    arr = pc.replace_substring_regex(arr, r"^([+-]?)\(?[A-Z]{3}(\d)", r"\1\2")
    arr = pc.replace_substring_regex(arr, r"(\d)[A-Z]{3}$", r"\1")
    arr = pc.replace_substring_regex(arr, r"^([+-]?\(?)[$€£¥]|[$€£¥%]$", r"\1")
    arr = pc.replace_substring_regex(arr, r"^\+", "")
    negative = pc.fill_null(pc.match_substring_regex(arr, r"^\(.*\)$"), False)
    arr = pc.replace_substring_regex(arr, r"^\((.*)\)$", r"\1")
    # "1.234,56-": the minus after the number, as SAP and many German and Swiss
    # custodians' systems write a negative amount.
    trailing = pc.fill_null(pc.match_substring_regex(arr, r"^[^-]*\d-$"), False)
    arr = pc.replace_substring_regex(arr, r"^([^-]*\d)-$", r"\1")
    negative = pc.or_(negative, trailing)
    s = pd.Series(pd.arrays.ArrowStringArray(arr), index=text.index)
    negative = negative.to_numpy(zero_copy_only=False)
    has_comma = s.str.contains(",", regex=False).fillna(False)
    has_dot = s.str.contains(".", regex=False).fillna(False)
    both = has_comma & has_dot
    if both.any():
        comma_last = pd.Series(_comma_last(s), index=s.index)
        s = s.mask(both & comma_last, s.str.replace(".", "", regex=False).str.replace(",", "."))
        s = s.mask(both & ~comma_last, s.str.replace(",", "", regex=False))
    only_comma = has_comma & ~has_dot
    only_dot = has_dot & ~has_comma
    if decimal == ",":
        if only_dot.any():
            thousands = only_dot & s.str.match(_THOUSANDS_DOT).fillna(False)
            s = s.mask(thousands, s.str.replace(".", "", regex=False))
        if only_comma.any():
            s = s.mask(only_comma, s.str.replace(",", ".", regex=False))
    elif only_comma.any():
        thousands = only_comma & s.str.match(_THOUSANDS_COMMA).fillna(False)
        # A lone comma in a dot-decimal file (``12,5``) is ambiguous: left invalid.
        s = s.mask(thousands, s.str.replace(",", "", regex=False))
    arr = pa.array(s.array)
    shaped = pc.fill_null(pc.match_substring_regex(
        arr, r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), False)
    numbers = pc.cast(pc.if_else(shaped, arr, pa.scalar(None, pa.string())), pa.float64())
    values = numbers.to_numpy(zero_copy_only=False)
    return _amounts(np.where(negative, -values, values), present)


_DATE_FORMATS = (
    (r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$", "%Y-%m-%d", 10),
    (r"^\d{1,2}/\d{1,2}/\d{4}$", "%d/%m/%Y", None),
    (r"^\d{1,2}\.\d{1,2}\.\d{4}$", "%d.%m.%Y", None),
    (r"^\d{1,2}-\d{1,2}-\d{4}$", "%d-%m-%Y", None),
    (r"^\d{8}$", "%Y%m%d", None),
)
EXCEL_EPOCH = np.datetime64("1899-12-30")


def parse_dates(column: pd.Series, *, excel_serials: bool = False, month_first: bool = False,
                cleaned: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse a text column of dates (ISO, dd/mm/yyyy, dd.mm.yyyy, yyyymmdd, and
    dates with the month's name: ``31 janv. 2024``, ``31-Jan-2024``).

    Day-first, as custodians in the franc zone and Europe write them. With
    ``excel_serials``, numbers such as ``45322`` are Excel day counts; with
    ``cleaned``, the column is ``clean_text``'s already.

    Returns
    -------
    values, invalid
        ``datetime64[D]`` values (NaT where empty or invalid) and a mask of
        non-empty cells that are not a real date (``31/02/2024``, ``0000-00-00``).
    """
    text = column if cleaned else clean_text(column)
    codes, uniques = pd.factorize(text)  # dates repeat: parse each once
    uniq = pd.Series(uniques, dtype=pd.StringDtype("pyarrow"))
    parsed = pd.Series(pd.NaT, index=uniq.index, dtype="datetime64[s]")
    for pattern, fmt, width in _DATE_FORMATS:
        if not parsed.isna().any():
            break  # every distinct cell read: no later format can take one (nor a serial)
        if month_first and fmt.startswith("%d"):
            fmt = "%m" + fmt[2] + "%d" + fmt[5:]  # "%d/%m/%Y" -> "%m/%d/%Y": a US file
        mask = uniq.str.match(pattern).fillna(False) & parsed.isna()
        if mask.any():
            part = uniq[mask].str.slice(0, width) if width else uniq[mask]
            parsed[mask] = pd.to_datetime(part, format=fmt, errors="coerce")
    if parsed.isna().any():  # "31 janv. 2024", "31-Jan-2024", "January 31, 2024"
        worded = parsed.isna() & uniq.str.contains(r"[^\W\d_]", regex=True).fillna(False)
        if worded.any():
            parsed[worded] = np.array(
                [np.datetime64(d, "s") if (d := month_name_date(v)) else np.datetime64("NaT", "s")
                 for v in uniq[worded]], dtype="datetime64[s]")
    if excel_serials and parsed.isna().any():
        mask = uniq.str.match(r"^\d{1,6}(\.\d+)?$").fillna(False) & parsed.isna()
        if mask.any():
            days = pd.to_numeric(uniq[mask], errors="coerce")
            ok = (days >= 1) & (days < 2958466)
            parsed[mask & ok.reindex(uniq.index, fill_value=False)] = (
                EXCEL_EPOCH + days[ok].astype("int64").to_numpy().astype("timedelta64[D]"))
    # A trailing NaT stands for empty cells (code -1), so an all-empty column works.
    days = np.append(parsed.to_numpy(dtype="datetime64[D]"), np.datetime64("NaT", "D"))
    values = days[codes]
    invalid = (codes >= 0) & np.isnat(values)
    return values, invalid


MONTHS_FILE = Path(__file__).with_name("months.csv")
# A day, a month's name and a year, either way round, with what exports put
# between them: "31 janv. 2024", "1er janvier 2024", "31-Jan-2024", "January 31st,
# 2024", "Jan 31 2024", "30 de junio de 2024"; a time may follow. Two-digit years are not read (as in
# the numeric formats): "31-Jan-24" stays invalid rather than guessed.
_ORDINAL = r"(?:er|re|e|st|nd|rd|th|º|°)?"
_MONTH_DATE = re.compile(
    r"^(?:(?P<day>\d{1,2})" + _ORDINAL + r"[\s.\-/]*(?:de\s+)?(?P<month>[^\W\d_]+)\.?"
    r"[\s.\-/,]*(?:del?\s+)?"
    r"|(?P<month2>[^\W\d_]+)\.?[\s.\-/]*(?P<day2>\d{1,2})" + _ORDINAL + r",?[\s.\-/]*)"
    r"(?P<year>\d{4})(?:[\sT]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[ap]\.?m\.?)?)?$",
    re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def month_names() -> dict[str, int]:
    """Every month name and abbreviation of ``months.csv``, folded, to its month.

    Raises ConfigError if one name means two months (the table is data: an
    edit must not make "mar" March in one language and May in another)."""
    names: dict[str, int] = {}
    for line, row in datafiles.rows(MONTHS_FILE):
        month = int(row["month"])
        for name in row["names"].split():
            key = datafiles.fold(name)
            if names.setdefault(key, month) != month:
                raise ConfigError(f"{MONTHS_FILE.name}, line {line}: {name!r} "
                                  f"({row['language']}) is month {month} here and month "
                                  f"{names[key]} elsewhere", file=str(MONTHS_FILE), row=line)
    return names


def month_name_date(text: str) -> date | None:
    """A date written with its month's name (in English, French, German, Spanish,
    Portuguese, Italian or Dutch; see ``months.csv``), or None."""
    m = _MONTH_DATE.match(text.strip())
    if not m:
        return None
    month = month_names().get(datafiles.fold(m["month"] or m["month2"]))
    try:
        return date(int(m["year"]), month, int(m["day"] or m["day2"])) if month else None
    except ValueError:  # 31 févr.
        return None


# The value of each byte of an ISIN's characters (0-9, then A-Z as 10-35); 255
# for any other byte, so the values also tell the shape ``^[A-Z]{2}[A-Z0-9]{9}[0-9]$``.
_ISIN_VALUE = np.full(256, 255, dtype=np.uint8)
_ISIN_VALUE[np.frombuffer(b"0123456789", np.uint8)] = np.arange(10)
_ISIN_VALUE[np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", np.uint8)] = np.arange(10, 36)
_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.uint8)  # digit doubled, digits summed
# What a character of value v adds to the Luhn sum: at v when the next digit
# (from the right) is not doubled, at 36 + v when it is. A letter is two
# digits, its tens then its units, so when its units are doubled its tens are not.
_UNITS, _TENS = np.arange(36) % 10, np.arange(36) // 10
_LUHN_ADDS = np.concatenate([
    np.where(_TENS == 0, _UNITS, _UNITS + _DOUBLED[_TENS]),
    np.where(_TENS == 0, _DOUBLED[_UNITS], _DOUBLED[_UNITS] + _TENS),
]).astype(np.uint8)
_NEXT_DOUBLED = np.uint8(36)


def _luhn_ok(values: np.ndarray) -> np.ndarray:
    """ISIN check digits for a (12, n) array of ISIN character values (``_ISIN_VALUE``),
    a row per character position: whole rows at a time, never a row of twelve."""
    n = values.shape[1]
    # Luhn over the payload's digits (a letter counts as two), from the right,
    # doubling every other digit starting with the rightmost: one position at a
    # time, tracking per code whether the next digit is doubled.
    at = np.full(n, _NEXT_DOUBLED, dtype=np.uint8)  # 0 or 36: the offset into _LUHN_ADDS
    total = np.zeros(n, dtype=np.uint8)  # at most 11 x 12
    index, adds, digit = (np.empty(n, dtype=np.uint8), np.empty(n, dtype=np.uint8),
                          np.empty(n, dtype=bool))
    for k in range(10, -1, -1):
        np.add(at, values[k], out=index)
        np.take(_LUHN_ADDS, index, out=adds)
        total += adds
        np.less(values[k], 10, out=digit)  # a letter's two digits leave the parity as it was
        at ^= digit.view(np.uint8) * _NEXT_DOUBLED
    return (10 - total % 10) % 10 == values[11]


def arrow_strings(column: pd.Series) -> pa.Array:
    """A text column as one contiguous pyarrow string array (no Python objects)."""
    arr = pa.array(column.astype(pd.StringDtype("pyarrow")).array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    # pandas keeps large_string; casting to string would copy every column.
    return arr if arr.type in (pa.string(), pa.large_string()) else arr.cast(pa.large_string())


def string_bytes(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A (non-empty) string array's ``len + 1`` offsets and its data bytes, without a copy."""
    wide = np.int64 if arr.type == pa.large_string() else np.int32
    offsets = np.frombuffer(arr.buffers()[1], dtype=wide)[arr.offset:arr.offset + len(arr) + 1]
    buffer = arr.buffers()[2]
    data = np.frombuffer(buffer, dtype=np.uint8) if buffer is not None else np.zeros(0, np.uint8)
    return offsets, data


def fixed_width(arr: pa.Array, width: int) -> np.ndarray:
    """The bytes of a string array whose values are all ``width`` ASCII bytes, as (n, width)."""
    offsets, data = string_bytes(arr)
    return data[offsets[0]:offsets[-1]].reshape(-1, width)


def check_isins(identifiers: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which identifiers look like ISINs, and which of those have a wrong check digit.

    Works on the Arrow bytes of the column: a million codes are never turned
    into Python strings.

    Returns
    -------
    looks_like, bad
        Boolean arrays over the input.
    """
    arr = arrow_strings(identifiers)
    # The shape on the bytes, not by regex (which costs several times more):
    # twelve bytes, each an upper-case ASCII letter or digit, are twelve characters.
    looks_like = np.zeros(len(arr), dtype=bool)
    bad = np.zeros(len(arr), dtype=bool)
    twelve = pc.fill_null(pc.equal(pc.binary_length(arr), 12), False)
    where = np.flatnonzero(twelve.to_numpy(zero_copy_only=False))
    if len(where) == 0:
        return looks_like, bad
    every = len(where) == len(arr)  # a column of codes all twelve bytes: nothing to pick
    shaped = arr if every else pc.take(arr, pa.array(where))
    # A row per character position: numpy works along long rows, not across short ones.
    values = np.take(_ISIN_VALUE, np.ascontiguousarray(fixed_width(shaped, 12).T))
    shape = ((np.max(values[:2] - np.uint8(10), axis=0) < 26)  # letters (a digit wraps past 26)
             & (np.max(values[2:11], axis=0) < 36) & (values[11] < 10))
    ok = _luhn_ok(values if shape.all() else values[:, shape])
    if every and len(ok) == len(arr):
        return shape, ~ok
    looks_like[where] = shape
    bad[where[shape]] = ~ok
    return looks_like, bad


AMBIGUOUS_CURRENCIES = {
    "FCFA": "FCFA is ambiguous: XAF (Central Africa, CEMAC) or XOF (West Africa, UEMOA)",
    "CFA": "CFA is ambiguous: XAF (Central Africa, CEMAC) or XOF (West Africa, UEMOA)",
    "$": "$ is ambiguous: USD, CAD, AUD, HKD, SGD... give the ISO 4217 code",
    "DOLLAR": "DOLLAR is ambiguous: USD, CAD, AUD, HKD, SGD... give the ISO 4217 code",
    "FRANC": "FRANC is ambiguous: CHF, XOF, XAF... give the ISO 4217 code",
}


def check_currencies(codes: pd.Series) -> np.ndarray:
    """Mask of non-empty codes that are not ISO 4217 (compared upper-case)."""
    factor, uniques = pd.factorize(codes)
    # Unique values only; a trailing False stands for empty cells (code -1), so
    # an all-empty column works, as in parse_dates.
    bad = np.array([u not in ISO_4217 for u in uniques] + [False], dtype=bool)
    return bad[factor]
