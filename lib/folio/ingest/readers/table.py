"""The table a reader hands on: a file's rows as text cells, each with its file row.

Owns ``RawTable`` (one file's or one block's data rows, with where each stands in
the file), ``BlockSource`` (where a streamed block lies, to read rows of it again),
header names made unique, and the line number of each record of CSV bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


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
    # (line, text) of the title lines above a header folio does not know by name
    # (see sniff.title_lines): the row role "title".
    titles: list[tuple[int, str]] = field(default_factory=list)
    # A workbook's later sheets that also have a holdings header (the sheet read
    # was chosen, not named): not imported, and the import says so.
    other_sheets: tuple[str, ...] = ()

    def describe(self) -> dict[str, object]:
        return {
            "kind": self.kind, "encoding": self.encoding, "delimiter": self.delimiter,
            "sheet": self.sheet, "header_row": self.header_row,
        }


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
