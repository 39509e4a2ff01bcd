"""Delimited text: parse a CSV body (a whole file's or a block's) into a ``RawTable``.

Owns the parse itself (pyarrow, every cell text), the numbering of records by
file line (quoted newlines count as an editor counts them), the lines whose
cell count differs from the header's (set aside in ``ragged``), the fast path
that parses UTF-8 bytes in place, and the general path that decodes first.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from folio.errors import ReadError
from folio.ingest.readers.sniff import (
    _UTF8_MULTIBYTE,
    HEADER_SCAN_LINES,
    _check_width,
    _decode,
    _header,
    _looks_binary,
    _mac_line_ends,
    _split_cells,
    _windows_text,
)
from folio.ingest.readers.table import RawTable, _record_starts, unique_names

HEAD_BYTES = 1 << 20


def _read_decoded(data: bytes, name: str, known: Iterable[str] = ()) -> RawTable:
    """The general path: the whole file decoded (any encoding, any line ends), then parsed."""
    text, encoding = _decode(data, name)
    if _mac_line_ends(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    head_lines = text.split("\n", HEADER_SCAN_LINES)[:HEADER_SCAN_LINES]
    header_index, delimiter, cells, titles = _header(head_lines, name, known)
    parts = text.split("\n", header_index + 1)
    body_text = parts[header_index + 1] if len(parts) > header_index + 1 else ""
    table = _parse_body(body_text.encode("utf-8"), name, encoding, header_index, delimiter, cells)
    table.titles = titles
    return table


def _read_utf8_in_place(data: bytes, name: str, known: Iterable[str]) -> RawTable | None:
    """UTF-8 files parsed from the bytes as they are, without decoding the whole file.

    Decoding, splitting and re-encoding a large file cost three copies of it;
    here only the head is decoded (to find the header) and pyarrow validates the
    rest as it parses. None means "take the general path" (another encoding,
    old Mac line endings, or bytes that turn out not to be UTF-8).
    """
    found = _utf8_header(data, name, known)
    if found is None:
        return None
    offset, header_index, delimiter, cells, encoding, titles = found
    try:
        table = _parse_body(memoryview(data)[offset:], name, encoding, header_index, delimiter,
                            cells, quoted=data.find(b'"', offset) >= 0)
    except _NotUtf8:
        return None
    table.titles = titles
    return table


def _utf8_header(data: bytes, name: str, known: Iterable[str], *, legacy: bool = False):
    """``(body offset, header index, delimiter, cells, encoding, title lines)`` of a
    UTF-8 head, or None (title lines: see ``sniff._header``).

    ``legacy``: the head of a Windows text file (cp1252, else latin-1), one byte
    a character, so the offsets of the text are those of the bytes.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:65536]:
        return None
    head = data[3 if bom else 0:HEAD_BYTES]
    cut = head.rfind(b"\n")
    if cut < 0 or (b"\r" in head and (b"\r\n" not in head or _mac_line_ends(head))):
        return None
    encoding = "utf-8-sig" if bom else "utf-8"
    try:
        if not legacy:
            head_text = head[:cut].decode("utf-8")
        elif bom or _UTF8_MULTIBYTE.search(head):
            return None  # partly UTF-8: the general path says where it is not
        else:
            head_text, encoding = _windows_text(head[:cut])
            if _looks_binary(head_text):
                return None  # binary: the general path refuses it
    except UnicodeDecodeError:
        return None
    head_lines = head_text.split("\n", HEADER_SCAN_LINES)[:HEADER_SCAN_LINES]
    if len(head_lines) <= 1 and len(data) > cut + 1 + (3 if bom else 0):
        return None  # one enormous first line: let the general path judge it
    header_index, delimiter, cells, titles = _header(head_lines, name, known)
    offset = 3 if bom else 0
    for _ in range(header_index + 1):
        offset = data.index(b"\n", offset) + 1
    return offset, header_index, delimiter, cells, encoding, titles


class _NotUtf8(Exception):
    pass


def _has_content(body) -> bool:
    """Whether ``body`` holds anything but whitespace (looking at the start first)."""
    return bool(bytes(body[:4096]).strip()) or bool(bytes(body).strip())


def _parse_body(body, name: str, encoding: str, header_index: int, delimiter: str,
                cells: list[str], *, first_line: int | None = None, require_rows: bool = True,
                quoted: bool | None = None) -> RawTable:
    """Parse records (a whole body, or a block of one) whose first is on ``first_line``.

    ``quoted``: whether the body holds a double quote, if the caller knows
    (searching a memoryview would copy it).
    """
    _check_width(cells, name, header_index + 1)
    header = unique_names(cells)
    first_line = first_line or header_index + 2  # 1-based line of the first data record
    if require_rows and not _has_content(body):
        raise ReadError(f"{name}: the file has a header (line {header_index + 1}) but no data "
                        f"rows", file=name, row=header_index + 1)
    ragged: list[tuple[str, int]] = []

    def on_invalid(row) -> str:
        ragged.append((row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=header, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False, newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if isinstance(body, memoryview) and "UTF8" in str(exc).replace("-", "").upper():
            raise _NotUtf8() from None
        raise ReadError(f"{name}: cannot parse as {delimiter!r}-delimited text: {exc}",
                        file=name) from None
    frame = table.to_pandas(types_mapper=lambda t: pd.StringDtype("pyarrow") if t == pa.string() else None)
    bad_rows: list[tuple[int, int, str]] = []
    if quoted is None:
        quoted = b'"' in bytes(body)
    if not ragged and not quoted:
        # Every line is a record and every record a row: numbering needs no scan.
        rows = np.arange(first_line, first_line + len(frame), dtype=np.int64)
    else:
        starts, lines = _record_starts(body)
        lines = lines + first_line - 1
        if ragged:
            keep, bad_rows = _locate_ragged(body, starts, lines, delimiter, len(header), ragged)
            rows = lines[keep]
        else:
            rows = lines
    if len(rows) != len(frame):
        # Should not happen; never guess a row number silently.
        raise ReadError(f"{name}: could not number the rows ({len(rows)} records, "
                        f"{len(frame)} parsed)", file=name)
    return RawTable(
        file=name, kind="csv", header=header, header_row=header_index + 1, frame=frame,
        rows=np.asarray(rows, dtype=np.int64), encoding=encoding, delimiter=delimiter,
        ragged=bad_rows,
    )


def _locate_ragged(body: bytes, starts: np.ndarray, lines: np.ndarray, delimiter: str,
                   ncols: int, ragged: list[tuple[str, int]]) -> tuple[np.ndarray, list]:
    """Which records the parser skipped for having the wrong number of cells."""
    keep = np.ones(len(starts), dtype=bool)
    bad: list[tuple[int, int, str]] = []
    ends = np.append(starts[1:] - 1, len(body))
    expected = iter(ragged)
    wanted = next(expected, None)
    for index in range(len(starts)):
        if wanted is None:
            break
        record = bytes(body[starts[index]:ends[index]]).rstrip(b"\r\n").decode("utf-8")
        if not record:
            continue  # empty lines are kept as empty rows by the parser
        cells = len(_split_cells(record, delimiter))
        if cells != ncols and record.strip("\r") == wanted[0].strip("\r"):
            keep[index] = False
            bad.append((int(lines[index]), wanted[1], wanted[0]))
            wanted = next(expected, None)
    return keep, bad
