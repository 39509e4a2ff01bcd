"""The names analytics know: asset classes, countries and regions, currencies.

Owns reading the two tables beside this module (``asset_classes.csv``: label
-> class of one taxonomy; ``countries.csv``: ISO 3166 alpha-2 codes with their
monetary union, CEMAC or UEMOA), how a label is normalised before it is looked
up (case, accents, apostrophes and spacing ignored), and the error that names
an unknown value with the values known. Currencies are ISO 4217 plus the
currencies of the parity table (FRF, DEM...: a historical scenario names them).
The tables are data: a new label or country is a new line.

It also owns classifying position columns by these vocabularies, once per
distinct value so a million rows cost a few thousand lookups: the taxonomy
class of each asset-class label (``classify``), a missing country read from
an ISIN's prefix (``isin_countries``) and each country's region (``regions_of``).
"""

from __future__ import annotations

import difflib
import functools
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from folio import datafiles
from folio.errors import ConfigError, ValidationError

HERE = Path(__file__).parent
ASSET_CLASSES = ("equity", "government bond", "corporate bond", "bond", "money market", "fund",
                 "cash", "other")
OTHER = "other"  # the class of a label outside the table, and the region of a country in none


def normalise(label: object) -> str:
    """``label`` as looked up: no accents, casefolded, one space, straight apostrophes."""
    text = unicodedata.normalize("NFKD", str(label).replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def _rows(name: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of a ``#``-commented CSV beside this module."""
    return datafiles.rows(HERE / name)


@functools.cache
def asset_class_labels() -> dict[str, str]:
    """Normalised label -> class (one of ``ASSET_CLASSES``); the class names are labels too."""
    out = {normalise(c): c for c in ASSET_CLASSES}
    for line, row in _rows("asset_classes.csv"):
        label, cls = normalise(row["label"]), row["class"].strip()
        if cls not in ASSET_CLASSES or out.get(label, cls) != cls:
            raise ConfigError(f"asset_classes.csv, line {line}: {row['label']!r} -> {cls!r}: "
                              f"a class is one of {', '.join(ASSET_CLASSES)}, once per label",
                              file="asset_classes.csv", row=line, setting="class")
        out[label] = cls
    return out


def asset_class(label: object) -> str | None:
    """The taxonomy class of an asset-class label, None for a label not in the table."""
    return asset_class_labels().get(normalise(label))


def _per_distinct(column: pd.Series, lookup) -> pd.Series:
    """``lookup`` applied once per distinct value of ``column`` (None: missing),
    as a categorical: a million rows of a few names are codes, not strings."""
    codes, uniques = pd.factorize(column)
    return _spread(codes, [lookup(u) for u in uniques], column.index)


def _spread(codes: np.ndarray, per_unique: list[str | None], index: pd.Index) -> pd.Series:
    """A categorical with ``per_unique[code]`` per row; code -1 and None are missing."""
    categories = sorted({v for v in per_unique if v is not None})
    at = {c: i for i, c in enumerate(categories)}
    table = np.array([at.get(v, -1) for v in per_unique] + [-1], dtype=np.int64)
    return pd.Series(pd.Categorical.from_codes(table[np.where(codes < 0, len(per_unique),
                                                              codes)], categories=categories),
                     index=index)


def classify(labels: pd.Series) -> pd.Series:
    """The taxonomy class of each asset-class label.

    A label of the table gets its class ("Obligation d'État" and "Government
    Bond" are both ``government bond``); any other non-blank label is
    ``other`` (the label itself is kept beside it by the valuation); a blank
    or missing one stays missing (the ``unclassified`` bucket).
    """
    def lookup(label):
        text = str(label).strip()
        return (asset_class(text) or OTHER) if text else None

    return _per_distinct(labels, lookup)


def isin_countries(identifiers: pd.Series) -> pd.Series:
    """The country an ISIN's first two letters name, where the identifier is a
    well-formed ISIN (check digit included) with an ISO 3166 prefix; missing
    otherwise (``XS``, ``EU``: international, no country)."""
    from folio.ingest.parse import check_isins

    # Per distinct identifier: a snapshot repeats its instruments.
    codes, uniques = pd.factorize(identifiers)
    text = pd.Series(uniques, dtype="str").str.strip().str.upper()
    looks_like, bad = check_isins(text.fillna(""))
    known = countries()
    return _spread(codes, [p if ok and p in known else None
                           for p, ok in zip(text.str[:2], looks_like & ~bad, strict=True)],
                   identifiers.index)


def regions_of(codes: pd.Series) -> pd.Series:
    """The region (``CEMAC``, ``UEMOA``) of each country code; ``other`` for a
    known country in none; missing for a blank or unknown code."""
    known = countries()

    def lookup(code):
        code = str(code).strip().upper()
        return (known[code] or OTHER) if code in known else None

    return _per_distinct(codes, lookup)


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> region (``CEMAC``, ``UEMOA`` or empty)."""
    return {row["code"].strip().upper(): row["region"].strip() for _, row in _rows("countries.csv")}


@functools.cache
def regions() -> dict[str, tuple[str, ...]]:
    """Region -> its member countries' codes."""
    out: dict[str, list[str]] = {}
    for code, region in countries().items():
        if region:
            out.setdefault(region, []).append(code)
    return {region: tuple(sorted(codes)) for region, codes in out.items()}


@functools.cache
def currencies() -> frozenset[str]:
    """ISO 4217 codes and every currency of the shipped parity table."""
    from folio.analytics.pegs import shipped_pegs
    from folio.ingest.currencies import ISO_4217

    table = shipped_pegs()
    return ISO_4217 | frozenset(table["currency"]) | frozenset(table["anchor"])


def unknown(source: str, key: str, value: str, what: str, known: Iterable[str],
            said: str | None = None) -> ValidationError:
    """The error for a value not in a vocabulary: file, key, the closest known values,
    and the known values (all of them in the error's ``known`` field)."""
    known = sorted(set(known))
    # The same letters in another order (XFA for XAF), then a code the value
    # starts with (CMR, Cameroon's alpha-3, for CM): difflib ranks every code
    # sharing two letters alike.
    wanted = value.upper() if what in ("currency", "country") else value
    close = [k for k in known if sorted(k) == sorted(wanted)]
    close += [k for k in known if len(k) > 1 and wanted.startswith(k) and k not in close]
    close += [k for k in difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
              if k not in close]
    close = close[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    listed = said or (", ".join(known[:40]) + (f" and {len(known) - 40} more"
                                                if len(known) > 40 else ""))
    return ValidationError(f"{source}: {key}: unknown {what} {value!r}{hint} Known: {listed}",
                           file=source, key=key, value=value, known=known)
