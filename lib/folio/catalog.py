"""The store as a notebook user sees it: portfolios, positions, imports, mappings.

Owns the small user-facing functions over ``store.queries``: they take plain
arguments, use the settings in force, and return DataFrames or results.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import IO

import pandas as pd

from folio.config import Settings, get_settings
from folio.display import readable
from folio.errors import ConfigError, MappingError
from folio.ingest.columns import FIELDS
from folio.ingest.parse import check_currencies
from folio.result import ImportResult
from folio.store import queries, schema
from folio.store.db import get_engine


def _engine(settings: Settings | None):
    return get_engine(settings or get_settings())


def _name(value: object, column, setting: str) -> str:
    """``value`` stripped, refused if empty or wider than the store's ``column``
    (PostgreSQL would refuse the write itself, with a traceback to show for it)."""
    name, limit = str(value).strip(), column.type.length
    if not name:
        raise ConfigError(f"a {setting} needs a name", setting=setting, value=value)
    if len(name) > limit:
        raise ConfigError(f"{setting} name is {len(name):,} characters, over the limit of "
                          f"{limit}", setting=setting, value=name[:limit] + "...", limit=limit)
    return name


def _currency(base_currency: object) -> str:
    code = str(base_currency).strip().upper()
    if check_currencies(pd.Series([code]))[0]:
        raise ConfigError(f"base currency {base_currency!r} is not an ISO 4217 code",
                          setting="base_currency", value=base_currency)
    return code


def create_portfolio(name: str, base_currency: str, *, settings: Settings | None = None) -> None:
    """Create a portfolio with its base currency (or change the base of an existing one)."""
    queries.create_portfolio(_engine(settings), _name(name, schema.portfolios.c.name,
                                                      "portfolio"), _currency(base_currency))


def _folded(name: str) -> str:
    """A name without case or accents: ``Trésor-sn`` and ``TRESOR-SN`` fold alike."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def check_portfolio_name(name: str, *, new_portfolio: bool = False,
                         settings: Settings | None = None) -> None:
    """Refuse a new portfolio name that differs from an existing one only by
    case or accents (a typo that would split a portfolio's history in two).

    Parameters
    ----------
    name
        The portfolio an import is for.
    new_portfolio
        Create ``name`` even so.

    Raises
    ------
    ConfigError
        ``did you mean TRESO-SN?``, with the fields ``value`` and ``did_you_mean``.
    """
    name = str(name).strip()
    if new_portfolio:
        return
    existing = queries.list_portfolios(_engine(settings))["name"].tolist()
    if name in existing:
        return
    alike = [other for other in existing if _folded(other) == _folded(name)]
    if alike:
        raise ConfigError(
            f"portfolio {name!r} does not exist; did you mean {alike[0]}? (a name that differs "
            f"from an existing one only by case or accents is refused; pass "
            f"new_portfolio=True to create {name!r})",
            setting="portfolio", value=name, did_you_mean=alike[0])


def set_base_currency(name: str, base_currency: str, *,
                      settings: Settings | None = None) -> str:
    """Change the base currency of an existing portfolio; return the one it had.

    Stored positions keep their own currencies; reports value in the new base
    from now on. Raises ``NotFound`` for an unknown portfolio and
    ``ConfigError`` for a code that is not ISO 4217.
    """
    return queries.set_base_currency(_engine(settings), str(name).strip(),
                                     _currency(base_currency))


def portfolios(*, settings: Settings | None = None) -> pd.DataFrame:
    """Every portfolio with its base currency, number of snapshots and latest date.

    A ``folio.display.Frame``: a DataFrame with clean dtypes that reads well as it is.
    """
    return readable(queries.list_portfolios(_engine(settings)))


def positions(portfolio: str, as_of: date | str | None = None, *,
              settings: Settings | None = None) -> pd.DataFrame:
    """The stored positions of a portfolio, one snapshot or all of them.

    A ``folio.display.Frame`` (a DataFrame): numbers as numbers, dates as
    ``datetime64``, text as strings; it shows amounts in each row's currency
    (no decimals for XAF/XOF), and hides the internal ``id``/``import_id``
    columns it still holds.
    """
    if isinstance(as_of, str):
        as_of = date.fromisoformat(as_of)
    return readable(queries.read_positions(_engine(settings), portfolio, as_of))


def imports(portfolio: str | None = None, *, settings: Settings | None = None) -> pd.DataFrame:
    """The history of imports, oldest first, optionally for one portfolio (a
    ``folio.display.Frame``; its ``id`` is shown: it is what ``get_import`` takes)."""
    return readable(queries.list_imports(_engine(settings), portfolio), show_ids=True)


def get_import(import_id: str, *, settings: Settings | None = None) -> ImportResult:
    """The stored result of an import (its status while it runs)."""
    from folio.ingest.pipeline import result_from_store

    return result_from_store(import_id, settings)


def issue_frames(import_id: str, size: int = 100_000, *,
                 settings: Settings | None = None) -> Iterator[pd.DataFrame]:
    """Every issue of an import from the store, in row order, ``size`` at a time.

    An import's result carries the first issues only (``MAX_RESULT_ISSUES``);
    this is all of them, however many.
    """
    engine = _engine(settings)
    queries.get_import(engine, import_id)  # NotFound, naming the id, for an unknown one
    yield from queries.issue_frames(engine, import_id, size)


def export_issues(import_id: str, path: str | Path | None = None, *,
                  settings: Settings | None = None) -> Path:
    """Write every issue of an import to a spreadsheet-safe CSV file; return its path.

    Parameters
    ----------
    import_id
        The import (``NotFound`` for an unknown one).
    path
        Where to write, under the output roots (``FOLIO_OUTPUT_ROOTS``);
        default ``issues-<import_id>.csv`` in the first root. A path outside
        the roots is refused (``PathNotAllowed``).

    The store streams the issues into the file a part at a time, so an import
    with a million issues writes the same way as one with ten.
    """
    from folio.execution.staging import open_output

    settings = settings or get_settings()
    queries.get_import(_engine(settings), import_id)  # NotFound before any file is made
    target = Path(path) if path else Path(settings.output_roots[0]) / f"issues-{import_id}.csv"
    with open_output(target, settings) as opened:
        os.ftruncate(opened.fd, 0)  # a file written before is replaced, not overlaid
        with open(os.dup(opened.fd), "w", encoding="utf-8", newline="") as out:
            write_issues(import_id, out, settings=settings)
    return opened.real


def write_issues(import_id: str, out: IO[str], *, settings: Settings | None = None) -> int:
    """Stream every issue of an import into ``out`` as a spreadsheet-safe CSV (a
    part at a time: there may be millions); return how many were written.
    ``NotFound`` for an unknown import."""
    engine = _engine(settings)
    queries.get_import(engine, import_id)
    return queries.write_issues_csv(engine, import_id, out)


def save_mapping(name: str, mapping: Mapping[str, str], *, header: Sequence[str] | None = None,
                 constants: Mapping[str, str] | None = None,
                 rows: Sequence[Mapping[str, str]] = (), decimal: str | None = None,
                 date_order: str | None = None, settings: Settings | None = None) -> None:
    """Save ``{"file column": "field"}`` under ``name``: a user preset for later imports.

    Parameters
    ----------
    name
        The preset's name, for ``mapping="NAME"``, ``preset="NAME"`` or
        ``folio import --preset NAME``.
    mapping
        ``{"file column": "field"}``.
    header
        The header of the file the mapping is for (every cell): its signature.
        A later file is read with this preset, unasked, only when its header is
        this one (cells in any order); default: the mapping's columns.
    constants
        ``{"field": "value"}`` for what the file does not say (``{"currency": "XOF"}``).
    rows
        Row rules ``{"column": ..., "match": regex, "role": ...}``: which lines are
        cash, totals, lots, footers... (roles: ``folio.ingest.presets.ROLES``).
    decimal, date_order
        ``","`` or ``"."``; ``"dmy"`` or ``"mdy"`` (default: folio judges).
    """
    from folio.ingest.presets import saved_preset

    bad = {col: field for col, field in mapping.items() if field not in FIELDS}
    if bad:
        col, field = next(iter(bad.items()))
        raise MappingError(f"mapping {name!r}: {field!r} (for column {col!r}) is not a field; "
                           f"fields are {', '.join(FIELDS)}", file=None, found=tuple(mapping),
                           missing=(), value=field)
    name = _name(name, schema.mappings.c.name, "mapping")
    document = {"columns": dict(mapping), "header": list(header or mapping),
                "constants": dict(constants or {}), "rows": [dict(r) for r in rows],
                "numbers": {"decimal": decimal} if decimal else {},
                "dates": {"order": date_order} if date_order else {}}
    missing = [c for c in mapping if c not in document["header"]]
    if missing:
        raise MappingError(f"mapping {name!r}: column {missing[0]!r} is not in the header "
                           f"given ({', '.join(map(str, document['header']))})", file=None,
                           found=tuple(document["header"]), missing=tuple(missing))
    saved_preset(name, document)  # refused now, not at the next import: fields, roles
    queries.save_mapping(_engine(settings), name, document)


def file_header(path, *, sheet: str | None = None) -> list[str]:
    """The header cells of a file as folio reads it (its unnamed columns left out)."""
    from folio.ingest.readers import read_blocks

    blocks = read_blocks(path, sheet=sheet)
    try:
        first = next(blocks)
    finally:
        blocks.close()
    return [h for at, h in enumerate(first.header, 1) if h != f"column {at}"]


def presets(*, settings: Settings | None = None) -> list[dict]:
    """The formats folio recognises: its own presets, then the user's
    (``FOLIO_HOME/presets``), each as ``{name, description, header, source, user}``."""
    from folio.ingest.pipeline import all_presets

    return [p.describe() for p in all_presets(settings or get_settings())]


def mappings(*, settings: Settings | None = None) -> dict[str, dict[str, str]]:
    """Saved mappings by name, each ``{"file column": "field"}``."""
    from folio.ingest.presets import saved_columns

    return {name: saved_columns(doc) for name, doc in queries.load_mappings(_engine(settings)).items()}
