"""Small holdings files written by tests, so each test shows its own input."""

from __future__ import annotations

from pathlib import Path

# Real ISINs with valid check digits.
TOTAL = "FR0000120271"
ORANGE = "FR0000133308"
BNP = "FR0000131104"
BAD_ISIN = "FR0000120272"  # TotalEnergies with the check digit changed

FR_HEADER = ("Code ISIN;Libellé;Quantité;Cours;Valeur de marché;Devise;Émetteur;Pays;"
             "Échéance;Date de valorisation")


def french_csv(path: Path, rows: list[str], *, preamble: bool = True, totals: str | None = None,
               encoding: str = "cp1252") -> Path:
    """A custodian statement: cp1252, ``;``, decimal comma, preamble and totals lines."""
    lines = []
    if preamble:
        lines += ["Relevé de portefeuille;;;", "Dépositaire : Société Générale Sénégal;;;",
                  "Arrêté au 31/01/2024;;;", ""]
    lines.append(FR_HEADER)
    lines += rows
    if totals is not None:
        lines += [f"Total;;;;{totals};;;;;", ""]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def fr_row(isin: str, name: str, qty: str, price: str, mv: str, ccy: str = "EUR",
           issuer: str = "", country: str = "FR", maturity: str = "",
           as_of: str = "31/01/2024") -> str:
    return ";".join([isin, name, qty, price, mv, ccy, issuer, country, maturity, as_of])


def english_csv(path: Path, rows: list[tuple], header: str | None = None) -> Path:
    header = header or "ISIN,Security Name,Quantity,Price,Market Value,Currency,As Of Date"
    text = header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")
    return path


def big_english_csv(path: Path, n: int, currency: str = "EUR", lots: bool = True) -> Path:
    """``n`` valid rows: lots of one instrument, or ``n`` internal codes."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("ISIN,Quantity,Price,Market Value,Currency\n")
        for i in range(n):
            ident = TOTAL if lots else f"SEC{i:07d}"
            fh.write(f"{ident},{i + 1},10.0,{(i + 1) * 10.0},{currency}\n")
    return path


def french_statement(path: Path) -> Path:
    """A French bank's statement: two positions and one row with a bad ISIN check digit."""
    return french_csv(path, [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00"),
        fr_row(ORANGE, "Orange SA", "2 500", "10,25", "25 625,00"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00"),
    ], totals="86 135,00")


def formula_statement(path: Path) -> Path:
    """A French statement of four rows: two good, a bad ISIN check digit, and a formula
    where the quantity should be (and one as a name, which is kept as text)."""
    return french_csv(path, [
        fr_row(TOTAL, "TotalEnergies SE", "1 000", "60,50", "60 500,00"),
        fr_row(ORANGE, "=HYPERLINK(\"http://x\")", "2 500", "10,25", "25 625,00"),
        fr_row(BAD_ISIN, "Clé fausse", "10", "1,00", "10,00"),
        fr_row(ORANGE, "Formule", "=1+1", "1,00", "1,00"),
    ])
