"""Presets: broker and custodian export formats, as data.

Owns reading the preset files (``ingest/presets/*.yaml`` shipped with folio, and
a user's own in ``FOLIO_HOME/presets/``), recognising which preset a file's
header (and, where a preset says, its title lines or sheet name) belongs to, and
refusing a file that two presets claim. What a preset says about reading the
rows (column to field, constants, row rules, number and date conventions,
where the as-of date is) is applied by ``layout``.

A preset file::

    name: schwab
    description: Charles Schwab positions, one account
    match:
      header: [Symbol, Description, Quantity, Price, Market Value]  # each cell: a name
      title: 'Positions for account'     # optional, a regex over the lines above
      sheet: '...'                       # optional, a regex over the sheet name
      section: 'Open Positions'          # optional: only lines whose first cell is this
      exact: true                        # optional: the header is these cells and no others
    columns: {identifier: Symbol, name: Description, quantity: Quantity}
    constants: {currency: USD}
    rows: [{column: Symbol, match: '^Account Total', role: total}]
    numbers: {decimal: '.'}
    dates: {order: mdy}
    as_of: {title: 'as of .*?(\\d{1,2}/\\d{1,2}/\\d{4})', file_name: '(\\d{8})', format: '%m%d%Y'}
    values: {market_value: dirty}        # the file's market value includes accrued interest

A mapping saved with ``folio mapping save`` (``catalog.save_mapping``) is a user
preset too (``saved_preset``), with an exact signature: the header of the file
it was made on, so it never applies to a file that merely holds its columns.

A header cell of ``match.header`` or a column of ``columns`` may be a list of
alternatives: the first the file has is used (for ``columns``, row by row, the
first that is filled).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from folio.errors import MappingError
from folio.ingest.columns import FIELDS, normalise

PACKAGE_PRESETS = Path(__file__).resolve().parent / "presets"
ROLES = ("position", "cash", "total", "lot", "section", "account", "title", "footer", "header")


@dataclass(frozen=True)
class Preset:
    """One export format: how to recognise it and how to read it."""

    name: str
    description: str = ""
    header: tuple[tuple[str, ...], ...] = ()  # cells, each a tuple of alternatives
    title: str | None = None
    sheet: str | None = None
    section: str | None = None
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> columns
    constants: dict[str, str] = field(default_factory=dict)
    rows: tuple[dict[str, str], ...] = ()
    decimal: str | None = None
    date_order: str | None = None  # "dmy" or "mdy"
    as_of: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the file it was read from
    user: bool = False
    # The header must be the signature, cell for cell (in any order), not merely
    # hold it: a saved mapping is for the file it was made on.
    exact: bool = False

    def header_matches(self, cells: Iterable[object]) -> bool:
        """Whether a header row holds every signature cell (one of its alternatives);
        with ``exact``, whether its filled cells are the signature's and no others."""
        return self.keys_match(header_keys(cells))

    def keys_match(self, keys: frozenset[str]) -> bool:
        """``header_matches`` for a row's ``header_keys`` (folded once for every preset)."""
        if not self.header:
            return False
        if not all(any(a in keys for a in alts) for alts in self._signature):
            return False
        return not self.exact or len(keys) == len(self.header)

    @functools.cached_property
    def _signature(self) -> tuple[tuple[str, ...], ...]:
        return tuple(tuple(normalise(a) for a in alts) for alts in self.header)

    def matches(self, cells: Iterable[object], title_lines: Iterable[str] = (),
                sheet: str | None = None) -> bool:
        """Whether a file with this header, title lines and sheet is in this format."""
        if not self.header_matches(cells):
            return False
        if self.title and not any(re.search(self.title, line, re.I) for line in title_lines):
            return False
        return not (self.sheet and not (sheet and re.search(self.sheet, sheet, re.I)))

    def mapping(self, header: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """Field -> the file's columns for it (in preference order), as the file spells them."""
        by_key = {normalise(h): h for h in header}
        out: dict[str, tuple[str, ...]] = {}
        for name, alts in self.columns.items():
            have = tuple(dict.fromkeys(by_key[normalise(a)] for a in alts
                                       if normalise(a) in by_key))
            if have:
                out[name] = have
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "header": [" | ".join(a) for a in self.header], "exact": self.exact,
                "source": self.source, "user": self.user}


def _alternatives(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else (str(value),)


def parse_preset(data: dict[str, Any], source: str = "", user: bool = False) -> Preset:
    """A ``Preset`` from the mapping a preset file holds (checked: fields and roles exist)."""
    where = source or "preset"
    if not isinstance(data, dict) or not data.get("name"):
        raise MappingError(f"{where}: a preset needs a name", file=source, found=(), missing=("name",))
    match = data.get("match") or {}
    columns = {str(k): _alternatives(v) for k, v in (data.get("columns") or {}).items()}
    constants = {str(k): str(v) for k, v in (data.get("constants") or {}).items()}
    for name in (*columns, *constants):
        if name not in FIELDS:
            raise MappingError(f"{where}: {name!r} is not a field; fields are {', '.join(FIELDS)}",
                               file=source, found=tuple(columns), missing=(), unknown=(name,))
    rows = tuple(dict(rule) for rule in data.get("rows") or ())
    for rule in rows:
        if rule.get("role") not in ROLES:
            raise MappingError(f"{where}: row role {rule.get('role')!r} is not one of "
                               f"{', '.join(ROLES)}", file=source, found=(), missing=())
    numbers, dates = data.get("numbers") or {}, data.get("dates") or {}
    return Preset(
        name=str(data["name"]), description=str(data.get("description", "")),
        header=tuple(_alternatives(c) for c in match.get("header") or ()),
        exact=bool(match.get("exact", False)),
        title=match.get("title"), sheet=match.get("sheet"), section=match.get("section"),
        columns=columns, constants=constants, rows=rows, decimal=numbers.get("decimal"),
        date_order=dates.get("order"), as_of=dict(data.get("as_of") or {}),
        values={str(k): str(v) for k, v in (data.get("values") or {}).items()},
        source=source, user=user)


def header_keys(cells: Iterable[object]) -> frozenset[str]:
    """A header row's filled cells, folded (``normalise``), for ``Preset.keys_match``."""
    return frozenset(normalise(c) for at, c in enumerate(cells, 1)
                     if str(c).strip() and str(c) != f"column {at}")  # not an unnamed column


def _read_folder(folder: Path, user: bool) -> list[Preset]:
    paths = sorted(folder.glob("*.y*ml")) if folder.is_dir() else ()
    return [_read_preset(path, _version(path), user) for path in paths]


def _version(path: Path) -> tuple[int, ...]:
    """What changes when a file is written (or replaced, as editors save)."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino


# A preset file is read again only when it changes (``_version``): each import
# loads every preset, and parsing the YAML cost more than all the checks of a
# 100,000-row file's first block.
@functools.lru_cache(maxsize=512)
def _read_preset(path: Path, _version: tuple[int, ...], user: bool) -> Preset:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise MappingError(f"preset {path}: not valid YAML: {exc}", file=str(path),
                           found=(), missing=()) from None
    return parse_preset(data, str(path), user)


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it


def load_presets(user_folder: Path | None = None) -> list[Preset]:
    """folio's presets, then the user's (``FOLIO_HOME/presets``); a user's preset of the
    same name replaces folio's."""
    found = {p.name: p for p in _read_folder(PACKAGE_PRESETS, False)}
    if user_folder is not None:
        found.update({p.name: p for p in _read_folder(Path(user_folder), True)})
    return list(found.values())


def is_saved_preset(document: object) -> bool:
    """Whether a saved mapping's stored document is a preset (``{"columns": {...}, ...}``)
    rather than an older plain ``{"file column": "field"}``."""
    return isinstance(document, dict) and isinstance(document.get("columns"), dict)


def saved_columns(document: dict) -> dict[str, str]:
    """``{"file column": "field"}`` of a saved mapping, whichever form it was saved in."""
    return dict(document["columns"]) if is_saved_preset(document) else dict(document)


def saved_preset(name: str, document: dict) -> Preset:
    """The user preset a saved mapping is: its columns, constants and row rules,
    recognised only by a header that is its signature (``exact``): the header of
    the file it was made on, or else its columns."""
    columns = saved_columns(document)
    extra = document if is_saved_preset(document) else {}
    by_field: dict[str, list[str]] = {}
    for column, name_ in columns.items():
        by_field.setdefault(name_, []).append(column)
    data = {"name": name, "description": extra.get("description") or f"saved mapping {name!r}",
            "match": {"header": list({normalise(c): c for c in extra.get("header") or columns
                                      if str(c).strip()}.values()), "exact": True},
            "columns": by_field, "constants": extra.get("constants") or {},
            "rows": extra.get("rows") or [], "numbers": extra.get("numbers") or {},
            "dates": extra.get("dates") or {}, "values": extra.get("values") or {},
            "as_of": extra.get("as_of") or {}}
    return parse_preset(data, source=f"saved mapping {name!r}", user=True)


def find(presets: Iterable[Preset], name: str, file: str | None = None) -> Preset:
    """The preset called ``name``; an error listing the names there are."""
    presets = list(presets)
    for preset in presets:
        if preset.name == name:
            return preset
    raise MappingError(f"no preset named {name!r}; presets: "
                       f"{', '.join(sorted(p.name for p in presets))}", file=file, found=(),
                       missing=(name,), value=name)


def choose(presets: Iterable[Preset], cells: Iterable[object], title_lines: Iterable[str] = (),
           sheet: str | None = None, file: str | None = None) -> Preset | None:
    """The one preset a file's header matches; an error naming them when several do.

    A preset that asks for title lines or a sheet and has them matched is more
    specific than one matching on the header alone, and wins over it.
    """
    cells, title_lines = list(cells), list(title_lines)
    hits = [p for p in presets if p.matches(cells, title_lines, sheet)]
    if len(hits) > 1:
        specific = [p for p in hits if p.title or p.sheet or p.exact]
        hits = specific if len(specific) == 1 else hits
    if len(hits) > 1:
        names = ", ".join(sorted(p.name for p in hits))
        raise MappingError(
            f"{file or 'file'}: the header matches several presets ({names}); pass "
            f"preset=NAME (--preset NAME) to say which", file=file, found=tuple(map(str, cells)),
            missing=(), value=names)
    return hits[0] if hits else None
