"""Readers: turn a CSV or XLSX file into a table of text cells with file row numbers.

Owns file sniffing (format by content, encoding, delimiter), header detection
below preamble lines, sheet choice, and the row number a user sees for every
record (the editor's line number for CSV, the spreadsheet row for XLSX). Cells
stay text here; typing them is ``parse``'s job, so CSV and XLSX share one path.

This module holds the entry points (``read_table``, ``read_blocks``) and the
checks every file gets first; the work is in ``sniff`` (encoding, delimiter,
header line), ``delimited`` (parsing CSV text), ``blocks`` (a large CSV a block
at a time), ``sections`` (a preset's table wherever it starts) and ``xlsx``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from folio.errors import FileTooLarge, ReadError
from folio.ingest.presets import Preset
from folio.ingest.readers.blocks import _csv_blocks
from folio.ingest.readers.delimited import _parse_body, _read_decoded, _read_utf8_in_place
from folio.ingest.readers.sections import read_preset_csv
from folio.ingest.readers.sniff import (
    DELIMITERS,
    HEADER_SCAN_LINES,
    _decode,
    _mac_line_ends,
    _split_cells,
)
from folio.ingest.readers.table import BlockSource, RawTable, _record_starts, unique_names
from folio.ingest.readers.xlsx import _read_xlsx

__all__ = ["BLOCK_BYTES", "DELIMITERS", "HEADER_SCAN_LINES", "BlockSource", "RawTable",
           "read_blocks", "read_table", "unique_names",
           # for the modules of ingest/ and the tests that read at this level
           "_decode", "_mac_line_ends", "_parse_body", "_record_starts", "_split_cells"]


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


def _read_csv(data: bytes, name: str, known: Iterable[str] = (),
              presets: Sequence[Preset] = ()) -> RawTable:
    """A whole CSV: a preset's table where one recognises it, else UTF-8 parsed in
    place, else the general path (decoded first)."""
    if presets:
        found = read_preset_csv(data, name, presets)
        if found is not None:
            return found
    fast = _read_utf8_in_place(data, name, known)
    if fast is not None:
        return fast
    return _read_decoded(data, name, known)
