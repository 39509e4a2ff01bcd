"""Sniffing a text file: its encoding, line ends, delimiter and header line.

Owns what is decided from a file's head before any row is parsed: the encoding
(BOMs, UTF-16 without one, UTF-8, else Windows text; mixed encodings refused
naming the line), binary content, old Mac line ends, and which line of the first
``HEADER_SCAN_LINES`` is the header, with which delimiter: the line whose cells
folio knows by name, else (a custodian's own names below title lines) the one
that heads the table by its shape, the title lines above it then counted.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

import numpy as np

from folio.errors import ReadError
from folio.ingest.columns import score_header

HEADER_SCAN_LINES = 64
DELIMITERS = (";", ",", "\t", "|")
MIN_HEADER_SCORE = 2
# A holdings table has a dozen columns; thousands are a hostile or broken file,
# and every column costs the parser memory per row.
MAX_COLUMNS = 1000
# A number as exports write it: signs, brackets, a currency sign, spaces, marks,
# a percent; dates (30/06/2024) count too, as a data row's cells.
_NUMBER = re.compile(r"^[(+-]?(?:[$€£¥]\s?)?-?\d[\d\s.,'’/:-]*\)?\s?%?$")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _mac_line_ends(text: str | bytes) -> bool:
    """Whether lines end in CR alone (classic Mac OS), maybe with one final LF or CRLF
    (a tool that appended one): no LF before the end, and a CR."""
    cr, lf = ("\r", "\n") if isinstance(text, str) else (b"\r", b"\n")
    end = len(text)
    while end and text[end - 1:end] in (cr, lf):
        end -= 1
    # The first LF ends the search in any other file; no copy of a large text.
    return text.find(lf, 0, end) < 0 and cr in text


def _utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` if ``data`` looks like UTF-16 text without a BOM.

    Text that is mostly ASCII or Latin-1 (as holdings are: codes, numbers, dates)
    has a NUL high byte in every other byte, and almost no NUL in the others;
    binary content has NULs anywhere, or none in that pattern. Text of mostly
    other scripts (Cyrillic, CJK, Arabic names) has few NULs, but its line breaks
    and delimiters are ASCII, so those few still fall on one side only: then the
    bytes must also decode as that UTF-16, into printable lines.
    """
    sample = np.frombuffer(data, dtype=np.uint8, count=min(len(data), 65536) & ~1)
    if len(sample) == 0:
        return None
    even, odd = sample[0::2] == 0, sample[1::2] == 0
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.mean() >= 0.5 and other.mean() <= 0.01:
            return encoding
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        # A line break and a delimiter a line at least; the other side next to none.
        if zeros.sum() >= 4 and other.sum() * 20 <= zeros.sum():
            text = _strict(data, encoding)
            if text is not None and "\n" in text[:32768] and not _looks_binary(text):
                return encoding
    return None


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif b"\x00" in data[:65536]:
        encoding = _utf16_without_bom(data)
        text = _strict(data, encoding) if encoding else None
        if text is None or _looks_binary(text):
            raise ReadError(f"{name}: binary content (NUL bytes), not a text CSV file",
                            file=name)
        return text, encoding
    else:
        encoding = "utf-8"
    if encoding == "utf-8-sig" and b"\x00" in data[:65536]:
        raise ReadError(f"{name}: binary content (NUL bytes), not a text CSV file", file=name)
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise ReadError(f"{name}: not valid {encoding} text at byte {exc.start}",
                            file=name, value=data[exc.start:exc.start + 8].hex()) from None
        bad_at = exc.start
    if _UTF8_MULTIBYTE.search(data):
        raise _mixed_encodings(name, data, bad_at)
    text, encoding = _windows_text(data)
    if _looks_binary(text):
        raise ReadError(f"{name}: binary content, not a text CSV file", file=name)
    return text, encoding


def _mixed_encodings(name: str, data: bytes, at: int, first_line: int = 1) -> ReadError:
    """The error for text that is UTF-8 in places but not at byte ``at`` of ``data``.

    Files pasted together from two systems: any single decoding would garble
    part of the names. ``first_line`` is the line ``data`` starts on.
    """
    line = first_line + data.count(b"\n", 0, at)
    return ReadError(
        f"{name}: mixed encodings: the file is UTF-8 in places but line {line} is not "
        f"(bytes {data[at:at + 4].hex(' ')}); save the whole file as UTF-8",
        file=name, row=line, value=_line_at(data, at))


def _windows_text(data: bytes, encoding: str = "cp1252") -> tuple[str, str]:
    """Text that is not UTF-8, and its encoding: Windows exports are cp1252;
    latin-1 is the last resort that maps every byte (cp1252 leaves five undefined)."""
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _looks_binary(text: str) -> bool:
    """Whether over 5% of the first 64 K characters are neither printable nor line breaks."""
    sample = text[:65536]
    return sum(not (c.isprintable() or c in "\r\n\t") for c in sample) > 0.05 * len(sample)


def _line_at(data: bytes, offset: int) -> str:
    """The line holding byte ``offset``, as text with bad bytes replaced (for messages)."""
    start = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    line = data[start:end if end >= 0 else len(data)][:200]
    return line.decode("utf-8", errors="replace").rstrip("\r")


def _split_cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return line.split(delimiter)


def _find_header(lines: list[str], known: Iterable[str]) -> tuple[int, str, list[str]]:
    best: tuple[int, int, str, list[str]] | None = None
    for index, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        for delimiter in DELIMITERS:
            if delimiter not in line:
                continue
            cells = _split_cells(line, delimiter)
            score = score_header(cells, known)
            if score >= MIN_HEADER_SCORE and (best is None or score > best[0]):
                best = (score, index, delimiter, cells)
    if best is None:
        raise ReadError("", file=None)
    return best[1], best[2], best[3]


def _plain_table_header(lines: list[str]) -> tuple[int, str, list[str]] | None:
    """The first non-empty line, if it and the next one split alike into 2+ cells."""
    filled = [(i, line.rstrip("\r")) for i, line in enumerate(lines) if line.strip()]
    if len(filled) < 2:
        return None
    (index, first), (_, second) = filled[0], filled[1]
    for delimiter in DELIMITERS:
        cells = _split_cells(first, delimiter)
        if len(cells) >= 2 and len(cells) == len(_split_cells(second, delimiter)):
            return index, delimiter, cells
    return None


def _is_number(cell: str) -> bool:
    return _NUMBER.match(cell.strip()) is not None


def _header_like(cells: list[str]) -> bool:
    """At least two filled cells, more of them words than numbers (a header's names)."""
    filled = [c for c in cells if c.strip()]
    numbers = sum(_is_number(c) for c in filled)
    return len(filled) >= 2 and len(filled) - numbers > numbers


def shape_header(rows: list[tuple[int, list[str]]], exact: bool = True) -> tuple[int, int] | None:
    """``(width, index)`` of the row of ``rows`` (index, cells) that heads the widest table.

    A row heads a table if it has 2+ filled, mostly non-numeric cells and its
    width is that of every row below it down to one that carries a number (a
    first data row of names only is part of that run). Title lines of two
    cells ("Client;X" over "Date;30/06/2024") head a table of two columns:
    the widest table wins; of rows as wide, the one with the most filled cells
    (a spreadsheet pads "Client :;X;;;;" to the table's width, a header fills
    it), the first of those. ``exact``: the rows below
    must be as wide (CSV lines split on one delimiter); else no wider (a
    sheet's rows, whose last cells may be empty).
    """
    best: tuple[int, int, int] | None = None  # width, filled cells, index
    for at, (index, cells) in enumerate(rows):
        width, filled = len(cells), sum(1 for c in cells if c.strip())
        if width < 2 or (best is not None and (width, filled) <= best[:2]) \
                or not _header_like(cells):
            continue
        for _, below in rows[at + 1:]:
            if len(below) > width or (exact and len(below) != width):
                break
            if any(_is_number(c) for c in below):
                best = (width, filled, index)
                break
    return None if best is None else (best[0], best[2])


def _structural_header(lines: list[str]) -> tuple[int, str, list[str]] | None:
    """An unknown header below title lines, found by the shape of the table under it.

    Title lines ("Client : X", "Date : 30/06/2024") are one or two cells, so
    their count is not the table's (see ``shape_header``); of the delimiters,
    the one that splits out the widest table wins, the first if two tie.
    """
    filled = [(i, line.rstrip("\r")) for i, line in enumerate(lines) if line.strip()]
    best: tuple[int, int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        split = [(i, _split_cells(line, delimiter)) for i, line in filled if delimiter in line]
        found = shape_header(split)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], found[1], delimiter, dict(split)[found[1]])
    return None if best is None else (best[1], best[2], best[3])


def _check_width(cells: list, name: str, row: int) -> None:
    if len(cells) > MAX_COLUMNS:
        raise ReadError(f"{name}: the header (row {row}) has {len(cells):,} columns, over the "
                        f"limit of {MAX_COLUMNS:,}; is this a holdings table?",
                        file=name, row=row, value=f"{len(cells)} columns")


def _header(head_lines: list[str], name: str,
            known: Iterable[str]) -> tuple[int, str, list[str], list[int]]:
    """``(header index, delimiter, cells, title lines)`` of a file's head (title
    lines: see ``title_lines``)."""
    try:
        header_index, delimiter, cells = _find_header(head_lines, known)
    except ReadError:
        # A table whose header folio does not recognise: read it anyway, so the
        # mapping step can say which columns it found and which it lacks. Its
        # header is found by the shape of the table below it (title lines above
        # skipped), else it is the first line, as for a table of text alone.
        found = _structural_header(head_lines) or _plain_table_header(head_lines)
        header_index, delimiter, cells = found if found is not None else (-1, "", [])
    if header_index < 0:
        first = next((line.strip() for line in head_lines if line.strip()), "")
        raise ReadError(
            f"{name}: no header row found in the first {HEADER_SCAN_LINES} lines; expected "
            f"columns such as ISIN, Quantity, Currency (or Code ISIN, Quantité, Devise); "
            f"first line: {first[:120]!r}", file=name, row=1, value=first[:200],
        ) from None
    return header_index, delimiter, cells, title_lines(head_lines, header_index, cells)


def title_lines(lines: list[str], header_index: int, cells: list[str]) -> list[tuple[int, str]]:
    """``(line, text)`` of the filled lines above a header folio does not know by name.

    Above an unknown header (a custodian's own names, found by the table's
    shape or by a mapping's columns) those lines are the statement's title
    lines, counted as the row role ``title``. Above a header folio knows,
    they are left as they were (a preset reads its own title lines).
    """
    if header_index <= 0 or header_index > HEADER_SCAN_LINES or \
            score_header(cells) >= MIN_HEADER_SCORE:
        return []
    # A line of delimiters alone (";;;") is blank, as an editor shows it.
    return [(i + 1, lines[i].rstrip("\r").strip()) for i in range(header_index)
            if re.search(r"\w", lines[i])]
