"""A realistic holdings file of any size, for the import benchmarks.

Eleven columns as in the samples (portfolio, as-of date, ISIN, name, quantity,
price, market value, currency, issuer, country, asset class), about 90 MB per
million rows, with 1% bad rows (bad ISIN check digits, non-numbers, unknown
currencies). Written in blocks with numpy, so ten million rows take seconds.
"""

from __future__ import annotations

import numpy as np

HEADER = ("Portfolio,As Of Date,ISIN,Security Name,Quantity,Clean Price,Market Value,Currency,"
          "Issuer,Country,Asset Class\n")
ISSUERS = ["Republic of Cameroon", "Gabonese Republic", "Republic of Senegal",
           "Republic of Cote d'Ivoire", "TotalEnergies SE", "Orange SA", "BNP Paribas SA",
           "Sonatel SA", "Federal Republic of Germany", "United States Treasury"]
COUNTRIES = ["CM", "GA", "SN", "CI", "FR", "FR", "FR", "SN", "DE", "US"]
CURRENCIES = ["XAF", "XAF", "XOF", "XOF", "EUR", "EUR", "EUR", "XOF", "EUR", "USD"]
CLASSES = ["Government Bond", "Government Bond", "Government Bond", "Government Bond", "Equity",
           "Equity", "Equity", "Equity", "Government Bond", "Government Bond"]


def isin_check_digits(country: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """ISIN check digits for bodies ``country`` (2 letters) + ``numbers`` (9 digits), vectorised."""
    letters = np.array([[int(c, 36) for c in cc] for cc in country])  # 10..35: two digits each
    n = len(numbers)
    digits = np.empty((n, 13), dtype=np.int64)
    digits[:, 0], digits[:, 1] = letters[:, 0] // 10, letters[:, 0] % 10
    digits[:, 2], digits[:, 3] = letters[:, 1] // 10, letters[:, 1] % 10
    rest = numbers.copy()
    for k in range(12, 3, -1):
        digits[:, k], rest = rest % 10, rest // 10
    weights = np.where(np.arange(13)[::-1] % 2 == 0, 2, 1)  # double from the rightmost digit
    doubled = digits * weights
    total = (doubled // 10 + doubled % 10).sum(axis=1)
    return (10 - total % 10) % 10


def write(path, rows: int, *, seed: int = 7, bad_share: float = 0.01, block: int = 500_000,
          portfolio: str = "BACKFILL") -> int:
    """Write ``rows`` rows of ``portfolio`` to ``path``; return the number of deliberately
    bad rows."""
    rng = np.random.default_rng(seed)
    bad_total = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER)
        for start in range(0, rows, block):
            n = min(block, rows - start)
            # One position per instrument, as in a real snapshot: every ISIN is distinct.
            number = np.arange(start, start + n, dtype=np.int64)
            kind = rng.integers(0, len(ISSUERS), n)
            pick = number
            country = np.array(COUNTRIES)[kind]
            check = isin_check_digits(country, number)
            body = np.char.add(country, np.char.zfill(number.astype(str), 9))
            isins = np.char.add(body, check.astype(str))
            qty = rng.integers(1, 100_000, n) * 100
            price = np.round(rng.uniform(50, 150, n), 2)
            bond = np.isin(kind, [0, 1, 2, 3, 8, 9])
            mv = np.round(np.where(bond, qty * price / 100, qty * price), 2)
            ident = isins.astype(object)
            qty_text = qty.astype(str).astype(object)
            ccy = np.array(CURRENCIES, dtype=object)[kind]
            bad = rng.random(n) < bad_share
            bad_total += int(bad.sum())
            which = rng.integers(0, 3, n)
            wrong = np.char.add(body, ((check + 1) % 10).astype(str)).astype(object)
            ident = np.where(bad & (which == 0), wrong, ident)
            qty_text = np.where(bad & (which == 1), "n/a", qty_text)
            ccy = np.where(bad & (which == 2), "FCFA", ccy)
            names = np.char.add("Holding ", pick.astype(str)).astype(object)
            cols = [np.full(n, portfolio, dtype=object), np.full(n, "2024-01-31", dtype=object),
                    ident, names, qty_text, price.astype(str).astype(object),
                    mv.astype(str).astype(object), ccy,
                    np.array(ISSUERS, dtype=object)[kind], np.array(COUNTRIES, dtype=object)[kind],
                    np.array(CLASSES, dtype=object)[kind]]
            lines = cols[0]
            for col in cols[1:]:
                lines = lines + "," + col
            fh.write("\n".join(lines.tolist()))
            fh.write("\n")
    return bad_total
