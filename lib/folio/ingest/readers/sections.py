"""Sections: find a preset's table in a file, wherever it starts, and only that table.

Owns the reading of a small CSV whose header a preset recognises: the header
is the first line with the preset's signature (not only within the first lines
``sniff`` scans), and for a multi-section file (``Section,Header|Data|Total,...``
as Interactive Brokers writes it) only the lines of the preset's section are
read, each keeping the line number an editor shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from folio.ingest.presets import Preset, header_keys
from folio.ingest.readers.delimited import _parse_body
from folio.ingest.readers.sniff import (
    DELIMITERS,
    _decode,
    _mac_line_ends,
    _split_cells,
    title_lines,
)

# A preset's header past this many lines is looked for only in its own section.
SCAN_LINES = 200


def preset_header_row(rows: Sequence[Sequence[str]], presets: Sequence[Preset]) -> int | None:
    """The index of the first row that is a preset's header (XLSX rows as text cells)."""
    for index, cells in enumerate(rows):
        keys = header_keys(cells)
        if any(p.keys_match(keys) for p in presets):
            return index
    return None


def _section_lines(lines: list[str], section: str, delimiter: str) -> np.ndarray:
    """Indices of the lines whose first cell is ``section`` (quoted or not)."""
    starts = (section + delimiter, f'"{section}"' + delimiter)
    return np.array([i for i, line in enumerate(lines) if line.startswith(starts)], dtype=np.int64)


def _section_starts(presets: Sequence[Preset], delimiters: Sequence[str]) -> tuple[str, ...]:
    """How a line of any of these presets' sections begins (its first cell, quoted or not)."""
    return tuple(f"{q}{p.section}{q}{d}" for p in presets if p.section
                 for q in ("", '"') for d in delimiters)


def _find(text: str, presets: Sequence[Preset]):
    """(line index, delimiter, cells, preset) of the first preset header in ``text``."""
    offset = -1  # where the first SCAN_LINES lines end (no copy of the rest)
    for _ in range(SCAN_LINES):
        offset = text.find("\n", offset + 1)
        if offset < 0:
            break
    for index, line in enumerate(text[:offset].split("\n") if offset >= 0 else text.split("\n")):
        if hit := _header_at(line, presets):
            return index, *hit
    sectioned = [p for p in presets if p.section]
    if offset < 0 or not sectioned:
        return None
    # Past the first lines only a sectioned preset's header is looked for, and
    # its header line begins with its section: a regular expression finds such
    # lines in C, instead of a loop over every line (a 100,000-row file spent
    # 25 ms there at every import, and a second before that loop used startswith).
    # (A pattern that begins with the line break is searched for by that character.)
    starts = re.compile("\n(?:" + "|".join(map(re.escape, _section_starts(sectioned, DELIMITERS)))
                        + ")")
    offset += 1  # the first line past them
    for match in starts.finditer(text, offset - 1):
        start = match.start() + 1
        end = text.find("\n", start)
        if hit := _header_at(text[start:end if end >= 0 else len(text)], sectioned):
            return SCAN_LINES + text.count("\n", offset, start), *hit
    return None


def _header_at(line: str, presets: Sequence[Preset]):
    """(delimiter, cells, preset) if the line is one of ``presets``' header, else None."""
    line = line.rstrip("\r")
    for delimiter in DELIMITERS:
        if delimiter not in line:
            continue
        cells = _split_cells(line, delimiter)
        keys = header_keys(cells)
        for preset in presets:
            if preset.keys_match(keys):
                return delimiter, cells, preset
    return None


def read_preset_csv(data: bytes, name: str, presets: Sequence[Preset]):
    """A ``RawTable`` of the table a preset recognises in ``data``, or None if none does."""
    text, encoding = _decode(data, name)
    if _mac_line_ends(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    found = _find(text, presets)
    if found is None:
        return None
    index, delimiter, cells, preset = found
    lines = text.split("\n")
    # What stands above the table: the file's first lines (a statement's period
    # and title lead it) and those just above the header, a bounded number of each.
    above = sorted(set(range(min(index, SCAN_LINES))) | set(range(max(0, index - SCAN_LINES),
                                                                   index)))
    preamble = [lines[i].rstrip("\r") for i in above]
    if not preset.section:
        table = _parse_body("\n".join(lines[index + 1:]).encode("utf-8"), name,
                                    encoding, index, delimiter, cells)
        table.preamble = preamble
        table.titles = title_lines(lines, index, cells)
        return table
    # One section: its lines only, numbered as in the file.
    kept = _section_lines(lines, preset.section, delimiter)
    kept = kept[kept > index]
    body = "\n".join(lines[i] for i in kept)
    table = _parse_body(body.encode("utf-8"), name, encoding, index, delimiter, cells,
                                first_line=1)
    numbers = kept + 1  # 1-based line of each kept line
    table.rows = numbers[table.rows - 1] if len(table.rows) else table.rows
    table.ragged = [(int(numbers[row - 1]), n, line) for row, n, line in table.ragged]
    table.preamble = preamble
    return table
