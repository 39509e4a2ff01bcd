"""Column mapping: which file column holds which canonical holdings field.

Owns the canonical field names, their English and French aliases, header
normalisation (case-, accent- and punctuation-insensitive) and the resolution of
a file header into a mapping, with an explicit mapping taking precedence.
"""

from __future__ import annotations

import difflib
import functools
import re
import shlex
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from folio.errors import MappingError
from folio.ingest.currencies import ISO_4217

# Canonical fields, in the order positions are stored and shown.
FIELDS: tuple[str, ...] = (
    "portfolio",
    "as_of",
    "identifier",
    "name",
    "quantity",
    "price",
    "market_value",
    "accrued_interest",
    "currency",
    "issuer",
    "country",
    "asset_class",
    "maturity_date",
    # The broker account a position is held in (a column, or the account title
    # line above a per-account block): one file can feed one portfolio per account.
    "account",
)
# In an explicit mapping, a column mapped to IGNORE holds no field: aliases leave it too.
IGNORE = "ignore"
REQUIRED: tuple[str, ...] = ("identifier", "quantity", "currency")
# A position must be valued somehow: by its market value or by quantity x price.
ONE_OF: tuple[tuple[str, ...], ...] = (("market_value", "price"),)
NUMERIC: tuple[str, ...] = ("quantity", "price", "market_value", "accrued_interest")
DATES: tuple[str, ...] = ("as_of", "maturity_date")

# Aliases are written naturally; they are normalised once at import time.
_ALIASES: dict[str, tuple[str, ...]] = {
    "portfolio": (
        "portfolio", "portfolio code", "portfolio id", "fund", "fund code", "account",
        "account number", "portefeuille", "code portefeuille", "fonds", "compte",
        "numero de compte",
    ),
    "as_of": (
        "as of", "as of date", "as-of date", "asof", "date", "valuation date",
        "position date", "report date", "holding date", "date de valorisation",
        "date d'arrete", "date arrete", "date de position", "date d'evaluation",
        "date de situation",
    ),
    "identifier": (
        "isin", "isin code", "code isin", "identifier", "instrument id", "security id",
        "instrument code", "security code", "code", "code valeur", "code titre",
        "identifiant", "code instrument", "id", "symbol", "ticker", "symbol/isin",
        "symbole/isin", "ticker/isin", "symbol/cusip", "securities id", "symbool/isin",
        "symbol isin", "simbolo/isin", "symbool", "symbole", "simbolo", "code isin valeur",
    ),
    "name": (
        "name", "instrument name", "security name", "security description", "description",
        "security", "instrument", "libelle", "libelle valeur", "designation", "nom",
        "titre", "valeur", "libelle titre", "product", "produit", "produkt", "producto",
        "investment name", "omschrijving", "bezeichnung", "descripcion", "nom de la valeur",
    ),
    "quantity": (
        "quantity", "qty", "units", "shares", "holding", "position",
        "quantite", "nombre", "nombre de titres", "aantal", "anzahl", "stuck", "cantidad",
        "quantity held", "td quantity", "settled quantity",
    ),
    "price": (
        "price", "clean price", "market price", "unit price", "cours", "prix",
        "cours pied de coupon", "cours de cloture", "prix unitaire", "cours unitaire",
        "closing", "cloture", "last price", "last price $", "close price", "closing price",
        "share price", "slotkoers", "koers", "schlusskurs", "kurs", "precio de cierre",
        "precio", "mark price", "cours de bourse", "dernier cours",
    ),
    "market_value": (
        "market value", "mv", "valuation", "value", "market val", "mkt value",
        "valeur de marche", "valorisation", "montant", "encours", "valeur boursiere",
        "valeur actuelle", "value $", "ending value", "total value", "current value",
        "position value", "market value local", "waarde", "wert", "valor", "kurswert",
        "valeur de marche (fcfa)", "valorisation (fcfa)",
    ),
    "accrued_interest": (
        "accrued interest", "accrued", "accrued int", "interest accrued",
        "coupon couru", "coupons courus", "interets courus", "interet couru",
    ),
    "currency": (
        "currency", "ccy", "curr", "currency code", "devise", "monnaie",
        "code devise", "devise de cotation", "valuta", "wahrung", "moneda", "divisa",
        "security issue ccy", "currency primary", "currencyprimary",
    ),
    "issuer": ("issuer", "issuer name", "emetteur", "nom emetteur", "nom de l'emetteur"),
    "country": (
        "country", "country of risk", "country code", "issuer country", "pays",
        "pays emetteur", "pays de risque", "pays de l'emetteur",
    ),
    "asset_class": (
        "asset class", "asset type", "security type", "instrument type", "class",
        "classe d'actif", "classe d'actifs", "type d'actif", "categorie", "type de titre",
        "type d'instrument", "nature",
    ),
    "maturity_date": (
        "maturity", "maturity date", "expiry", "echeance", "date d'echeance",
        "date echeance", "maturite",
    ),
    # No aliases of its own: "Account" names the portfolio in the files folio was
    # built with; a preset or a mapping says where a file's account column is.
    "account": (),
}


def normalise(header: object) -> str:
    """Fold a header to a comparable key: no accents, lower case, single spaces.

    ``"Date d'Échéance"``, ``"date_d_echeance"`` and ``" DATE D'ECHEANCE "`` all
    give ``"date d'echeance"`` or ``"date d echeance"``; apostrophes are kept as
    spaces-equivalent by dropping them on both sides of the comparison.
    """
    return _folded(str(header))


# Remembered: recognising a file's format folds each of its first lines' cells
# and every preset's signature, at every import (0.1 s of a 100,000-row import's
# 0.4 s of CPU before; the same few hundred strings each time).
@functools.lru_cache(maxsize=16384)
def _folded(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("'", " ")
    text = re.sub(r"[^0-9a-z%]+", " ", text)
    return " ".join(text.split())


# Used only where the file has no column of the field's own aliases: ``Nominal``
# is the quantity of a bond report, not beside a ``Quantity`` column.
_FALLBACK_ALIASES: dict[str, tuple[str, ...]] = {
    "quantity": ("nominal", "face value", "nominal detenu", "nominal amount", "par value"),
}

ALIASES: dict[str, str] = {}
for _field, _names in _ALIASES.items():
    for _name in (_field, *_names):
        ALIASES.setdefault(normalise(_name), _field)
FALLBACK: dict[str, str] = {normalise(n): f for f, names in _FALLBACK_ALIASES.items()
                            for n in names}


# A money column's header may name its currency, before or after the field's
# name ("Valorisation (XOF)", "Price EUR", "Valeur de marché F CFA"): a file with
# no currency column is then in that one.
MONEY_FIELDS = ("price", "market_value", "accrued_interest")
_FRANC_WORDS = {("fcfa",): "FCFA", ("cfa",): "FCFA", ("f", "cfa"): "FCFA"}


def header_currency(column: object) -> tuple[str, str] | None:
    """``(field, currency)`` for a header that is a money field's alias with a
    currency code before or after it (``FCFA``: settled later, as in a cell)."""
    return _key_currency(normalise(column))


# Remembered, as _folded: a file's first lines are looked at for a header at
# every import, the same few hundred cells each time.
@functools.lru_cache(maxsize=16384)
def _key_currency(key: str) -> tuple[str, str] | None:
    words = key.split()
    for size in (1, 2):
        if len(words) <= size:
            break
        for code_words, rest in ((words[-size:], words[:-size]), (words[:size], words[size:])):
            code = _FRANC_WORDS.get(tuple(code_words)) or (
                code_words[0].upper() if size == 1 and code_words[0].upper() in ISO_4217 else None)
            field = ALIASES.get(" ".join(rest)) if code else None
            if field in MONEY_FIELDS:
                return field, code
    return None


def _field_of(key: str) -> str | None:
    """The field a (normalised) header names by folio's aliases, with or without
    its currency."""
    if key in ALIASES:
        return ALIASES[key]
    named = _key_currency(key)
    return named[0] if named else None


@dataclass(frozen=True)
class ColumnMapping:
    """The resolved mapping of one file: file column -> canonical field."""

    columns: dict[str, str]
    found: tuple[str, ...]
    name: str | None = None  # the saved mapping used, if any
    # A file with no currency column whose money columns' headers all name one:
    # (that currency, those columns). The import reads every row in it.
    header_currency: tuple[str, tuple[str, ...]] | None = None

    @property
    def fields(self) -> dict[str, str]:
        """Canonical field -> file column."""
        return {field: col for col, field in self.columns.items()}


def score_header(cells: Iterable[object], known: Iterable[str] = ()) -> int:
    """How many distinct fields a candidate header row names.

    ``known`` adds column names from explicit or saved mappings, so a header of
    custom names is still found when a mapping names them.
    """
    extra = {normalise(k) for k in known}
    keys = [normalise(c) for c in cells]
    fields = {_field_of(k) or FALLBACK.get(k) for k in keys}
    return len((fields - {None}) | {k for k in keys if k in extra})


def missing_fields(fields: Iterable[str]) -> list[str]:
    """Required fields (and one-of groups) that a set of mapped fields lacks."""
    have = set(fields)
    missing = [f for f in REQUIRED if f not in have]
    missing += [" or ".join(group) for group in ONE_OF if not have.intersection(group)]
    return missing


def resolve(
    header: Iterable[object],
    explicit: Mapping[str, str] | None = None,
    *,
    file: str | None = None,
    name: str | None = None,
    aliases: bool = True,
) -> ColumnMapping:
    """Map a file header to canonical fields.

    Parameters
    ----------
    header
        The file's column names, as read.
    explicit
        ``{"file column": "field"}``; wins over aliases. File columns are matched
        case- and accent-insensitively, so a mapping saved from one custodian's
        file applies to the same header however it is spelt. A column mapped to
        ``IGNORE`` ("ignore") is read as no field, even if its name is an alias.
    file
        The file name, for error messages.
    name
        The saved mapping's name, carried into the result for the summary.
    aliases
        Map the columns ``explicit`` leaves by folio's aliases (a preset's
        mapping is whole: False).

    Raises
    ------
    MappingError
        When a required field has no column, or the explicit mapping names a
        field that does not exist or a column the file does not have.
    """
    found = tuple(str(h) for h in header)
    by_key = {normalise(h): h for h in found}
    columns: dict[str, str] = {}
    taken: set[str] = set()
    ignored: set[str] = set()
    for col, field in (explicit or {}).items():
        if field not in FIELDS and field != IGNORE:
            raise MappingError(
                f"{file or 'mapping'}: unknown field {field!r} for column {col!r}; "
                f"fields are {', '.join(FIELDS)} (or {IGNORE})",
                file=file, found=found, missing=(), unknown=(field,),
            )
        actual = by_key.get(normalise(col))
        if actual is None:
            raise MappingError(
                f"{file or 'mapping'}: the mapping names column {col!r}, which the file "
                f"does not have; columns found: {', '.join(found)}",
                file=file, found=found, missing=(col,),
            )
        if field == IGNORE:
            ignored.add(actual)
            continue
        columns[actual] = field
        taken.add(field)
    by_field: dict[str, list[str]] = {}
    fallback: dict[str, list[str]] = {}
    # Beside a currency column, a header's currency is not the rows' ("Market Value
    # (EUR)" beside "Currency: USD" is converted): such a column keeps no field.
    priced_in_header = "currency" not in taken and not any(
        ALIASES.get(normalise(c)) == "currency" for c in found if c not in ignored)
    for col in found if aliases else ():
        if col in columns or col in ignored:  # the mapping said: no field
            continue
        key = normalise(col)
        field = _field_of(key) if priced_in_header else ALIASES.get(key)
        if field and field not in taken:
            by_field.setdefault(field, []).append(col)
        elif key in FALLBACK and FALLBACK[key] not in taken:
            fallback.setdefault(FALLBACK[key], []).append(col)
    for field, cols in fallback.items():
        by_field.setdefault(field, cols)
    for field, cols in by_field.items():
        if len(cols) > 1:
            raise MappingError(
                f"{file or 'file'}: columns {' and '.join(repr(c) for c in cols)} both mean "
                f"{field}; say which with a mapping (folio mapping save NAME "
                f"\"{cols[0]}={field}\") or a preset",
                file=file, found=found, missing=(), value=", ".join(cols))
        columns[cols[0]] = field
        taken.add(field)
    in_header = None
    if priced_in_header and aliases:
        named = {c: header_currency(c) for c, f in columns.items() if f in MONEY_FIELDS}
        codes = {n[1] for n in named.values() if n}
        if len(codes) == 1 and all(named.values()):  # every money column, one currency
            in_header = (codes.pop(), tuple(named))
            taken.add("currency")
    missing = missing_fields(taken)
    if missing:
        guesses = guess(found, columns)
        command, call = save_commands(guesses, found, file, missing_fields(guesses.values()))
        shown = ", ".join(f"{c!r} -> {f}" for c, f in guesses.items()) or "(none)"
        raise MappingError(
            f"{file or 'file'}: missing required column(s) {', '.join(missing)}; "
            f"columns found: {', '.join(found) or '(none)'}.\n"
            f"  folio's best guesses: {shown}\n"
            f"  save a mapping (a preset for files with this header), then import again:\n"
            f"    {command}\n"
            f"  or in Python:\n    {call}",
            file=file, found=found, missing=tuple(missing), guesses=guesses,
            command=command, python=call,
        )
    return ColumnMapping(columns=columns, found=found, name=name, header_currency=in_header)


def guess(found: Iterable[str], columns: Mapping[str, str]) -> dict[str, str]:
    """``columns`` (what aliases mapped), and for each field still unmapped the file
    column whose name is closest to one of the field's aliases (word by word)."""
    out = dict(columns)
    taken = set(out.values())
    scores = []
    for col in found:
        if col in out or not normalise(col) or normalise(col).startswith("column "):
            continue
        key = normalise(col)
        for alias, field in ALIASES.items():
            if field in taken:
                continue
            ratio = difflib.SequenceMatcher(None, key, alias).ratio()
            words = set(key.split()) & set(alias.split())
            score = max(ratio, 0.75 if words and len(max(words, key=len)) > 3 else 0)
            if score >= 0.7:
                scores.append((score, col, field))
    for _score, col, field in sorted(scores, key=lambda item: -item[0]):
        if col not in out and field not in taken:
            out[col] = field
            taken.add(field)
    return out


def save_commands(guesses: Mapping[str, str], found: Iterable[str], file: str | None,
                  still_missing: Iterable[str] = (), name: str = "my-custodian") -> tuple[str, str]:
    """The ``folio mapping save`` command, and the Python call, that save ``guesses``
    (a placeholder for each field still missing) as a preset for this header."""
    pairs = dict(guesses)
    constants = {}
    for field in still_missing:
        if field == "currency":  # most often a file of one currency that never says it
            constants["currency"] = "<CODE>"
        else:
            pairs[f"<column for {field}>"] = field.split(" or ")[0]
    quoted = " ".join(shlex.quote(f"{c}={f}") for c, f in pairs.items())
    where = shlex.quote(str(file)) if file else "FILE"
    command = (f"folio mapping save {name} {quoted} --header-from {where}"
               + "".join(f" --constant {shlex.quote(f'{f}={v}')}" for f, v in constants.items()))
    call = (f"folio.save_mapping({name!r}, {pairs!r}, "
            f"header=folio.catalog.file_header({str(file or 'FILE')!r})"
            + (f", constants={constants!r}" if constants else "") + ")")
    return command, call


def matches(saved: Mapping[str, str], header: Iterable[object]) -> bool:
    """Whether a saved mapping's file columns all appear in a header."""
    keys = {normalise(h) for h in header}
    return bool(saved) and all(normalise(c) in keys for c in saved)
