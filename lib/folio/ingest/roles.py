"""Row roles: which lines of a holdings table are positions, and what the others are.

Owns the roles of non-position lines (title, account, section, subtotal/total,
cash, lot/detail, footer, a repeated header, another table), decided
column-wise: a regex over the identifier column picks the few suspect rows, and
only those are looked at further, so a million plain positions cost one pass.
Lines the CSV parser set aside for their cell count (``RawTable.ragged``:
account and section titles, subtotals wider than the header) get a role too;
what is left of them stays an error. Validation's own cut of what is data
(``data_rows``: no blank, totals or trailer rows; ``repeated_header``) is here too.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from folio.ingest.columns import ALIASES, normalise
from folio.ingest.parse import arrow_strings, first_bytes, strip
from folio.ingest.readers import RawTable

TOTAL = (r"^\s*(sous[ -]?tota(?:l|ux)|sub[ -]?totals?|grand[ -]?total|totals?|totaux|"
         r"account total|total portefeuille|record count|nombre de (lignes|titres|positions))\b")
CASH = (r"^\s*(cash\b|cash\s*&|cash and|solde esp[eè]ces|esp[eè]ces|liquidit[eé]s|"
        r"money market|core position)")
FOOTER = (r"^\s*(generated (at|on)|g[eé]n[eé]r[eé] le|document g[eé]n[eé]r[eé]|printed|"
          r"imprim[eé]|page \d+|source\s*:|disclaimer|\*)")
ACCOUNT = r"(\d{5,}|X{3,}[-\d]*\d|\.\.\.\d{3,}|^[A-Z]{1,3}\d{4,}$)"
SUSPECT = "|".join((TOTAL, CASH, FOOTER))
_EMPTY_QTY = ("", "--", "-", "n/a", "na", "n.d.", "nd")
ISIN = r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$"
# A totals line: column-wise on lower-cased cells (pyarrow), and through re on
# normalise()d text, whose separators are single spaces, which it also accepts.
_TOTAL_TEXT = r"^(sous[ _-]*)?(grand[ _-]*)?(total|totals|totaux|sub[ _-]?total|subtotal)\b"
TOTAL_LINE = re.compile(_TOTAL_TEXT)
_TOTAL_FIRST = np.frombuffer(b"sgtSGT", dtype=np.uint8)  # the bytes _TOTAL_TEXT can start from


@dataclass
class Line:
    """One non-position line, with what it says."""

    row: int
    role: str
    text: str
    cells: list[str]


def _lead(frame: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """Each row's first non-empty cell, and how many cells are filled."""
    filled = np.zeros(len(frame), dtype=np.int64)
    parts = []
    for column in frame.columns:
        arr = pc.utf8_trim_whitespace(arrow_strings(frame[column]))
        empty = pc.equal(pc.binary_length(arr), 0)
        filled += ~empty.to_numpy(zero_copy_only=False)
        parts.append(pc.if_else(empty, pa.scalar(None, arr.type), arr))
    lead = pc.coalesce(*parts) if parts else pa.array([None] * len(frame), pa.string())
    return pd.Series(pd.arrays.ArrowStringArray(lead.cast(pa.large_string()))), filled


def _longest(series: pd.Series) -> int:
    """The most bytes a cell has."""
    return pc.max(pc.binary_length(arrow_strings(series))).as_py() or 0


def _match(series: pd.Series, pattern: str) -> np.ndarray:
    """Cells matching ``pattern`` (case-insensitive), on the Arrow strings."""
    found = pc.match_substring_regex(arrow_strings(series), pattern, ignore_case=True)
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def line_role(text: str, cells: list[str], filled: int, qty_blank: bool,
               first: bool = True) -> str | None:
    """The role of one line from its first filled cell (``text``), or None: a position.

    A line of one filled cell, in its first column, of words (not a date or a
    code alone) is a title: an account or a section."""
    if re.search(TOTAL, text, re.I):
        return "total"
    if re.search(FOOTER, text, re.I):
        return "footer"
    if qty_blank and re.search(CASH, text, re.I):
        return "cash"
    words = re.search(r"[A-Za-z]{2}", text) or re.search(ACCOUNT, text.strip())
    if filled <= 1 and first and words and not re.match(ISIN, text.strip()):
        return "account" if re.search(ACCOUNT, text.strip()) else "section"
    return None


def _header_like(cells: list[str], header: set[str]) -> bool:
    """Whether a line reads as a table header: three cells or more are column names."""
    keys = [normalise(c) for c in cells if c.strip()]
    return sum(k in ALIASES or k in header for k in keys) >= 3


def classify(frame: pd.DataFrame, fields: dict[str, str], rules=(),
             header: list[str] | None = None) -> dict[int, str]:
    """Roles of the frame's non-position rows, by position in the frame.

    ``fields``: field -> column; ``rules``: a preset's ``{column, match, role}``.
    """
    header = header or list(frame.columns)
    roles: dict[int, str] = {}
    for rule in rules:
        column = next((c for c in header if normalise(c) == normalise(rule["column"])), None)
        if column is None:
            continue
        for at in np.flatnonzero(_match(frame[column], rule["match"])):
            roles.setdefault(int(at), rule["role"])
    id_col = fields.get("identifier")
    if id_col is None or id_col not in frame:
        return roles
    ident = strip(frame[id_col].fillna(""))
    names = pa.array(sorted({h.strip().lower() for h in header}), pa.string())
    # No cell longer than 60 bytes has more than 60 characters: nothing to cut.
    head = ident if _longest(ident) <= 60 else ident.str.slice(0, 60)
    suspect = ((ident == "").to_numpy(bool) | _match(head, SUSPECT)
               | pc.is_in(pc.utf8_lower(arrow_strings(ident)).cast(pa.string()),
                          value_set=names).to_numpy(zero_copy_only=False))
    qty_col = fields.get("quantity")
    if qty_col in frame:
        # A section heading in the identifier's column ("ACTIONS", "Fixed Income")
        # has an empty quantity cell: such rows are looked at too (one filled cell,
        # of words). Lengths, not strings, are compared: a column-wise pass.
        suspect |= pc.fill_null(pc.equal(pc.binary_length(arrow_strings(frame[qty_col])), 0),
                                True).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(suspect)
    if len(at) == 0:
        return roles
    part = frame.iloc[at]
    lead, filled = _lead(part)
    qty = (part[qty_col].fillna("").str.strip().str.lower() if qty_col in part
           else pd.Series([""] * len(part)))
    qty_blank = qty.isin(_EMPTY_QTY).to_numpy(bool)
    keys = {normalise(h) for h in header}
    # Column-wise first: only rows some role could fit are looked at one by one.
    first = (part.iloc[:, 0].fillna("").str.strip() == lead.fillna("").to_numpy()).to_numpy(bool)
    worded = _match(lead, r"[A-Za-z]{2}") | _match(lead, ACCOUNT)
    headerish = pc.is_in(pc.utf8_lower(arrow_strings(ident.iloc[at])).cast(pa.string()),
                         value_set=names).to_numpy(zero_copy_only=False)
    maybe = ((filled == 0) | _match(lead, TOTAL) | _match(lead, FOOTER)
             | (_match(lead, CASH) & qty_blank) | ((filled <= 1) & first & worded) | headerish)
    texts = lead.fillna("")
    for k in np.flatnonzero(maybe):
        index = int(at[k])
        if index in roles:
            continue
        if filled[k] == 0:
            roles[index] = "blank"  # dropped, as validation drops them, and not counted
            continue
        role = line_role(texts.iloc[k], [], int(filled[k]), bool(qty_blank[k]), bool(first[k]))
        if role is None and headerish[k] and _header_like(frame.iloc[index].tolist(), keys):
            role = "header"
        if role is not None:
            roles[index] = role
    return roles


def classify_ragged(ragged: list[tuple[int, int, str]], delimiter: str | None,
                    header: list[str], rules=()) -> tuple[list[Line], list]:
    """Roles of the lines the parser set aside; the lines left are errors still."""
    lines: list[Line] = []
    left = []
    keys = {normalise(h) for h in header}
    positions = {normalise(r["column"]): r for r in rules}
    at_rule = [(i, positions[normalise(h)]) for i, h in enumerate(header)
               if normalise(h) in positions]
    other_table = False  # below another table's header: its rows are not positions
    for row, count, text in ragged:
        cells = next(csv.reader([text], delimiter=delimiter or ","), [])
        filled = [c.strip() for c in cells if c.strip()]
        role = next((rule["role"] for i, rule in at_rule
                     if i < len(cells) and re.search(rule["match"], cells[i], re.I)), None)
        if role is None and not filled:
            role = "section"
        elif role is None:
            role = line_role(filled[0], cells, len(filled), True,
                              bool(cells) and cells[0].strip() == filled[0])
            if role is None and _header_like(cells, keys):
                role = "header"
                other_table = {normalise(c) for c in filled} != keys - {""}
            elif role is None and other_table:
                role = "section"
        if role is None:
            left.append((row, count, text))
        else:
            lines.append(Line(row, role, text, cells))
    return lines, left


def repeated_header(table: RawTable, columns: list[str], id_col: str) -> np.ndarray:
    """Mask of rows that repeat the header (files pasted together, page breaks)."""
    frame = table.frame
    out = np.zeros(len(frame), dtype=bool)
    # Only rows whose identifier cell reads as the header's are candidates, and
    # only cells of its length can (lower-casing keeps the number of characters).
    name = id_col.strip().lower()
    ident = strip(frame[id_col])
    sized = np.flatnonzero(pc.fill_null(pc.equal(pc.utf8_length(arrow_strings(ident)), len(name)),
                                        False).to_numpy(zero_copy_only=False))
    suspects = sized[(ident.iloc[sized].str.lower() == name).fillna(False).to_numpy(bool)]
    if len(suspects):
        same = np.zeros(len(suspects), dtype=np.int64)
        for column in columns:
            cells = frame[column].iloc[suspects].str.strip().str.lower()
            same += (cells == column.strip().lower()).fillna(False).to_numpy(bool)
        out[suspects] = same >= min(2, len(columns))
    return out


def data_rows(table: RawTable, id_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Masks of rows that are data (not blank, not totals, not below the data) and that
    have an identifier."""
    frame = table.frame
    n = len(frame)
    ident = strip(frame[id_col]).fillna("")
    has_id = (ident != "").to_numpy(bool)
    # A "Total..." identifier starts with s, g or t once lower-cased, which only
    # S, G and T (and s, g, t) become: the others are not matched.
    maybe = np.flatnonzero(np.isin(first_bytes(arrow_strings(ident)), _TOTAL_FIRST))
    id_total_like = np.zeros(n, dtype=bool)
    id_total_like[maybe] = (ident.iloc[maybe].str.slice(0, 40).str.lower().str.match(_TOTAL_TEXT)
                            .fillna(False).to_numpy(bool))
    # A row with an identifier that is not "Total..." is data whatever else it
    # holds: only the other rows (blank, totals, notes) need a look at every cell.
    suspects = np.flatnonzero(~has_id | id_total_like)
    keep = np.ones(n, dtype=bool)
    if len(suspects):
        part = frame.iloc[suspects]
        blank = np.ones(len(part), dtype=bool)
        total_like = np.zeros(len(part), dtype=bool)
        for column in part.columns:
            s = part[column].str.strip()
            blank &= (s == "").fillna(True).to_numpy(bool)
            head = s.fillna("").str.slice(0, 40).str.lower()
            # "TotalEnergies" is a name, not a totals line (no word break after "total").
            total_like |= head.str.match(_TOTAL_TEXT).fillna(False).to_numpy(bool)
        # A totals line has no instrument of its own (or "Total" stands in its place).
        id_is_total = np.array([bool(TOTAL_LINE.match(normalise(v))) for v in ident.iloc[suspects]],
                               dtype=bool)
        total_like &= ~has_id[suspects] | id_is_total
        keep[suspects] = ~blank & ~total_like
    if has_id.any():
        last = np.flatnonzero(has_id & keep)
        if len(last):
            keep[last[-1] + 1:] = False  # footers below the last holding
    return keep, has_id
