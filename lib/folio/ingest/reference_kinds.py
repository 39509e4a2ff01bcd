"""What a reference file is: its kind and which column is which field, from its header.

Owns the English and French headers of reference fields, the kinds of
reference data (instruments, prices, FX rates, the ECB's wide rates table) and
the rule that decides a file's kind from its columns: the kind whose required
fields the header has, the one using most columns when several do, and an
error naming the file and its columns when none or two fit alike.
"""

from __future__ import annotations

import re

import pandas as pd

from folio.errors import MappingError
from folio.ingest.columns import normalise
from folio.ingest.parse import clean_text

# Field -> the headers (normalised) that name it. "cours" is a price in a prices
# file and a rate in a rates file: the kind, decided first, says which.
ALIASES: dict[str, tuple[str, ...]] = {
    "identifier": ("identifier", "isin", "code isin", "isin code", "code valeur", "security id",
                   "instrument id", "ticker", "symbol", "code"),
    "name": ("name", "security name", "instrument name", "description", "libelle",
             "libelle valeur", "designation", "nom"),
    "issuer": ("issuer", "issuer name", "emetteur", "nom emetteur"),
    "country": ("country", "country of risk", "pays", "pays emetteur", "pays de risque"),
    "asset_class": ("asset class", "asset type", "security type", "classe d actif",
                    "classe d actifs", "type d actif", "categorie", "type de titre"),
    "currency": ("currency", "ccy", "currency code", "devise", "monnaie", "code devise"),
    "maturity_date": ("maturity", "maturity date", "echeance", "date d echeance",
                      "date echeance", "maturite"),
    "coupon": ("coupon", "coupon rate", "taux coupon", "taux du coupon", "taux facial"),
    "modified_duration": ("modified duration", "duration", "duration modifiee", "sensibilite"),
    "date": ("date", "as of", "as of date", "price date", "rate date", "quote date",
             "date de cotation", "date du cours", "date de valeur", "date valeur", "jour"),
    "price": ("price", "close", "closing price", "last price", "cours", "prix",
              "cours de cloture", "dernier cours", "cours de reference"),
    "rate": ("rate", "fx rate", "exchange rate", "cours", "taux", "taux de change",
             "cours de change", "cours moyen", "parite"),
    "base": ("base", "base currency", "from", "from currency", "devise de base", "devise source"),
    "quote": ("quote", "quote currency", "to", "to currency", "devise de cotation",
              "devise cible", "contre", "contre devise"),
}
LOOKUP = {normalise(a): f for f, names in ALIASES.items() for a in (f, *names)}
# Headers naming two fields ("cours": price or rate) go to the one the kind has.
_SHARED = {normalise(a): [f for f, names in ALIASES.items() if normalise(a) in
                          {normalise(n) for n in (f, *names)}]
           for names in ALIASES.values() for a in names}

ATTRIBUTES = ("name", "issuer", "country", "asset_class", "maturity_date", "coupon",
              "modified_duration")
KINDS: dict[str, dict[str, tuple[str, ...]]] = {
    "instruments": {"fields": ("identifier", "currency", *ATTRIBUTES),
                    "required": ("identifier",)},
    "prices": {"fields": ("identifier", "date", "price", "currency"),
               "required": ("identifier", "date", "price")},
    "fx_rates": {"fields": ("date", "rate", "base", "quote", "currency"),
                 "required": ("date", "rate")},
}
TABLES = {"instruments": "instruments", "prices": "prices", "fx_rates": "fx_rates",
          "ecb": "fx_rates"}
KEYS = {"instruments": ("identifier",), "prices": ("date", "identifier"),
        "fx_rates": ("date", "base", "quote")}
# Currencies the ECB published before they left (euro adoptions, redenominations):
# its historical file keeps their columns, full of N/A.
ECB_LEGACY = frozenset("CYP EEK LTL LVL MTL ROL SIT SKK TRL HRK".split())
_CODE_HEADER = re.compile(r"^[A-Z]{3}$")
def _fields_for(kind: str, header: list[str]) -> dict[str, str]:
    """File header -> field of ``kind``, first column winning for a field."""
    allowed = KINDS[kind]["fields"]
    out: dict[str, str] = {}
    for cell in header:
        key = normalise(cell)
        candidates = _SHARED.get(key) or ([LOOKUP[key]] if key in LOOKUP else [])
        chosen = next((f for f in candidates if f in allowed), None)
        if chosen and chosen not in out.values():
            out[cell] = chosen
    return out


def _fits(kind: str, mapped: dict[str, str], header: list[str]) -> bool:
    have = set(mapped.values())
    if not set(KINDS[kind]["required"]) <= have:
        return False
    if kind == "instruments":
        return bool(have & set(ATTRIBUTES))
    if kind == "fx_rates":
        # A table of identifiers is about securities, whatever else it holds.
        named = any(LOOKUP.get(normalise(h)) == "identifier" for h in header)
        return not named and bool(have & {"base", "currency"})
    return True


def filled(column: pd.Series) -> bool:
    return bool(clean_text(column).notna().any())


def _wide_columns(header: list[str], frame: pd.DataFrame) -> tuple[str, list[str]] | None:
    """(date column, currency columns) if the table is the ECB's wide layout."""
    dates = [h for h in header if normalise(h) == "date"]
    codes = [h for h in header if _CODE_HEADER.match(h.strip())]
    if len(dates) != 1 or not codes:
        return None
    rest = [h for h in header if h not in dates and h not in codes]
    # The trailing comma of every line makes one last, nameless and empty column.
    if any(filled(frame[h]) for h in rest):
        return None
    return dates[0], codes


def decide_kind(name: str, header: list[str], frame: pd.DataFrame
                ) -> tuple[str, dict[str, str]]:
    """The kind of a reference table and its header -> field mapping.

    Raises ``MappingError`` naming the file and its columns when no kind fits,
    or when two fit as well as each other.
    """
    wide = _wide_columns(header, frame)
    if wide is not None:
        return "ecb", {wide[0]: "date", **{c: c.strip() for c in wide[1]}}
    fitting = {kind: mapped for kind in KINDS
               if _fits(kind, mapped := _fields_for(kind, header), header)}
    if not fitting:
        needs = "; ".join(f"{k}: {', '.join(v['required'])}" + (" and an attribute"
                          if k == "instruments" else " and base or currency"
                          if k == "fx_rates" else "") for k, v in KINDS.items())
        raise MappingError(f"{name}: cannot tell what reference data this is from its columns "
                           f"({', '.join(header)}); a reference file needs {needs}, or is an "
                           f"ECB rates table (Date and a column per currency)",
                           file=name, found=list(header), missing=[])
    best = max(len(m) for m in fitting.values())
    top = [k for k, m in fitting.items() if len(m) == best]
    if len(top) > 1:
        raise MappingError(f"{name}: its columns ({', '.join(header)}) fit "
                           f"{' and '.join(top)} alike; split the file or rename columns",
                           file=name, found=list(header), candidates=top)
    return top[0], fitting[top[0]]
