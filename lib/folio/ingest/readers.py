"""Readers: turn a CSV or XLSX file into a table of text cells with file row numbers.

Owns file sniffing (format by content, encoding, delimiter), header detection
below preamble lines, sheet choice, and the row number a user sees for every
record (the editor's line number for CSV, the spreadsheet row for XLSX). Cells
stay text here; typing them is ``parse``'s job, so CSV and XLSX share one path.
"""

from __future__ import annotations

import csv
import io
import queue
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from folio.errors import FileTooLarge, ReadError
from folio.ingest.columns import score_header
from folio.ingest.presets import Preset
from folio.ingest.sections import preset_header_row, read_preset_csv

HEADER_SCAN_LINES = 64
DELIMITERS = (";", ",", "\t", "|")
MIN_HEADER_SCORE = 2
# An XLSX is a zip: refuse one whose parts expand beyond this many times the limit
# before anything is decompressed (a zip bomb expands a few KB into gigabytes).
XLSX_EXPANSION_FACTOR = 4
# Worksheets compress 5 to 20 times; a part that expands over 100 times and to
# more than 16 MB is a bomb, whatever the size limit.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FLOOR = 16 * 2**20
# A holdings table has a dozen columns; thousands are a hostile or broken file,
# and every column costs the parser memory per row.
MAX_COLUMNS = 1000
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass(frozen=True)
class BlockSource:
    """Where one block of a streamed CSV lies in its file, to read records of it again.

    Checks that span blocks (an identical row far above) need a few earlier
    rows back after those blocks were let go; reading them again from the file
    costs less than keeping every row.
    """

    path: str
    offset: int
    length: int
    first_line: int
    encoding: str
    delimiter: str

    def cells(self, lines: Iterable[int]) -> dict[int, list[str]]:
        """The cells of the records that start on ``lines`` (those in this block)."""
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            part = fh.read(self.length)
        if self.encoding not in ("utf-8", "utf-8-sig"):
            part = part.decode(self.encoding).encode("utf-8")
        starts, numbers = _record_starts(part)
        numbers = numbers + self.first_line - 1
        ends = np.append(starts[1:], len(part))
        out: dict[int, list[str]] = {}
        for line in lines:
            at = int(np.searchsorted(numbers, line))
            if at < len(numbers) and numbers[at] == line:
                record = part[starts[at]:ends[at]].decode("utf-8")
                if record.endswith("\n"):
                    record = record[:-2] if record.endswith("\r\n") else record[:-1]
                out[int(line)] = next(csv.reader(io.StringIO(record, newline=""),
                                                 delimiter=self.delimiter), [])
        return out


@dataclass
class RawTable:
    """One file's data rows as text, with where each row stands in the file."""

    file: str
    kind: str  # "csv" or "xlsx"
    header: list[str]
    header_row: int
    frame: pd.DataFrame  # one str column per header cell, data rows only
    rows: np.ndarray  # file row number of each frame row
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    ragged: list[tuple[int, int, str]] = field(default_factory=list)  # (row, cells, text)
    # Where this block ends in the file (a share of its bytes) and whether it is
    # the last: a large CSV is read in blocks, a small file or a workbook in one.
    span: tuple[float, float] = (0.0, 1.0)
    last: bool = True
    source: BlockSource | None = None  # where a block of a streamed CSV lies in its file
    preamble: list[str] | None = None  # the lines above the header, if the reader kept them

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind, "encoding": self.encoding, "delimiter": self.delimiter,
            "sheet": self.sheet, "header_row": self.header_row,
        }


def read_table(path: str | Path, *, sheet: str | None = None, max_bytes: int | None = None,
               display_name: str | None = None, known: Iterable[str] = (),
               presets: Sequence[Preset] = ()) -> RawTable:
    """Read a holdings file into a ``RawTable``, choosing the reader by content.

    Parameters
    ----------
    path
        A CSV (any of ``, ; tab |``) or XLSX file.
    sheet
        XLSX sheet name; default the first sheet with a recognisable header.
    max_bytes
        Refuse larger files before reading them.
    display_name
        The name errors use for the file (default its name).
    known
        Column names of explicit or saved mappings, which help find the header.
    presets
        Formats whose header signature, where a line has it, is the header
        (anywhere in a small file for a preset that reads one section).

    Raises
    ------
    ReadError
        Missing, empty, binary or unreadable files, or no recognisable header.
    """
    path, name, head = _opened(path, display_name, max_bytes)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, name, sheet, max_bytes, known, presets)
    return _read_csv(path.read_bytes(), name, known, presets)


BLOCK_BYTES = 16 << 20  # about 150,000 rows: memory follows this, not the file


def read_blocks(path: str | Path, *, sheet: str | None = None, max_bytes: int | None = None,
                display_name: str | None = None, known: Iterable[str] = (),
                block_bytes: int | None = None,
                presets: Sequence[Preset] = ()) -> Iterator[RawTable]:
    """Read a holdings file as consecutive ``RawTable`` blocks, the last marked ``last``.

    A UTF-8 CSV larger than ``block_bytes`` (default ``BLOCK_BYTES``) is read a
    block of whole records at a time, so memory follows the block, not the file;
    row numbers run on across blocks. Anything else (a workbook, a small file, a
    file whose head is not UTF-8) comes as one block, exactly as ``read_table``
    reads it. Same arguments and errors as ``read_table``.

    A streamed CSV's blocks are read one ahead, on a thread: the parser releases
    the GIL, so the next block is parsed while the caller checks this one. Close
    the iterator (or let it end) to stop the thread and close the file.
    """
    block_bytes = block_bytes or BLOCK_BYTES
    path, name, head = _opened(path, display_name, max_bytes)
    if head.startswith(b"PK\x03\x04"):
        yield _read_xlsx(path, name, sheet, max_bytes, known, presets)
    elif path.stat().st_size <= block_bytes:
        yield _read_csv(path.read_bytes(), name, known, presets)
    else:
        yield from _read_ahead(_csv_blocks(path, name, known, block_bytes), name)


_END = object()


def _read_ahead(blocks: Iterator[RawTable], name: str) -> Iterator[RawTable]:
    """``blocks``, produced one ahead of the caller by a thread.

    At most one finished block waits (memory: the one being checked, the one
    waiting, the one being read). An error reading a block is raised where that
    block would have come, after the blocks before it.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for block in blocks:
                ready.put((block, None))
                if stop.is_set():
                    return
            ready.put((_END, None))
        except BaseException as exc:  # raised in the caller's thread, in order
            ready.put((None, exc))
        finally:
            blocks.close()  # the file, in the thread that used it

    reader = threading.Thread(target=produce, daemon=True, name=f"folio-read-{name}")
    reader.start()
    try:
        while True:
            block, error = ready.get()
            if error is not None:
                raise error
            if block is _END:
                return
            yield block
    finally:
        stop.set()
        while reader.is_alive():  # unblock a put that waits for room, then let it end
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()


def _opened(path: str | Path, display_name: str | None,
            max_bytes: int | None) -> tuple[Path, str, bytes]:
    """Checks every reader makes first: the path, the size, the kind of content."""
    path = Path(path)
    name = display_name or path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ReadError(f"{name}: no such file", file=name) from None
    except OSError as exc:
        raise ReadError(f"{name}: cannot open: {exc.strerror}", file=name) from None
    if path.is_dir():
        raise ReadError(f"{name}: is a folder, not a file", file=name)
    if max_bytes is not None and size > max_bytes:
        raise FileTooLarge(
            f"{name}: {size / 2**20:.1f} MB is over the limit of {max_bytes / 2**20:.0f} MB "
            f"(FOLIO_MAX_FILE_MB)", file=name, size=size, limit=max_bytes,
        )
    if size == 0:
        raise ReadError(f"{name}: the file is empty", file=name)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF"):
        raise ReadError(f"{name}: this is a PDF, not a CSV or XLSX file; export the "
                        f"holdings as CSV or XLSX", file=name)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError(f"{name}: this is an old binary Excel file (.xls); save it as "
                        f".xlsx or CSV", file=name)
    return path, name, head


# --------------------------------------------------------------------------- CSV


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
    binary content has NULs anywhere, or none in that pattern.
    """
    sample = np.frombuffer(data, dtype=np.uint8, count=min(len(data), 65536) & ~1)
    if len(sample) == 0:
        return None
    even, odd = sample[0::2] == 0, sample[1::2] == 0
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.mean() >= 0.5 and other.mean() <= 0.01:
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


def _check_width(cells: list, name: str, row: int) -> None:
    if len(cells) > MAX_COLUMNS:
        raise ReadError(f"{name}: the header (row {row}) has {len(cells):,} columns, over the "
                        f"limit of {MAX_COLUMNS:,}; is this a holdings table?",
                        file=name, row=row, value=f"{len(cells)} columns")


def unique_names(cells: list[str]) -> list[str]:
    """Header cells made unique and non-empty (``Date``, ``Date (2)``, ``column 5``)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=1):
        base = str(cell).strip() or f"column {position}"
        count = seen.get(base, 0) + 1
        seen[base] = count
        out.append(base if count == 1 else f"{base} ({count})")
    return out


def _record_starts(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start offset and 1-based line number of each record of ``data``.

    Newlines inside quoted cells do not end a record but do advance the line
    number, as an editor counts them.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    quotes = np.flatnonzero(buf == 34)
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0] if len(quotes) else newlines
    starts = np.concatenate(([0], ends + 1))
    if len(quotes):
        line_numbers = np.searchsorted(newlines, starts) + 1  # newlines before start, + 1
    else:  # no quotes, so every line is a record: its number is its position
        line_numbers = np.arange(1, len(starts) + 1)
    if starts[-1] >= len(data):  # nothing after the final newline
        starts, line_numbers = starts[:-1], line_numbers[:-1]
    return starts, line_numbers


HEAD_BYTES = 1 << 20


def _read_csv(data: bytes, name: str, known: Iterable[str] = (),
              presets: Sequence[Preset] = ()) -> RawTable:
    if presets:
        found = read_preset_csv(data, name, presets)
        if found is not None:
            return found
    fast = _read_utf8_in_place(data, name, known)
    if fast is not None:
        return fast
    text, encoding = _decode(data, name)
    if _mac_line_ends(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    head_lines = text.split("\n", HEADER_SCAN_LINES)[:HEADER_SCAN_LINES]
    header_index, delimiter, cells = _header(head_lines, name, known)
    parts = text.split("\n", header_index + 1)
    body_text = parts[header_index + 1] if len(parts) > header_index + 1 else ""
    return _parse_body(body_text.encode("utf-8"), name, encoding, header_index, delimiter, cells)


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
    offset, header_index, delimiter, cells, encoding = found
    try:
        return _parse_body(memoryview(data)[offset:], name, encoding, header_index, delimiter,
                           cells, quoted=data.find(b'"', offset) >= 0)
    except _NotUtf8:
        return None


def _utf8_header(data: bytes, name: str, known: Iterable[str], *, legacy: bool = False):
    """``(body offset, header index, delimiter, cells, encoding)`` of a UTF-8 head, or None.

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
    header_index, delimiter, cells = _header(head_lines, name, known)
    offset = 3 if bom else 0
    for _ in range(header_index + 1):
        offset = data.index(b"\n", offset) + 1
    return offset, header_index, delimiter, cells, encoding


def _csv_blocks(path: Path, name: str, known: Iterable[str],
                block_bytes: int) -> Iterator[RawTable]:
    """A large CSV as blocks of whole records (see ``read_blocks``)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        buf = fh.read(max(block_bytes, HEAD_BYTES))
        found = _utf8_header(buf, name, known) or _utf8_header(buf, name, known, legacy=True)
        if found is None:
            # UTF-16, old Mac line ends, a binary or partly UTF-8 head: the
            # general path, on the whole file.
            yield _read_csv(buf + fh.read(), name, known)
            return
        offset, header_index, delimiter, cells, encoding = found
        decoding = _BlockDecoding(name, encoding)
        first_line = header_index + 2
        done = offset
        buf = buf[offset:]

        def read_on(buf: bytes) -> tuple[bytes, bool]:
            """``buf`` and the next block of the file; whether the file has ended."""
            more = fh.read(block_bytes)
            return buf + more, not more or fh.tell() >= size  # a file cut short ends too

        eof = fh.tell() >= size
        first = True
        while True:
            if not eof and len(buf) <= block_bytes:  # keep a block ahead: is this the last?
                buf, eof = read_on(buf)
                continue
            cut, end = -1, block_bytes
            while cut <= 0 and end < len(buf):  # records longer than a block: a longer block
                cut, end = _last_record_end(buf, end), end * 2
            if cut <= 0:
                if not eof:
                    buf, eof = read_on(buf)
                    continue
                cut = len(buf)
            part, buf = buf[:cut], buf[cut:]
            if not eof and len(buf) <= block_bytes:
                buf, eof = read_on(buf)
            last = eof and not buf
            quoted = b'"' in part
            try:
                table = _parse_body(decoding.body(part), name, decoding.encoding, header_index,
                                    delimiter, cells, first_line=first_line, require_rows=first,
                                    quoted=quoted)
            except _NotUtf8:
                table = _parse_body(decoding.not_utf8(part, first_line), name, decoding.encoding,
                                    header_index, delimiter, cells, first_line=first_line,
                                    require_rows=first, quoted=quoted)
            table.source = BlockSource(str(path), done, len(part), first_line, decoding.encoding,
                                       delimiter)
            done += len(part)
            table.span = ((done - len(part)) / size, done / size)
            table.last = last
            yield table
            if last:
                return
            first_line += part.count(b"\n")
            first = False


class _BlockDecoding:
    """The encoding of a streamed CSV, settled block by block as ``_decode`` settles a file's.

    Blocks are UTF-8 until one is not: then, if no earlier block held a UTF-8
    multi-byte character, the file is Windows text (cp1252, else latin-1) and
    this block and the rest are transcoded; otherwise its encodings are mixed.
    """

    def __init__(self, name: str, encoding: str) -> None:
        self.name, self.encoding = name, encoding
        self.multibyte = self.seen_multibyte = False
        self.legacy: str | None = encoding if encoding in ("cp1252", "latin-1") else None
        self._first_line = 0

    def body(self, part: bytes):
        """The block as UTF-8 for the parser, which checks it as it goes."""
        if self.legacy is None:
            self.seen_multibyte, self.multibyte = self.multibyte, self.multibyte or not part.isascii()
            return memoryview(part)
        match = _UTF8_MULTIBYTE.search(part)
        if match:
            raise _mixed_encodings(self.name, part, match.start(), self._first_line)
        text, self.legacy = _windows_text(part, self.legacy)
        self.encoding = self.legacy
        return memoryview(text.encode("utf-8"))

    def not_utf8(self, part: bytes, first_line: int):
        """The block the parser found not UTF-8: mixed encodings, or the file is Windows text."""
        try:
            part.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.seen_multibyte or _UTF8_MULTIBYTE.search(part):
                raise _mixed_encodings(self.name, part, exc.start, first_line) from None
        self.legacy, self._first_line = "cp1252", first_line
        return self.body(part)


def _last_record_end(buf: bytes, end: int) -> int:
    """Offset just past the last newline outside quotes in ``buf[:end]``; -1 if none."""
    if buf.find(b'"', 0, end) < 0:
        return buf.rfind(b"\n", 0, end) + 1 or -1
    quotes = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8, count=min(end, len(buf))) == 34)
    while True:
        at = buf.rfind(b"\n", 0, end)
        if at < 0:
            return -1
        if np.searchsorted(quotes, at) % 2 == 0:  # an even number of quotes before it
            return at + 1
        end = at


class _NotUtf8(Exception):
    pass


def _header(head_lines: list[str], name: str, known: Iterable[str]) -> tuple[int, str, list[str]]:
    try:
        header_index, delimiter, cells = _find_header(head_lines, known)
    except ReadError:
        found = _plain_table_header(head_lines)
        if found is not None:
            # A table whose header folio does not recognise: read it anyway, so
            # the mapping step can say which columns it found and which it lacks.
            header_index, delimiter, cells = found
        else:
            header_index = -1
    if header_index < 0:
        first = next((line.strip() for line in head_lines if line.strip()), "")
        raise ReadError(
            f"{name}: no header row found in the first {HEADER_SCAN_LINES} lines; expected "
            f"columns such as ISIN, Quantity, Currency (or Code ISIN, Quantité, Devise); "
            f"first line: {first[:120]!r}", file=name, row=1, value=first[:200],
        ) from None
    return header_index, delimiter, cells


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


# -------------------------------------------------------------------------- XLSX


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


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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
    for candidate in [sheet] if sheet else names:
        try:
            rows = workbook.get_sheet_by_name(candidate).to_python(skip_empty_area=False)
        except Exception as exc:
            raise ReadError(f"{name}: cannot read sheet {candidate!r}: {exc}", file=name) from None
        best: tuple[int, int] | None = None
        texts = [[_cell_text(c) for c in row] for row in rows[:HEADER_SCAN_LINES]]
        at = preset_header_row(texts, presets)
        for index, row in enumerate(texts) if at is None else ():
            score = score_header(row, known)
            if score >= MIN_HEADER_SCORE and (best is None or score > best[0]):
                best = (score, index)
        if at is not None:
            best = (0, at)
        if best is None:
            tried.append(candidate)
            continue
        index = best[1]
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
        )
    raise ReadError(
        f"{name}: no sheet has a recognisable header (columns such as ISIN, Quantity, "
        f"Currency) in its first {HEADER_SCAN_LINES} rows; sheets tried: {', '.join(tried)}",
        file=name, value=", ".join(tried),
    )
