"""The ISO 4217 currency codes a holding may be denominated in.

Owns the list of active alphabetic codes (plus the fund and precious-metal codes
custodians use: XAU, XAG, XDR...), kept as data here so validation needs no
network or extra package, and the names and symbols that mean one of them
(``currency_names.csv``: ``Euro``, ``Dollar US``, ``£``).
"""

from __future__ import annotations

import functools
from pathlib import Path

from folio import datafiles

ISO_4217: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
    UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG
    XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
    """.split()
)

# ISO 4217 minor units where they are not 2 (amounts are shown with this many
# decimals: a CFA franc amount has none). Precious metals and funds have none.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF "
                    "XAG XAU XPD XPT XDR XBA XBB XBC XBD XSU XUA".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}


def minor_units(code: object, default: int = 2) -> int:
    """The decimals of an amount in ``code`` (``default`` for an unknown code)."""
    text = str(code).strip().upper() if isinstance(code, str) else ""
    if text not in ISO_4217:
        return default
    return MINOR_UNITS.get(text, 2)


NAMES_FILE = Path(__file__).with_name("currency_names.csv")


@functools.lru_cache(maxsize=1)
def currency_names() -> dict[str, str]:
    """Folded name or symbol -> ISO 4217 code, from ``currency_names.csv``.

    Raises ConfigError for a code that is not ISO 4217 or a name given two codes."""
    from folio.errors import ConfigError

    names: dict[str, str] = {}
    for line, row in datafiles.rows(NAMES_FILE):
        key, code = datafiles.fold(row["name"]), row["code"].strip().upper()
        if code not in ISO_4217 or names.setdefault(key, code) != code:
            raise ConfigError(f"{NAMES_FILE.name}, line {line}: {row['name']!r} is {code}, "
                              f"which is not ISO 4217 or not what it is elsewhere "
                              f"({names.get(key)})", file=str(NAMES_FILE), row=line)
    return names


def named(values) -> dict[str, str]:
    """Of distinct cells that are not ISO 4217 codes, those that name one: cell -> code."""
    table = currency_names()
    found = {}
    for value in values:
        if isinstance(value, str) and value not in ISO_4217:
            code = table.get(datafiles.fold(value))
            if code:
                found[value] = code
    return found
