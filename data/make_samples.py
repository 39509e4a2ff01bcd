"""Write the sample holdings, reference data and data/README.md (deterministic).

Run: python data/make_samples.py   (needs openpyxl, a dev dependency)

The files mimic what custodians send: an English CSV, a French cp1252
semicolon CSV with decimal commas, a preamble and a totals row, a tab-separated
UTF-8 file with a BOM, and an XLSX with a notes sheet. Some rows are wrong on
purpose; every one is listed in README.md with the row number a user sees.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOLDINGS, REFERENCE = HERE / "holdings", HERE / "reference"


def isin(body: str) -> str:
    """``body`` (11 characters) plus its ISIN check digit (Luhn over the digit expansion)."""
    digits = "".join(str(int(c, 36)) for c in body)
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n // 10 + n % 10
    return body + str((10 - total % 10) % 10)


@dataclass(eq=False)  # instruments are keys by identity
class Inst:
    id: str
    name: str
    issuer: str
    country: str
    asset_class: str
    currency: str
    maturity: date | None = None
    coupon: float | None = None
    duration: float | None = None
    in_reference: bool = True

    @property
    def bond(self) -> bool:
        return self.maturity is not None


def bond(code, name, issuer, country, ccy, maturity, coupon, duration, cls="Government Bond", ref=True):
    return Inst(isin(code), name, issuer, country, cls, ccy, maturity, coupon, duration, ref)


def equity(code, name, issuer, country, ccy, ref=True, real=None):
    return Inst(real or isin(code), name, issuer, country, "Equity", ccy, in_reference=ref)


CMR29 = bond("CM0000CMR29", "Republic of Cameroon 6.25% 2029", "Republic of Cameroon", "CM", "XAF", date(2029, 6, 15), 6.25, 4.3)
CMR26 = bond("CM0000CMR26", "Republic of Cameroon 5.60% 2026", "Republic of Cameroon", "CM", "XAF", date(2026, 11, 30), 5.60, 2.5)
GAB28 = bond("GA0000GAB28", "Gabonese Republic 6.00% 2028", "Gabonese Republic", "GA", "XAF", date(2028, 3, 31), 6.00, 3.6)
CNG27 = bond("CG0000CNG27", "Republic of Congo 6.50% 2027", "Republic of Congo", "CG", "XAF", date(2027, 9, 30), 6.50, 3.1)
TCD25 = bond("TD0000TCD25", "Republic of Chad 6.25% 2025", "Republic of Chad", "TD", "XAF", date(2025, 12, 15), 6.25, 1.8)
BEAC = bond("CM0000BTA24", "BEAC-auctioned Cameroon T-bill 26w", "Republic of Cameroon", "CM", "XAF", date(2024, 6, 28), 0.0, 0.4, cls="Money Market")
SOCAPALM = equity("CM0000SPM01", "SOCAPALM", "SOCAPALM SA", "CM", "XAF")
SAFACAM = equity("CM0000SFC01", "SAFACAM", "SAFACAM SA", "CM", "XAF", ref=False)
CMR32_EUR = bond("XS230411928", "Cameroon 5.95% 2032 (EUR Eurobond)", "Republic of Cameroon", "CM", "EUR", date(2032, 7, 7), 5.95, 6.0)
UST29 = bond("US91282CJL1", "US Treasury 4.00% 2029", "United States Treasury", "US", "USD", date(2029, 1, 31), 4.00, 4.4)
TOTAL = equity("", "TotalEnergies SE", "TotalEnergies SE", "FR", "EUR", real="FR0000120271")
ORANGE = equity("", "Orange SA", "Orange SA", "FR", "EUR", real="FR0000133308")
BNP = equity("", "BNP Paribas SA", "BNP Paribas SA", "FR", "EUR", real="FR0000131104")

SEN28 = bond("SN0000SEN28", "Etat du Sénégal 6,25% 2028", "République du Sénégal", "SN", "XOF", date(2028, 5, 20), 6.25, 3.5, cls="Obligation d'État")
SEN31 = bond("SN0000SEN31", "Etat du Sénégal 6,50% 2031", "République du Sénégal", "SN", "XOF", date(2031, 2, 10), 6.50, 5.4, cls="Obligation d'État")
CIV27 = bond("CI0000CIV27", "Côte d'Ivoire 5,90% 2027", "République de Côte d'Ivoire", "CI", "XOF", date(2027, 4, 15), 5.90, 2.9, cls="Obligation d'État")
BEN26 = bond("BJ0000BEN26", "Bénin 6,00% 2026", "République du Bénin", "BJ", "XOF", date(2026, 8, 31), 6.00, 2.3, cls="Obligation d'État")
BFA27 = bond("BF0000BFA27", "Burkina Faso 6,50% 2027", "Burkina Faso", "BF", "XOF", date(2027, 10, 5), 6.50, 3.1, cls="Obligation d'État")
BT_SN = bond("SN0000BTS24", "Bon du Trésor Sénégal 12 mois", "République du Sénégal", "SN", "XOF", date(2024, 11, 29), 0.0, 0.8, cls="Monétaire")
SONATEL = equity("SN0000SNT01", "Sonatel", "Sonatel SA", "SN", "XOF")
SGBCI = equity("CI0000SGB01", "Société Générale Côte d'Ivoire", "Société Générale CI", "CI", "XOF", ref=False)
SEN31_USD = bond("XS233367628", "Senegal 6.25% 2033 (USD Eurobond)", "République du Sénégal", "SN", "USD", date(2033, 5, 23), 6.25, 6.6)
CIV32_EUR = bond("XS206478662", "Côte d'Ivoire 5.875% 2031 (EUR Eurobond)", "République de Côte d'Ivoire", "CI", "EUR", date(2031, 10, 17), 5.875, 5.9)
BUND33 = bond("DE000110258", "Bund 2.30% 2033", "Federal Republic of Germany", "DE", "EUR", date(2033, 2, 15), 2.30, 8.1)
OAT30 = bond("FR001340790", "OAT 2.50% 2030", "French Republic", "FR", "EUR", date(2030, 5, 25), 2.50, 5.6, ref=False)

ALL = [CMR29, CMR26, GAB28, CNG27, TCD25, BEAC, SOCAPALM, SAFACAM, CMR32_EUR, UST29, TOTAL, ORANGE,
       BNP, SEN28, SEN31, CIV27, BEN26, BFA27, BT_SN, SONATEL, SGBCI, SEN31_USD, CIV32_EUR, BUND33,
       OAT30]
MONTHS = [date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]

# Clean prices at January's end (bonds per 100 of nominal); later months drift.
BASE_PRICE = {CMR29: 101.25, CMR26: 99.80, GAB28: 98.40, CNG27: 96.75, TCD25: 99.10, BEAC: 98.90,
              SOCAPALM: 45000.0, SAFACAM: 12500.0, CMR32_EUR: 88.60, UST29: 98.95, TOTAL: 60.54,
              ORANGE: 11.26, BNP: 61.91, SEN28: 100.50, SEN31: 99.25, CIV27: 101.00, BEN26: 100.20,
              BFA27: 97.80, BT_SN: 96.40, SONATEL: 17500.0, SGBCI: 14900.0, SEN31_USD: 86.40,
              CIV32_EUR: 91.30, BUND33: 97.15, OAT30: 99.05}
DRIFT = [1.0, 1.004, 1.009, 0.997]


def price(inst: Inst, month: int) -> float:
    return round(BASE_PRICE[inst] * DRIFT[month] * (1 + (hash_of(inst.id) % 7 - 3) * 0.001 * month), 2)


def hash_of(text: str) -> int:
    return sum(ord(c) * (i + 1) for i, c in enumerate(text))


def value(inst: Inst, qty: float, px: float) -> float:
    return round(qty * px / 100, 2) if inst.bond else round(qty * px, 2)


def accrued(inst: Inst, qty: float, day: date) -> float:
    if not inst.bond or not inst.coupon:
        return 0.0
    days = (day.month * 30) % 180  # a plain semi-annual accrual, good enough for samples
    return round(qty * inst.coupon / 100 * days / 360, 2)


# ----------------------------------------------------------------------- holdings


PENSION = [(CMR29, 500_000_000), (CMR26, 350_000_000), (GAB28, 250_000_000), (CNG27, 150_000_000),
           (TCD25, 100_000_000), (BEAC, 200_000_000), (SOCAPALM, 4_200), (SAFACAM, 6_000),
           (CMR32_EUR, 1_500_000), (UST29, 1_000_000), (TOTAL, 12_000)]
TRESO = [(SEN28, 2_000_000_000), (SEN31, 1_500_000_000), (CIV27, 1_200_000_000),
         (BEN26, 800_000_000), (BFA27, 500_000_000), (BT_SN, 3_000_000_000), (SONATEL, 25_000),
         (SGBCI, 10_000), (SEN31_USD, 2_000_000)]
GLOBAL = [(TOTAL, 40_000), (ORANGE, 150_000), (BNP, 30_000), (BUND33, 5_000_000),
          (OAT30, 4_000_000), (CMR32_EUR, 2_000_000), (CIV32_EUR, 3_000_000), (UST29, 2_500_000),
          (SEN31_USD, 1_500_000)]


def qty_for(base: float, month: int, k: int) -> float:
    step = [0, 0.02, -0.01, 0.03][month] if k % 3 else 0
    return round(base * (1 + step))


BAD: list[dict] = []  # the README's table of deliberate bad rows


def bad(file, row, column, value, what, code, severity="error"):
    BAD.append(dict(file=file, row=row, column=column, value=value, what=what, code=code,
                    severity=severity))


def fmt_en(x: float) -> str:
    return f"{x:.2f}"


def pension_csv(month: int, name: str, broken: bool) -> None:
    day = MONTHS[month]
    header = ["Portfolio", "As Of Date", "ISIN", "Security Name", "Quantity", "Clean Price",
              "Market Value", "Accrued Interest", "Currency", "Issuer", "Country", "Asset Class",
              "Maturity Date"]
    rows = []
    for k, (inst, base) in enumerate(PENSION):
        q = qty_for(base, month, k)
        px = price(inst, month)
        rows.append(["PENSION-CM", day.isoformat(), inst.id, inst.name, str(q), fmt_en(px),
                     fmt_en(value(inst, q, px)), fmt_en(accrued(inst, q, day)), inst.currency,
                     inst.issuer, inst.country, inst.asset_class,
                     inst.maturity.isoformat() if inst.maturity else ""])
    if broken:
        line = lambda i: i + 2  # header on line 1, no preamble  # noqa: E731
        rows[1][2] = rows[1][2][:-1] + str((int(rows[1][2][-1]) + 1) % 10)
        bad(name, line(1), "ISIN", rows[1][2], "check digit changed", "invalid_isin")
        rows[4][4] = "n/a"
        bad(name, line(4), "Quantity", "", "quantity says n/a: no value", "missing_value")
        rows[6][8] = "FCFA"
        bad(name, line(6), "Currency", "FCFA", "FCFA beside a Cameroon ISIN: read as XAF",
            "currency_resolved", "warning")
        mv = float(rows[10][6]) * 1.05
        rows[10][6] = fmt_en(mv)
        bad(name, line(10), "Market Value", rows[10][6], "5% above quantity x price",
            "mv_mismatch", "warning")
        rows[0][3] = "Republic of Cameroon 6.25%, 2029"  # quoted by the CSV writer
        rows.insert(8, list(rows[2]))  # an exact duplicate of an earlier row
        bad(name, line(8), "ISIN", rows[8][2], f"repeats row {line(2)} exactly", "duplicate_row")
        # Fix the lines of rows moved down by the duplicate.
        for entry in BAD:
            if entry["file"] == name and entry["code"] == "mv_mismatch":
                entry["row"] = line(11)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    (HOLDINGS / name).write_text(buf.getvalue(), encoding="utf-8")


def apostrophes(x: float) -> str:
    whole, frac = f"{x:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return "'".join([whole, *groups]) + "." + frac


def pension_tab(month: int, name: str) -> None:
    day = MONTHS[month]
    header = ["As Of", "ISIN", "Description", "Nominal", "Price", "Market Value", "Accrued",
              "Ccy", "Issuer", "Country", "Asset Class", "Maturity"]
    lines = ["\t".join(header)]
    for k, (inst, base) in enumerate(PENSION):
        q = qty_for(base, month, k)
        px = price(inst, month)
        mat = inst.maturity.strftime("%d.%m.%Y") if inst.maturity else ""
        lines.append("\t".join([day.strftime("%d.%m.%Y"), inst.id, inst.name, apostrophes(q),
                                f"{px:.2f}", apostrophes(value(inst, q, px)),
                                apostrophes(accrued(inst, q, day)), inst.currency, inst.issuer,
                                inst.country, inst.asset_class, mat]))
    cells = lines[4].split("\t")
    cells[11] = "31.02.2030"
    lines[4] = "\t".join(cells)
    bad(name, 5, "Maturity", "31.02.2030", "no 31 February", "invalid_date")
    (HOLDINGS / name).write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))


def fr_number(x: float, nbsp: bool = False) -> str:
    whole, frac = f"{x:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return ("\u00a0" if nbsp else " ").join([whole, *groups]) + "," + frac


def treso_csv(month: int, name: str, broken: bool) -> None:
    day = MONTHS[month]
    preamble = ["Relevé de portefeuille;;;;", "Dépositaire : Banque Atlantique Sénégal;;;;",
                f"Arrêté au {day.strftime('%d/%m/%Y')};;;;", ""]
    header = ["Code ISIN", "Libellé", "Quantité", "Cours", "Valeur de marché", "Coupon couru",
              "Devise", "Émetteur", "Pays", "Classe d'actif", "Échéance", "Date de valorisation"]
    rows, total = [], 0.0
    for k, (inst, base) in enumerate(TRESO):
        q = qty_for(base, month, k)
        px = price(inst, month)
        mv = value(inst, q, px)
        total += mv
        rows.append([inst.id, inst.name, fr_number(q, nbsp=k % 2 == 1).replace(",00", ""),
                     fr_number(px), fr_number(mv, nbsp=k % 2 == 1),
                     fr_number(accrued(inst, q, day)), inst.currency, inst.issuer, inst.country,
                     inst.asset_class, inst.maturity.strftime("%d/%m/%Y") if inst.maturity else "",
                     day.strftime("%d/%m/%Y")])
    first = len(preamble) + 2  # line of the first data row
    if broken:
        rows[2][10] = "31/02/2024"
        bad(name, first + 2, "Échéance", "31/02/2024", "no 31 February", "invalid_date")
        rows[4][6] = ""
        bad(name, first + 4, "Devise", "", "currency left empty", "missing_value")
        rows[6][4] = "12 5OO,00"
        bad(name, first + 6, "Valeur de marché", "12 5OO,00", "letter O for zero", "invalid_number")
        mv = value(TRESO[1][0], qty_for(TRESO[1][1], month, 1), price(TRESO[1][0], month)) * 0.9
        rows[1][4] = fr_number(mv)
        bad(name, first + 1, "Valeur de marché", rows[1][4], "10% below quantity x price",
            "mv_mismatch", "warning")
        bad(name, first + len(rows), "Valeur de marché", f"{total:.2f}",
            "the Total line adds the true values, not the broken rows", "total_mismatch",
            "warning")
    lines = preamble + [";".join(header)] + [";".join(r) for r in rows]
    lines += [f"Total;;;;{fr_number(total)};;;;;;;", "",
              f"Document généré le {day.strftime('%d/%m/%Y')} à 18:05 par le système de tenue de "
              "compte. Ne vaut pas reçu.;;;;"]
    (HOLDINGS / name).write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def global_xlsx(month: int, name: str) -> None:
    from openpyxl import Workbook

    day = MONTHS[month]
    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "Global EUR Fund: month-end holdings"
    notes["A2"] = "Prices are clean; bonds per 100 of nominal."
    notes["A3"] = "Contact: middle-office@example.com"
    ws = wb.create_sheet("Positions")
    ws["A1"] = "GLOBAL-EUR holdings"
    ws["A2"] = f"Valuation as of {day.strftime('%d %B %Y')}"
    header = ["ISIN", "Description", "Nominal", "Price", "Market Value", "Ccy", "Issuer",
              "Country", "Asset Class", "Maturity", "Valuation Date"]
    ws.append(header)  # row 3
    for k, (inst, base) in enumerate(GLOBAL):
        q = qty_for(base, month, k)
        px = price(inst, month)
        ws.append([inst.id, inst.name, q, px, value(inst, q, px), inst.currency, inst.issuer,
                   inst.country, inst.asset_class,
                   datetime.combine(inst.maturity, datetime.min.time()) if inst.maturity else None,
                   datetime.combine(day, datetime.min.time())])
    ws.cell(row=4 + 5, column=6, value="ERU")  # a typo: EURO would read as EUR
    bad(name, 9, "Ccy", "ERU", "not an ISO 4217 code", "invalid_currency")
    for row in ws.iter_rows(min_row=4, min_col=10, max_col=11):
        for cell in row:
            cell.number_format = "dd/mm/yyyy"
    buf = io.BytesIO()
    wb.save(buf)
    (HOLDINGS / name).write_bytes(_fixed_zip(buf.getvalue(), datetime.combine(day, time(18, 0))))


def _fixed_zip(data: bytes, stamp: datetime) -> bytes:
    """The same workbook with fixed timestamps, so that every run writes the same bytes.

    openpyxl stamps docProps/core.xml with the time of saving and each zip entry
    with the local time; both are replaced by ``stamp`` (the statement's date).
    """
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + iso, body)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # as written on Unix, whatever the platform
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def global_csv(month: int, name: str) -> None:
    day = MONTHS[month]
    header = ["ISIN", "Name", "Quantity", "Price", "Market Value", "Currency", "Issuer",
              "Country", "Asset Class", "Maturity Date"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for k, (inst, base) in enumerate(GLOBAL):
        q = qty_for(base, month, k)
        px = price(inst, month)
        w.writerow([inst.id, inst.name, q, f"{px:.2f}", f"{value(inst, q, px):.2f}",
                    inst.currency, inst.issuer, inst.country, inst.asset_class,
                    inst.maturity.isoformat() if inst.maturity else ""])
    (HOLDINGS / name).write_text(buf.getvalue(), encoding="utf-8")
    del day


# ---------------------------------------------------------------------- reference


def reference() -> None:
    with open(REFERENCE / "instruments.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["identifier", "name", "issuer", "country", "asset_class", "currency",
                    "maturity_date", "coupon", "modified_duration"])
        for inst in ALL:
            if inst.in_reference:
                w.writerow([inst.id, inst.name, inst.issuer, inst.country, inst.asset_class,
                            inst.currency, inst.maturity.isoformat() if inst.maturity else "",
                            inst.coupon if inst.coupon is not None else "",
                            inst.duration if inst.duration is not None else ""])
    # 1 EUR = rate QUOTE. The CFA francs are pegged at 655.957; 31 March 2024 was
    # a Sunday, so March's rates are from Thursday the 28th (a 3-day gap).
    eurusd = {date(2024, 1, 31): 1.0837, date(2024, 2, 29): 1.0805, date(2024, 3, 28): 1.0811,
              date(2024, 4, 30): 1.0704}
    with open(REFERENCE / "fx_rates.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "base", "quote", "rate"])
        for day, usd in eurusd.items():
            w.writerow([day.isoformat(), "EUR", "XAF", "655.957"])
            w.writerow([day.isoformat(), "EUR", "XOF", "655.957"])
            w.writerow([day.isoformat(), "EUR", "USD", f"{usd}"])
    with open(REFERENCE / "prices.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["date", "identifier", "price", "currency"])
        for m, day in enumerate(MONTHS):
            for inst in ALL:
                if inst.in_reference:
                    w.writerow([day.isoformat(), inst.id, f"{price(inst, m):.2f}", inst.currency])


# ------------------------------------------------------------------------ manifest


FILES = [  # file, portfolio, as_of for the manifest, base currency, as-of date (and its source), format
    ("pension_cm_2024-01-31.csv", "PENSION-CM", "", "XAF", "2024-01-31 (column As Of Date)",
     "English CSV: comma, UTF-8 without BOM, LF line ends, header on line 1, ISO dates, dot "
     "decimals, no thousands separators, 11 holdings. Clean."),
    ("pension_cm_2024-02-29.csv", "PENSION-CM", "", "", "2024-02-29 (column As Of Date)",
     "As January (quantities moved a little), 12 data rows (lines 2-13) with bad rows and a "
     "quoted name containing a comma (line 2)."),
    ("pension_cm_2024-03-31.txt", "PENSION-CM", "", "", "2024-03-31 (column As Of, 31.03.2024)",
     "Tab-separated, UTF-8 with BOM, header on line 1, dates dd.mm.yyyy, dot decimals, "
     "apostrophe thousands (1'250'000.50), no portfolio column, 11 holdings."),
    ("treso_sn_2024-01-31.csv", "TRESO-SN", "", "XOF", "2024-01-31 (column Date de valorisation)",
     "French custodian statement: cp1252, semicolons, CRLF, decimal commas, space and "
     "non-breaking space (0xA0) thousands, dd/mm/yyyy; 4 preamble lines (title, custodian, "
     "Arrêté au, blank), header on line 5, 9 holdings on lines 6-14, then a Total line (15), a "
     "blank line (16) and a footer line (17). Clean."),
    ("treso_sn_2024-02-29.csv", "TRESO-SN", "", "", "2024-02-29 (column Date de valorisation)",
     "As January, with bad rows. The Total line is the custodian's total of the true values, "
     "so it does not add up to the broken rows."),
    ("global_eur_2024-03-31.xlsx", "GLOBAL-EUR", "", "EUR", "2024-03-31 (column Valuation Date)",
     "XLSX: sheet Notes (three lines of free text) then Positions: two title rows, header on "
     "row 3, 9 holdings on rows 4-12, numeric cells for numbers, date cells (dd/mm/yyyy "
     "format) for dates."),
    ("global_eur_2024-04-30.csv", "GLOBAL-EUR", "2024-04-30", "", "2024-04-30 (none in the file: "
     "from manifest.csv)",
     "English CSV: comma, UTF-8, header on line 1, ISO dates, no portfolio or as-of column, "
     "9 holdings. Clean."),
]


def main() -> None:
    HOLDINGS.mkdir(exist_ok=True)
    REFERENCE.mkdir(exist_ok=True)
    BAD.clear()
    pension_csv(0, FILES[0][0], broken=False)
    pension_csv(1, FILES[1][0], broken=True)
    pension_tab(2, FILES[2][0])
    treso_csv(0, FILES[3][0], broken=False)
    treso_csv(1, FILES[4][0], broken=True)
    global_xlsx(2, FILES[5][0])
    global_csv(3, FILES[6][0])
    reference()
    with open(HOLDINGS / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["file", "portfolio", "as_of", "base_currency"])
        for file, portfolio, as_of, base, _, _ in FILES:
            w.writerow([file, portfolio, as_of, base])
    write_readme()


def write_readme() -> None:
    missing = [i for i in ALL if not i.in_reference]
    out = ["# Sample data", "",
           "Written by `python data/make_samples.py` (deterministic; edit the script, not the "
           "files). Realistic but invented: issuers and coupons are plausible, ISINs other "
           "than the three French equities are made up with valid check digits.", "",
           "## Holdings (`holdings/`)", "",
           "`manifest.csv` lists each file with its portfolio, the as-of date to pass when the "
           "file has none, and the base currency the demo gives a new portfolio.", "",
           "| file | portfolio | as of | format |", "|---|---|---|---|"]
    out += [f"| `{f}` | {p} | {a} | {d} |" for f, p, _, _, a, d in FILES]
    out += ["", "Portfolios: **PENSION-CM** (a Cameroonian pension fund, base XAF: CEMAC "
            "sovereigns, BVMAC equities, a EUR Eurobond, a US Treasury), **TRESO-SN** (a "
            "Senegalese treasury, base XOF: UEMOA sovereigns, T-bills, BRVM equities, a USD "
            "Eurobond), **GLOBAL-EUR** (a EUR fund: French equities, Bund, OAT, African "
            "Eurobonds).", "",
            "## Deliberate bad rows", "",
            "Row numbers are what a user sees: the line in a text editor for CSV and TXT "
            "(preamble and header lines count), the spreadsheet row for XLSX.", "",
            "| file | row | column | value | what is wrong | issue code | severity |",
            "|---|---|---|---|---|---|---|"]
    for b in sorted(BAD, key=lambda b: (b["file"], b["row"])):
        value = b["value"] if b["value"] else "(empty)"
        out.append(f"| `{b['file']}` | {b['row']} | {b['column']} | `{value}` | {b['what']} | "
                   f"`{b['code']}` | {b['severity']} |")
    out += ["", "Other things the files exercise: totals, blank and footer lines below the "
            "data in the TRESO-SN files (dropped, not reported); the same quantity written with "
            "spaces and with non-breaking spaces; bond prices quoted per 100 of nominal "
            "(market value = quantity x price / 100); the duplicate in `pension_cm_2024-02-29.csv` "
            "repeats a whole row, so it is a `duplicate_row` error (a second row for the same "
            "instrument with different values would be a `duplicate_instrument` warning); "
            "accented French text (é è ê ô ç É) in the cp1252 headers, names and footer. "
            "Market values agree with quantity x price (x price / 100 for bonds) to the cent "
            "everywhere except the two `mv_mismatch` rows.", "",
            "## Reference (`reference/`)", "",
            "- `instruments.csv`: identifier, name, issuer, country, asset_class, currency, "
            "maturity_date, coupon, modified_duration. Deliberately missing, so that a dry run "
            "lists them: " + ", ".join(f"{i.id} ({i.name})" for i in missing) + ".",
            "- `fx_rates.csv`: date, base, quote, rate, meaning 1 base = rate quote; EUR is the "
            "pivot (EUR/XAF and EUR/XOF at the 655.957 peg, EUR/USD market rates). March's "
            "rates are dated 2024-03-28 (31 March was a Sunday): a 3-day gap.",
            "- `prices.csv`: date, identifier, price, currency: month-end clean prices (bonds "
            "per 100).", "",
            "## Regenerating", "",
            "`python data/make_samples.py` (with the project's venv: `.venv/bin/python "
            "data/make_samples.py`; needs only the standard library and openpyxl) rewrites "
            "`holdings/`, `reference/` and this README with the same bytes every time: there is "
            "no randomness and the XLSX's timestamps are fixed to its as-of date. It does not "
            "touch `scenarios/`. Tests (`tests/test_samples.py`, `tests/expected/`) check every "
            "file against the bad-row table above, so change the script and the expected "
            "results together.", ""]
    (HERE / "README.md").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
