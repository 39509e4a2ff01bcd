"""XLSX workbooks: guarded against zip bombs, read with calamine, cells as text.

Owns the checks made before anything is expanded (a valid zip, a workbook, the
expanded size and each part's ratio), the sheet choice (the named one, else the
first with a recognisable or a preset's header, else the first whose table is
found by its shape below title rows), and a cell's text (dates ISO,
whole floats without ".0", a number never in the shape of a thousands dot).
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd

from folio.errors import FileTooLarge, ReadError
from folio.ingest.columns import score_header
from folio.ingest.presets import Preset
from folio.ingest.readers.sections import preset_header_row
from folio.ingest.readers.sniff import (
    HEADER_SCAN_LINES,
    MIN_HEADER_SCORE,
    _check_width,
    shape_header,
    title_lines,
)
from folio.ingest.readers.table import RawTable, unique_names

# An XLSX is a zip: refuse one whose parts expand beyond this many times the limit
# before anything is decompressed (a zip bomb expands a few KB into gigabytes).
XLSX_EXPANSION_FACTOR = 4
# Worksheets compress 5 to 20 times; a part that expands over 100 times and to
# more than 16 MB is a bomb, whatever the size limit.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR = 16 * 2**20


def _xlsx_guard(path: Path, name: str, max_bytes: int | None) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except zipfile.BadZipFile:
        raise ReadError(f"{name}: a damaged or truncated XLSX (not a valid zip archive)",
                        file=name) from None
    expanded = sum(info.file_size for info in parts)
    if "[Content_Types].xml" not in {info.filename for info in parts}:
        raise ReadError(f"{name}: a zip archive, not an XLSX workbook", file=name)
    if max_bytes is not None and expanded > XLSX_EXPANSION_FACTOR * max_bytes:
        raise FileTooLarge(
            f"{name}: the workbook expands to {expanded / 2**20:.0f} MB, over "
            f"{XLSX_EXPANSION_FACTOR} x the limit; refused before expanding it",
            file=name, size=expanded, limit=max_bytes,
        )
    for info in parts:
        packed = max(info.compress_size, 1)
        if info.file_size > XLSX_RATIO_FLOOR and info.file_size > XLSX_MAX_RATIO * packed:
            ratio = info.file_size // packed
            raise FileTooLarge(
                f"{name}: part {info.filename!r} expands {ratio:,} times (to "
                f"{info.file_size / 2**20:,.0f} MB): a zip bomb, refused before expanding it",
                file=name, size=info.file_size, limit=max_bytes, value=info.filename)


_THOUSANDS_SHAPED = re.compile(r"-?\d{1,3}\.\d{3}")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        # A number cell has no decimal mark to guess, but its text may look like
        # a thousands dot ("655.957", "10.125"), and a workbook whose text cells
        # use decimal commas would then read it as 655957. A fourth decimal
        # ("655.9570") is the same number and reads only one way.
        return text + "0" if _THOUSANDS_SHAPED.fullmatch(text) else text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _trimmed(row: list[str]) -> list[str]:
    """A sheet row's cells without its trailing empty ones (rows are as wide as the sheet)."""
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _read_xlsx(path: Path, name: str, sheet: str | None, max_bytes: int | None,
               known: Iterable[str] = (), presets: Sequence[Preset] = ()) -> RawTable:
    from python_calamine import CalamineWorkbook

    _xlsx_guard(path, name, max_bytes)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        raise ReadError(f"{name}: cannot open the workbook: {exc}", file=name) from None
    names = list(workbook.sheet_names)
    if sheet is not None and sheet not in names:
        raise ReadError(f"{name}: no sheet named {sheet!r}; sheets: {', '.join(names)}",
                        file=name, value=sheet)
    tried: list[str] = []
    # A sheet whose header folio knows by name wins over an earlier one whose
    # table is found only by its shape (a summary sheet before the holdings).
    shaped: tuple | None = None  # (sheet, rows, texts, header index)
    for candidate in [sheet] if sheet else names:
        try:
            rows = workbook.get_sheet_by_name(candidate).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ReadError(f"{name}: cannot read sheet {candidate!r}: {exc}", file=name) from None
        texts = [[_cell_text(c) for c in row] for row in rows[:HEADER_SCAN_LINES]]
        at = _header_index(texts, known, presets)
        if at is not None:
            table = _sheet_table(rows, texts, at, name, candidate)
            if sheet is None:  # chosen, not named: say what else the workbook holds
                later = names[names.index(candidate) + 1:]
                table.other_sheets = _holdings_sheets(workbook, later, known, presets)
            return table
        tried.append(candidate)
        if shaped is None:
            # A header folio does not know by name: found by the table's shape
            # below the sheet's title rows, which are then counted as titles.
            found = shape_header([(i, _trimmed(row)) for i, row in enumerate(texts) if any(row)],
                                 exact=False)
            shaped = (candidate, rows, texts, found[1]) if found is not None else None
    if shaped is not None:
        candidate, rows, texts, index = shaped
        return _sheet_table(rows, texts, index, name, candidate)
    raise ReadError(
        f"{name}: no sheet has a recognisable header (columns such as ISIN, Quantity, "
        f"Currency) in its first {HEADER_SCAN_LINES} rows; sheets tried: {', '.join(tried)}",
        file=name, value=", ".join(tried),
    )


def _header_index(texts: list[list[str]], known: Iterable[str],
                  presets: Sequence[Preset]) -> int | None:
    """The row (0-based) of a sheet's first rows that is a header folio knows: a
    preset's, else the one naming the most fields; None if none is."""
    at = preset_header_row(texts, presets)
    if at is not None:
        return at
    best: tuple[int, int] | None = None
    for index, row in enumerate(texts):
        score = score_header(row, known)
        if score >= MIN_HEADER_SCORE and (best is None or score > best[0]):
            best = (score, index)
    return best[1] if best is not None else None


def _holdings_sheets(workbook, names: list[str], known: Iterable[str],
                     presets: Sequence[Preset]) -> tuple[str, ...]:
    """Of ``names``, the sheets with a header folio knows in their first rows: a
    workbook split by asset class or by fund holds positions in more than one."""
    found = []
    for candidate in names:
        try:
            head = list(itertools.islice(workbook.get_sheet_by_name(candidate).iter_rows(),
                                         HEADER_SCAN_LINES))
        except Exception:  # noqa: BLE001 - an unreadable sheet is not a holdings sheet
            continue
        if _header_index([[_cell_text(c) for c in row] for row in head], known,
                         presets) is not None:
            found.append(candidate)
    return tuple(found)


def _sheet_table(rows: list, texts: list[list[str]], index: int, name: str,
                 candidate: str) -> RawTable:
    """The table of sheet ``candidate`` whose header is row ``index`` (0-based)."""
    _check_width(rows[index], name, index + 1)
    header = unique_names([_cell_text(c) for c in rows[index]])
    while header and header[-1].startswith("column ") and all(
        _cell_text(r[len(header) - 1]) == "" for r in rows[index + 1:] if len(r) >= len(header)
    ):
        header.pop()  # trailing unnamed, empty columns
    data = rows[index + 1:]
    if not data:
        raise ReadError(f"{name}: sheet {candidate!r} has a header (row {index + 1}) but no "
                        f"data rows", file=name, row=index + 1)
    width = len(header)
    frame = pd.DataFrame(
        [[_cell_text(c) for c in r[:width]] + [""] * (width - len(r)) for r in data],
        columns=header, dtype=pd.StringDtype("pyarrow"),
    )
    return RawTable(
        file=name, kind="xlsx", header=header, header_row=index + 1, frame=frame,
        rows=np.arange(index + 2, index + 2 + len(data), dtype=np.int64), sheet=candidate,
        preamble=[" ".join(c for c in row if c).strip() for row in texts[:index]],
        titles=title_lines([" ".join(c for c in row if c) for row in texts], index, header),
    )
