"""Layout: a file's table as a preset (or folio's defaults) reads it, block by block.

Owns what lies between reading and validating: the mapping a preset gives
(columns, constants, a field read from the first filled of several columns),
the row roles of each block (``roles``) with non-position lines taken out and
counted, the cash lines (``cash`` by currency, never positions), a repeated
header in another order (the rows below it are re-mapped), the file's own
totals, kept to be compared with what was stored, and the as-of date the file
states (title line, statement period, file name).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa

from folio.ingest.columns import NUMERIC, ColumnMapping, normalise, resolve
from folio.ingest.parse import detect_decimal, month_name_date, parse_numbers
from folio.ingest.presets import Preset
from folio.ingest.readers import RawTable
from folio.ingest.roles import ACCOUNT, Line, classify, classify_ragged, line_role

_MONTHS = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}"
# A date with its month's name, either way round (parse.month_name_date reads it).
_NAMED_DATE = (r"\d{1,2}(?:er|st|nd|rd|th)?[\s.-]+(?:de\s+)?[^\W\d_]+\.?[\s,-]+(?:del?\s+)?\d{4}"
               r"|[^\W\d_]+\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}")
_TITLE_DATES = (
    r"as of\b.*?(\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2})",
    r"(?:arr[eê]t[eé]e?|situation|valoris\w*|au|date)\s*(?:au|du|le)?\s*:?\s*"
    r"(\d{1,2}[/.-]\d{1,2}[/.-]\d{4})",
    r"period.*\b(" + _MONTHS + r")\"?\s*$",
    r"\b(\d{4}-\d{2}-\d{2})\b",
    # The same with the month's name ("Situation au 31 janvier 2024", "As of 31 Jan
    # 2024"), after every numeric form: such a line's numbers still come first.
    r"as of\b.*?(" + _NAMED_DATE + ")",
    r"(?:arr[eê]t[eé]e?|situation|valoris\w*|au|date)\s*(?:au|du|le)?\s*:?\s*("
    + _NAMED_DATE + ")",
)
_FILE_DATES = (r"(\d{4}-\d{2}-\d{2})", r"(?<!\d)(\d{4}[01]\d[0-3]\d)(?!\d)")
# The column a block gains for the account of its rows, when the file names
# accounts in title lines rather than in a column of its own.
ACCOUNT_COLUMN = "(account)"
# The column a block gains for the asset class of its rows, when a file with no
# asset-class column groups its positions under headings ("ACTIONS", "Obligations").
SECTION_CLASS_COLUMN = "(asset class)"
TOTAL_TOLERANCE = 0.005  # of the file's figure: a larger gap makes a result partial


def _to_date(text: str, order: str | None, fmt: str | None = None) -> date | None:
    text = text.strip().rstrip(",")
    try:
        if fmt:
            return datetime.strptime(text, fmt).date()
        if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            return date.fromisoformat(text)
        if re.match(r"^\d{8}$", text):
            return datetime.strptime(text, "%Y%m%d").date()
        m = re.match(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$", text)
        if m:
            a, b, y = (int(g) for g in m.groups())
            mdy = order == "mdy" or (order is None and b > 12 and a <= 12)
            return date(y, a, b) if mdy else date(y, b, a)
        return month_name_date(text)
    except ValueError:
        return None


def _carry(frame: pd.DataFrame, rows: np.ndarray, column: str, carried: str | None,
           marks: list[tuple[int, str | None]]) -> str | None:
    """Add ``column`` to a block: each row's value is that of the last mark (file
    line, value) above it, ``carried`` (the last of the blocks before) above the
    first. Returns the value the next block carries."""
    starts = np.array([row for row, _ in marks], dtype=np.int64)
    values = np.array([carried] + [value for _, value in marks], dtype=object)
    at = np.searchsorted(starts, rows)  # marks above each row: 0 -> the carried one
    frame[column] = pd.Series(pa.array(values[at], pa.string()),
                              dtype=pd.StringDtype("pyarrow"), index=frame.index)
    return values[-1]


def file_as_of(preamble: list[str], file_name: str, preset: Preset | None) -> tuple[date | None, str]:
    """The as-of date the file states, and where: a title line, else its name."""
    spec = preset.as_of if preset else {}
    order = preset.date_order if preset else None
    titles = [spec["title"]] if spec.get("title") else list(_TITLE_DATES)
    for pattern in titles:
        for line in preamble:
            # A spreadsheet's title line comes with its label and date in two
            # cells ("Date :;31/05/2024;;;"): read as the cells' text too.
            for text in (line, re.sub(r"\s*[;\t|,]+\s*", " ", line).strip()):
                m = re.search(pattern, text, re.I)
                found = m and _to_date(m.group(1), order, spec.get("format"))
                if found:
                    return found, f"title line {line.strip()[:80]!r}"
    named = [(spec["file_name"], spec.get("file_format"))] if spec.get("file_name") else []
    for pattern, fmt in named + [(p, None) for p in _FILE_DATES]:
        m = re.search(pattern, file_name)
        found = m and _to_date(m.group(1), order, fmt)
        if found:
            return found, f"file name {file_name!r}"
    return None, ""


def _synthetic(field: str, spec: str) -> str:
    """The name of a column the layout adds for ``field`` (``(currency: EUR)``)."""
    return f"({field}: {spec})"


def with_constant(mapping: ColumnMapping, derived: dict, field: str, value: str
                  ) -> ColumnMapping:
    """``mapping`` with ``field`` read from a column the layout adds, ``value`` on
    every row (put in ``derived``), as a preset's constant is."""
    column = _synthetic(field, value)
    derived[column] = ("constant", value)
    return replace(mapping, columns={**mapping.columns, column: field})


def preset_mapping(preset: Preset, header: list[str], file: str) -> tuple[ColumnMapping, dict]:
    """The mapping a preset gives a header; ``derived``: synthetic column -> how to fill it."""
    columns: dict[str, str] = {}
    derived: dict[str, tuple] = {}
    for name, have in preset.mapping(header).items():
        if len(have) == 1:
            columns[have[0]] = name
        else:
            derived[_synthetic(name, " | ".join(have))] = ("first", have)
    for name, value in preset.constants.items():
        if name not in columns.values() and not any(d.startswith(f"({name}:") for d in derived):
            derived[_synthetic(name, value)] = ("constant", value)
    explicit = dict(columns)
    for column in derived:
        explicit[column] = column[1:column.index(":")]
    mapping = resolve([*header, *derived], explicit, file=file, name=preset.name, aliases=False)
    return mapping, derived


@dataclass
class Layout:
    """Applies a file's layout to each block, and keeps what its non-position lines say."""

    mapping: ColumnMapping
    preset: Preset | None = None
    derived: dict = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    cash: dict[str, float] = field(default_factory=dict)
    cash_rows: dict[int, float] = field(default_factory=dict)
    decimal: str | None = None
    # The account of the last account title line seen (it spans blocks): the
    # positions below it are held in that account.
    account: str | None = None
    account_seen: bool = False
    # The same for the last section heading that names an asset class.
    section_class: str | None = None
    section_class_seen: bool = False

    @property
    def roles(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            if line.role != "blank":
                out[line.role] = out.get(line.role, 0) + 1
        return out

    def _derive(self, frame: pd.DataFrame) -> pd.DataFrame:
        for column, (kind, spec) in self.derived.items():
            if kind == "constant":
                frame[column] = pd.Series(pa.array([spec] * len(frame), pa.string()),
                                          dtype=pd.StringDtype("pyarrow"), index=frame.index)
            else:
                out = frame[spec[0]].where(frame[spec[0]].str.strip() != "")
                for other in spec[1:]:
                    out = out.fillna(frame[other].where(frame[other].str.strip() != ""))
                frame[column] = out.fillna("").astype(pd.StringDtype("pyarrow"))
        return frame

    def apply(self, table: RawTable) -> RawTable:
        """The block with its non-position lines taken out (counted, cash summed)."""
        fields = self.mapping.fields
        for name, column in list(fields.items()):
            if column in self.derived and self.derived[column][0] == "first":
                fields[name] = self.derived[column][1][0]  # the file's own column
        rules = self.preset.rows if self.preset else ()
        frame = table.frame
        roles = classify(frame, fields, rules, table.header)
        if self.decimal is None and (roles or table.ragged):  # cash and totals to read
            self.decimal = detect_decimal(
                [frame[c] for f, c in fields.items() if f in NUMERIC and c in frame],
                table.delimiter)
        frame = self._reorder(table, frame, roles)
        kept_lines, left = classify_ragged(table.ragged, table.delimiter, table.header, rules)
        found = [Line(int(table.rows[at]), role, "", frame.iloc[at].tolist())
                 for at, role in roles.items()]
        self._cash(frame, roles, kept_lines, table, fields)
        lines = sorted((ln for ln in found + kept_lines if ln.role != "blank"),
                       key=lambda line: line.row)
        self.lines.extend(lines)
        if roles:
            keep = np.ones(len(frame), dtype=bool)
            keep[list(roles)] = False
            frame, rows = frame.loc[keep].reset_index(drop=True), table.rows[keep]
        else:
            rows = table.rows
        if self.derived:
            frame = self._derive(frame.copy() if frame is table.frame else frame)
        if "account" not in fields:
            # In place: the caller's block lets go of this frame below.
            frame = self._accounts(frame, rows, [ln for ln in lines if ln.role == "account"])
        if "asset_class" not in fields:
            frame = self._section_classes(frame, rows, [ln for ln in lines if ln.role in (
                "section", "account")])
        table.frame = table.frame.iloc[:0]  # the caller's block holds its rows once
        return replace(table, frame=frame, rows=rows, ragged=left)

    def start_titles(self, titles: list[tuple[int, str]]) -> None:
        """Count the title lines a reader found an unknown header below (row role ``title``)."""
        self.lines.extend(Line(row, "title", text, [text]) for row, text in titles)

    def start_account(self, preamble: list[str], delimiter: str | None) -> None:
        """The account of a per-account block whose account line stands just above
        the file's header (``"Individual ...678"``), so above the table read."""
        above = [line for line in preamble if line.strip().strip(delimiter or ",")]
        if not above:
            return
        try:
            cells = next(csv.reader([above[-1]], delimiter=delimiter or ","), [])
        except csv.Error:  # not a line of cells (a CR a reader left in it): no account
            return
        filled = [c.strip() for c in cells if c.strip()]
        # A dated title ("Positions for account ... as of 03/14/2025") names the
        # file, not a block of it.
        if (filled and not re.search(r"\bas of\b|\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}", above[-1], re.I)
                and line_role(filled[0], cells, len(filled), True, True) == "account"):
            self.account = account_name(Line(0, "account", above[-1], cells))
            self.account_seen = True

    def _accounts(self, frame: pd.DataFrame, rows: np.ndarray,
                  lines: list[Line]) -> pd.DataFrame:
        """Each position's account: that of the last account title line above it.

        Added as the column ``ACCOUNT_COLUMN`` from the first account line of the
        file on (a file without one costs nothing); rows above it have none.
        """
        if lines:
            self.account_seen = True
        if not self.account_seen:
            return frame
        self.account = _carry(frame, rows, ACCOUNT_COLUMN, self.account,
                              [(ln.row, account_name(ln)) for ln in lines])
        return frame

    def _section_classes(self, frame: pd.DataFrame, rows: np.ndarray,
                         lines: list[Line]) -> pd.DataFrame:
        """Each position's asset class: the heading of its section, where that is an
        asset-class label (``analytics/asset_classes.csv``), as the file writes it.

        Every heading (a line of one cell) and account line starts a new section,
        so a heading that names no asset class ("Core Account", a subgroup) gives
        its rows none rather than the class of the section before. Added as the
        column ``SECTION_CLASS_COLUMN`` from the first class heading on.
        """
        from folio.analytics.vocabulary import asset_class  # the labels are data there

        headings = []
        for line in lines:
            filled = [str(c).strip() for c in line.cells if str(c).strip()]
            if line.role == "account" or len(filled) == 1:
                label = filled[0] if line.role == "section" and len(filled) == 1 else None
                headings.append((line.row, label if label and asset_class(label) else None))
        if any(label for _, label in headings):
            self.section_class_seen = True
        if not self.section_class_seen:
            return frame
        self.section_class = _carry(frame, rows, SECTION_CLASS_COLUMN, self.section_class,
                                    headings)
        return frame

    def _reorder(self, table: RawTable, frame: pd.DataFrame, roles: dict[int, str]) -> pd.DataFrame:
        """Rows below a repeated header in another order, put back in the first one's."""
        header = list(table.header)
        # A column the file left unnamed (the reader calls it "column N") is an
        # empty cell in a repeated header too.
        keys = ["" if h == f"column {i}" else normalise(h) for i, h in enumerate(header, 1)]
        for at in sorted(a for a, r in roles.items() if r == "header"):
            cells = [normalise(c) for c in frame.iloc[at].tolist()]
            if cells == keys and not (self.preset and self.preset.rows):
                del roles[at]  # the same header again: validation warns of it, as always
                continue
            if sorted(k for k in cells if k) != sorted(k for k in keys if k) or cells == keys:
                if cells != keys:
                    below = [a for a in sorted(roles) if a > at]
                    stop = next((a for a in below if roles[a] == "header"), len(frame))
                    for other in range(at + 1, stop):
                        roles.setdefault(other, "section")  # another table's rows
                continue
            order = [header[cells.index(k)] if k in cells else h for h, k in zip(header, keys,
                                                                                     strict=True)]
            nxt = [a for a, r in roles.items() if r == "header" and a > at]
            stop = min(nxt) if nxt else len(frame)
            part = frame.iloc[at + 1:stop][order].copy()
            part.columns = header
            frame = frame.copy()
            frame.iloc[at + 1:stop] = part.to_numpy()
        return frame

    def _cash(self, frame: pd.DataFrame, roles: dict[int, str], lines: list[Line],
              table: RawTable, fields: dict[str, str]) -> None:
        self._header = table.header
        mv, ccy = fields.get("market_value"), fields.get("currency")
        const = self.preset.constants.get("currency") if self.preset else None
        for at in (a for a, r in roles.items() if r == "cash"):
            amount = self.number(frame[mv].iloc[at] if mv in frame else "")
            code = (frame[ccy].iloc[at] if ccy in frame else "") or const or "?"
            if amount is not None:
                self.cash_rows[int(table.rows[at])] = amount
                code = code.strip().upper()
                self.cash[code] = round(self.cash.get(code, 0.0) + amount, 2)
        for line in (ln for ln in lines if ln.role == "cash"):
            value = self.cell(line, mv)
            amount = self.number(value) if value is not None else None
            code = (self.cell(line, ccy) or const or "?").strip().upper()
            if amount is not None:
                self.cash_rows[line.row] = amount
                self.cash[code] = round(self.cash.get(code, 0.0) + amount, 2)

    def cell(self, line: Line, column: str | None) -> str | None:
        header = getattr(self, "_header", None) or []
        if column is None or column not in header:
            return None
        at = header.index(column)
        return line.cells[at] if at < len(line.cells) else None

    def number(self, text: str) -> float | None:
        values, _ = parse_numbers(pd.Series([text or ""], dtype=pd.StringDtype("pyarrow")),
                                  self.decimal or ".")
        return None if np.isnan(values[0]) else float(values[0])

    def accounts(self) -> list[tuple[int, str]]:
        """(row, account) of the account title lines."""
        return [(ln.row, account_name(ln)) for ln in self.lines if ln.role == "account"]

    def totals(self) -> list[tuple[int, str, float | None, int | None]]:
        """(row, label, amount, record count) of the file's total lines."""
        out = []
        mv = self.mapping.fields.get("market_value")
        for line in (ln for ln in self.lines if ln.role == "total"):
            label = next((c.strip() for c in line.cells if c.strip()), line.text.strip())
            count = re.search(r"record count\D*(\d+)", " ".join(line.cells) or line.text, re.I)
            amount = self.number(self.cell(line, mv) or "") if mv else None
            if count or amount is not None:
                out.append((line.row, label[:80], amount, int(count.group(1)) if count else None))
        return out


def account_name(line: Line) -> str:
    """The account an account title line names: its cell that reads as an account
    (``Individual ...123``, ``Z98765432``), else its text."""
    cells = [c.strip() for c in line.cells if c and c.strip()]
    return next((c for c in cells if re.search(ACCOUNT, c)),
                line.text.strip().strip('"') or (cells[0] if cells else ""))


def layout_rows(layout: Layout) -> list[dict]:
    return [{"row": row} for row, *_ in layout.totals()]


class KeptRows:
    """The rows kept so far and their market values, for ``check_totals``, in little memory.

    A file's totals need, for each total line, the count and the sum of the rows
    above it (and of those since the total before it), never the rows one by one.
    So a block whose row range holds no total line is folded into one entry (its
    last row, its rows' summed value, their count): 10,000,000 rows would
    otherwise keep 160 MB to the end of the import, and twice that to sort them.
    A block is folded once the total lines that could fall among its rows are
    known: the layout finds a block's lines as it applies it, and a block's
    positions come from that block and the tail of the one before, so every
    block but the newest is safe to fold.
    """

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._folded = 0  # the parts before this one are folded already

    def add(self, rows: np.ndarray, values: np.ndarray, layout: Layout) -> None:
        """Take one block's kept rows and values (copied: a column of a frame may be
        a view of a block of all its numeric columns)."""
        self._fold([ln.row for ln in layout.lines if ln.role == "total"])
        self._parts.append((np.array(rows, dtype=np.int64),
                            np.nan_to_num(np.array(values, dtype=np.float64)),
                            np.ones(len(rows), dtype=np.int64)))

    def _fold(self, total_rows: list[int]) -> None:
        marks = np.array(sorted(total_rows), dtype=np.int64)
        for at in range(self._folded, len(self._parts)):
            rows, values, counts = self._parts[at]
            if len(rows) < 2:
                continue
            low, high = rows.min(), rows.max()
            if np.searchsorted(marks, low, side="right") == np.searchsorted(marks, high):
                self._parts[at] = (np.array([high]), np.array([values.sum()]),
                                   np.array([counts.sum()]))
        self._folded = len(self._parts)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, values, counts): each entry a row, or a folded block at its last row."""
        if not self._parts:
            return (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
        return tuple(np.concatenate(column) for column in zip(*self._parts, strict=True))


def check_totals(layout: Layout, rows: np.ndarray, values: np.ndarray,
                 cash_rows: dict[int, float] | None = None,
                 rejected: tuple[np.ndarray, np.ndarray] | None = None,
                 counts: np.ndarray | None = None) -> list[dict]:
    """Each file total against what was stored; the mismatches, as warnings to raise.

    A gap that the rejected rows (each already an error) account for exactly is
    not raised again: the check is for what was lost or doubled silently.
    ``counts``: how many rows each entry stands for (``KeptRows``; default one).
    """
    counts = np.ones(len(rows), dtype=np.int64) if counts is None else counts
    if rejected is not None and len(rejected[0]):
        both = check_totals(layout, np.concatenate([rows, rejected[0]]),
                            np.concatenate([values, rejected[1]]), cash_rows,
                            counts=np.concatenate([counts, np.ones(len(rejected[0]), np.int64)]))
        explained = {t["row"] for t in layout_rows(layout)} - {t["row"] for t in both}
        return [t for t in check_totals(layout, rows, values, cash_rows, counts=counts)
                if t["row"] not in explained]
    if not layout.totals():
        return []
    order = np.argsort(rows, kind="stable")
    rows, values, counts = rows[order], np.nan_to_num(values[order]), counts[order]
    cash = sorted((cash_rows or {}).items())
    out, previous = [], 0
    for row, label, amount, count in layout.totals():
        above = rows < row
        segment = above & (rows > previous)
        # An account's total holds its own cash, not the accounts' above it.
        segment_cash = sum(v for r, v in cash if previous < r < row)
        previous = row
        if count is not None:
            got = int(counts[above].sum())
            if got != count:
                out.append({"row": row, "label": label, "file": count, "folio": got,
                            "gap": abs(got - count) / max(count, 1)})
            continue
        in_cash = sum(v for r, v in cash if r < row)
        candidates = [values[segment].sum(), values[above].sum()]
        candidates += [c + in_cash for c in candidates] + [candidates[0] + segment_cash]
        best = min(candidates, key=lambda c: abs(c - amount))
        if abs(best - amount) > 0.01 + 1e-9 * abs(amount):
            out.append({"row": row, "label": label, "file": amount, "folio": round(float(best), 2),
                        "gap": float(abs(best - amount) / max(abs(amount), 0.01))})
    return out
