"""Reading reference files: instruments, FX rates and prices, in the layouts analysts have.

Owns turning one reference file (or each file of a zip) into a typed table:
the checks on its cells, with errors naming file, row, column and value, once
``reference_kinds`` has decided from its columns which kind it is and which
column is which field (English and French headers).
Files are read through the holdings readers (``read_table``: CSV of any
delimiter and encoding, header below title lines, or XLSX), and cells are
typed by the holdings parsers (decimal comma or dot, day-first dates), so a
reference file is read exactly as a holdings file of the same layout would be.

Layouts
-------
``instruments``
    An identifier column and at least one attribute (name, issuer, country,
    asset class, maturity, coupon, duration).
``prices``
    Identifier, date and price (currency optional).
``fx_rates``
    Date, rate and either base and quote columns (1 base = rate quote) or one
    currency column, the currency whose price the rate is in the ``quote``
    currency given by the caller (a BCEAO or BEAC table: ``Devise;Date;Cours``
    in francs CFA).
``ecb``
    The European Central Bank's euro reference rates as published
    (``eurofxref-hist.csv``, ``eurofxref.csv``): a date column and one column
    per currency (1 EUR = cell), ``N/A`` where there is no rate, a trailing
    comma. Stored as ``fx_rates`` with base EUR.

No store access here: ``folio.store.reference`` loads what this module reads.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from folio.errors import MappingError, ReadError
from folio.ingest.currencies import ISO_4217
from folio.ingest.parse import (
    ambiguous_decimal_message,
    check_currencies,
    clean_text,
    decimal_decision,
    detect_decimal,
    either_mark,
    parse_dates,
    parse_numbers,
)
from folio.ingest.readers import read_table
from folio.ingest.reference_kinds import (
    ECB_LEGACY,
    KEYS,
    KINDS,
    LOOKUP,
    TABLES,
    decide_kind,
    filled,
)

_DATES = ("date", "maturity_date")
_NUMBERS = ("price", "rate", "coupon", "modified_duration")
_CODES = ("currency", "base", "quote")
# The ECB's rate files come zipped (eurofxref-hist.zip holds a 2.5 MB CSV): a
# member declaring more than this is not a rates file, and is not expanded.
ZIP_MEMBER_LIMIT = 64 * 2**20


@dataclass
class ReferenceTable:
    """One reference file, read and checked.

    Attributes
    ----------
    file
        The file's name, as errors and reports give it.
    kind
        ``instruments``, ``prices``, ``fx_rates`` or ``ecb`` (stored as ``fx_rates``).
    frame
        Typed rows in the store's columns, plus ``row`` (the row in the file).
    columns
        File header -> field, for the columns used.
    ignored
        File headers no field of the kind uses.
    blank_cells
        Cells that said there is no value (``N/A`` in an ECB file), not loaded.
    warnings
        What was loaded but may be wrong, one dict a column (``code``,
        ``severity``, ``file``, ``row``, ``column``, ``value``, ``message``):
        ``ambiguous_decimal``, numbers read with the delimiter's convention
        where they read either way (``655.957``).
    """

    file: str
    kind: str
    frame: pd.DataFrame
    columns: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    blank_cells: int = 0
    warnings: list[dict] = field(default_factory=list)

    @property
    def table(self) -> str:
        """The store table the rows go to."""
        return TABLES[self.kind]


def _fail(name: str, mask: np.ndarray, rows: np.ndarray, header: str, text: pd.Series,
          what: str) -> None:
    if mask.any():
        i = int(np.flatnonzero(mask)[0])
        value = text.iloc[i]
        value = None if pd.isna(value) else str(value)
        raise ReadError(f"{name}, row {rows[i]}, column {header!r}: {value!r} {what}",
                        file=name, row=int(rows[i]), column=header, value=value)


def _dates(column: pd.Series, xlsx: bool) -> tuple[np.ndarray, np.ndarray]:
    values, invalid = parse_dates(column, excel_serials=xlsx)
    if invalid.any():  # the ECB's daily file writes "31 January 2024"
        spelled = pd.to_datetime(clean_text(column)[invalid], format="%d %B %Y", errors="coerce")
        ok = spelled.notna().to_numpy()
        at = np.flatnonzero(invalid)[ok]
        values[at] = spelled[ok].to_numpy(dtype="datetime64[D]")
        invalid[at] = False
    return values, invalid


def type_cells(name: str, kind: str, raw: pd.DataFrame, columns: dict[str, str],
               rows: np.ndarray, *, delimiter: str | None = None, xlsx: bool = False,
               quote: str | None = None, decimal: str | None = None) -> tuple[pd.DataFrame, int]:
    """Type a table of text cells (file header -> field in ``columns``), numbers with
    ``decimal`` (default: the mark the cells show, see ``detect_decimal``).

    Returns the rows in the store's columns (plus ``row``) and the number of
    cells that said there is no value (ECB ``N/A``). Raises ``ReadError`` at the
    first bad cell, naming file, row, column and value.
    """
    rows = np.asarray(rows)
    if kind == "ecb":
        return _type_wide(name, raw, columns, rows, delimiter, xlsx, decimal)
    by_field = {f: h for h, f in columns.items()}
    numbers = [raw[h] for h in _number_headers(kind, columns)]
    decimal = decimal or detect_decimal(numbers, delimiter) or "."
    out: dict[str, object] = {"row": rows}
    for fld, header in by_field.items():
        column = raw[header]
        text = clean_text(column)
        if fld in _DATES:
            values, invalid = _dates(column, xlsx)
            _fail(name, invalid, rows, header, text, "is not a date (YYYY-MM-DD, DD/MM/YYYY)")
            out[fld] = values.astype("datetime64[D]").astype(object)  # date objects, NaT None
        elif fld in _NUMBERS:
            values, invalid = parse_numbers(column, decimal)
            _fail(name, invalid, rows, header, text, "is not a number")
            if fld == "rate":
                _fail(name, values <= 0, rows, header, text, "is not a positive rate")
            if fld == "price":
                _fail(name, values < 0, rows, header, text, "is a negative price")
            out[fld] = values
        elif fld in _CODES:
            codes = text.str.upper()
            _fail(name, check_currencies(codes) & codes.notna().to_numpy(bool), rows, header,
                  text, "is not an ISO 4217 currency code")
            out[fld] = codes.astype(object).where(codes.notna(), None).to_numpy()
        else:
            out[fld] = text.astype(object).where(text.notna(), None).to_numpy()
    frame = pd.DataFrame(out)
    if kind == "fx_rates":
        frame = _rate_pairs(name, frame, by_field, quote)
    for fld in KINDS[kind]["required"] + (("base", "quote") if kind == "fx_rates" else ()):
        if fld in frame:
            header = by_field.get(fld) or by_field.get("currency") or fld
            _fail(name, frame[fld].isna().to_numpy(bool), rows, header,
                  raw[header] if header in raw else frame[fld], "has no value")
    if "identifier" in frame:
        frame["identifier"] = frame["identifier"].str.upper()
    return frame, 0


def _rate_pairs(name: str, frame: pd.DataFrame, by_field: dict[str, str],
                quote: str | None) -> pd.DataFrame:
    """Base and quote of each rate: from their columns, or one currency column
    (the currency priced) and the caller's ``quote`` currency."""
    if "base" not in frame:
        frame = frame.rename(columns={"currency": "base"})
    elif "currency" in frame:
        frame = frame.drop(columns="currency")
    if "quote" not in frame:
        if not quote:
            raise MappingError(
                f"{name}: a rates table with one currency column ({by_field.get('currency')!r}) "
                f"does not say what the rates are in; give the quote currency (--quote XOF "
                f"or quote='XOF' for BCEAO rates, XAF for BEAC) or add a Quote column",
                file=name, found=list(by_field.values()), missing=["quote"])
        code = str(quote).strip().upper()
        if code not in ISO_4217:
            raise MappingError(f"quote currency {quote!r} is not an ISO 4217 code",
                               file=name, found=[], missing=["quote"], value=str(quote))
        frame["quote"] = code
    same = (frame["base"] == frame["quote"]).to_numpy(bool)
    if same.any():
        i = int(np.flatnonzero(same)[0])
        raise ReadError(f"{name}, row {frame['row'].iloc[i]}: a rate of {frame['base'].iloc[i]} "
                        f"in itself", file=name, row=int(frame["row"].iloc[i]),
                        column=by_field.get("base") or by_field.get("currency"),
                        value=frame["base"].iloc[i])
    return frame


def _type_wide(name: str, raw: pd.DataFrame, columns: dict[str, str], rows: np.ndarray,
               delimiter: str | None, xlsx: bool, decimal: str | None
               ) -> tuple[pd.DataFrame, int]:
    """The ECB layout, one rate per (date, currency) cell, to long rows of base EUR."""
    date_header = next(h for h, f in columns.items() if f == "date")
    codes = _number_headers("ecb", columns)
    for header in codes:
        code = header.strip()
        if code not in ISO_4217 and code not in ECB_LEGACY:
            raise ReadError(f"{name}, column {header!r}: {code!r} is not an ISO 4217 currency "
                            f"code", file=name, row=None, column=header, value=code)
    days, invalid = _dates(raw[date_header], xlsx)
    text = clean_text(raw[date_header])
    _fail(name, invalid | np.isnat(days), rows, date_header, text,
          "is not a date (YYYY-MM-DD or 31 January 2024)")
    decimal = decimal or detect_decimal([raw[h] for h in codes], delimiter) or "."
    parts, blank = [], 0
    for header in codes:
        cells = clean_text(raw[header])
        values, bad = parse_numbers(raw[header], decimal)
        _fail(name, bad, rows, header, cells, "is not a number")
        _fail(name, values <= 0, rows, header, cells, "is not a positive rate")
        have = ~np.isnan(values)
        blank += int((~have).sum())
        if have.any():
            parts.append(pd.DataFrame({"row": rows[have], "date": days[have], "base": "EUR",
                                       "quote": header.strip(), "rate": values[have]}))
    if not parts:
        return pd.DataFrame(columns=["row", "date", "base", "quote", "rate"]), blank
    frame = pd.concat(parts, ignore_index=True)
    frame["date"] = frame["date"].to_numpy(dtype="datetime64[D]").astype(object)
    return frame, blank


def _number_headers(kind: str, columns: dict[str, str]) -> list[str]:
    """The file's columns of numbers (an ECB file's: one per currency)."""
    return [h for h, f in columns.items() if (f != "date" if kind == "ecb" else f in _NUMBERS)]


def _guessed_decimal(name: str, cells: pd.DataFrame, headers: list[str], rows: np.ndarray,
                     delimiter: str | None, decimal: str) -> list[dict]:
    """An ``ambiguous_decimal`` warning per number column whose cells read either way
    (``655.957``), read with ``decimal``, the delimiter's convention (no cell decided)."""
    found = []
    for header in headers:
        text = clean_text(cells[header])
        either = either_mark(text)
        if not either.any():
            continue
        at = int(np.flatnonzero(either)[0])
        found.append({
            "code": "ambiguous_decimal", "severity": "warning", "file": name,
            "row": int(rows[at]), "column": header, "value": text.iloc[at],
            "message": ambiguous_decimal_message(
                name, int(rows[at]), header, text.iloc[at], int(either.sum()), decimal,
                delimiter, "decimal='{mark}' (folio reference --decimal '{mark}')")})
    return found


def _duplicates(name: str, frame: pd.DataFrame, kind: str) -> None:
    keys = list(KEYS[TABLES[kind]])
    dup = frame.duplicated(keys, keep=False).to_numpy(bool)
    if dup.any():
        first = frame[dup].sort_values("row").iloc[:2]
        rows = [int(r) for r in first["row"]]
        key = ", ".join(str(first[k].iloc[0]) for k in keys)
        raise ReadError(f"{name}, rows {rows[0]} and {rows[1]}: the same {kind} key ({key}) "
                        f"twice", file=name, row=rows[1], column=keys[-1], value=key)


def read_reference(path: str | Path, *, quote: str | None = None,
                   sheet: str | None = None, display_name: str | None = None,
                   decimal: str | None = None) -> ReferenceTable:
    """Read one reference file (CSV or XLSX) and decide its kind from its columns.

    Parameters
    ----------
    path
        The file.
    quote
        For a rates table with one currency column (``Devise;Date;Cours``):
        the currency the rates are in (``XOF`` for the BCEAO, ``XAF`` for the BEAC).
    sheet
        XLSX sheet; default the first with a recognisable header.
    display_name
        The name errors and reports give the file (default its name).
    decimal
        The numbers' decimal mark, ``","`` or ``"."``; default the one the cells
        show, or where none does (every rate a ``655.957``) the delimiter's
        convention, with an ``ambiguous_decimal`` warning in ``warnings``.

    Raises
    ------
    ReadError
        An unreadable file, or a bad cell (naming row, column and value).
    MappingError
        Columns that fit no kind of reference data, or two alike.
    """
    known = list(LOOKUP)
    table = read_table(path, sheet=sheet, known=known, display_name=display_name)
    name = table.file
    if table.ragged:  # the reader set aside a line of another width: never drop it silently
        row, cells, text = table.ragged[0]
        raise ReadError(f"{name}, row {row}: {cells} cells where the header (row "
                        f"{table.header_row}) has {len(table.header)}: {text[:120]!r}",
                        file=name, row=int(row), value=text[:200])
    # Empty lines (and ";;;" ones a spreadsheet leaves) hold nothing to load.
    empty = np.logical_and.reduce([clean_text(table.frame[h]).isna().to_numpy(bool)
                                   for h in table.header])
    cells, rows = table.frame[~empty].reset_index(drop=True), table.rows[~empty]
    if cells.empty:
        raise ReadError(f"{name}: the header (row {table.header_row}) has no rows under it",
                        file=name, row=table.header_row)
    kind, columns = decide_kind(name, table.header, cells)
    warnings: list[dict] = []
    if decimal is None:  # decided here once: type_cells reads with it, a tie is warned
        headers = _number_headers(kind, columns)
        decimal, tied = decimal_decision([cells[h] for h in headers], table.delimiter)
        if tied:  # (a workbook's number cells never read either way: the reader sees to it)
            warnings = _guessed_decimal(name, cells, headers, rows, table.delimiter, decimal)
    frame, blank = type_cells(name, kind, cells, columns, rows, delimiter=table.delimiter,
                              xlsx=table.kind == "xlsx", quote=quote, decimal=decimal)
    _duplicates(name, frame, kind)
    used = set(columns)
    ignored = [h for h in table.header if h not in used and filled(cells[h])]
    return ReferenceTable(name, kind, frame, columns, ignored, blank, warnings)


def read_references(path: str | Path, *, quote: str | None = None,
                    decimal: str | None = None) -> list[ReferenceTable]:
    """Read a reference file, or each CSV of a zip archive (the ECB's
    ``eurofxref-hist.zip`` as downloaded). Same arguments and errors as
    ``read_reference``; a member is named ``archive.zip/member.csv``."""
    path = Path(path)
    if not _plain_zip(path):
        return [read_reference(path, quote=quote, decimal=decimal)]
    tables = []
    with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
        members = [m for m in archive.infolist()
                   if not m.is_dir() and m.filename.lower().endswith((".csv", ".xlsx"))]
        if not members:
            raise ReadError(f"{path.name}: a zip archive without a CSV or XLSX file",
                            file=path.name)
        for member in members:
            label = f"{path.name}/{Path(member.filename).name}"
            if member.file_size > ZIP_MEMBER_LIMIT:
                raise ReadError(f"{label}: {member.file_size:,} bytes expanded, over the "
                                f"{ZIP_MEMBER_LIMIT:,} a reference file may have",
                                file=label, value=str(member.file_size))
            target = Path(folder) / Path(member.filename).name
            with archive.open(member) as source:
                data = source.read(ZIP_MEMBER_LIMIT + 1)  # the declared size may lie
            if len(data) > ZIP_MEMBER_LIMIT:
                raise ReadError(f"{label}: expands past {ZIP_MEMBER_LIMIT:,} bytes",
                                file=label)
            target.write_bytes(data)
            tables.append(read_reference(target, quote=quote, display_name=label,
                                         decimal=decimal))
    return tables


def _plain_zip(path: Path) -> bool:
    """A zip archive that is not itself a workbook (an XLSX is a zip too)."""
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "[Content_Types].xml" not in archive.namelist()
    except zipfile.BadZipFile:
        return False
