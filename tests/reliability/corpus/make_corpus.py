"""Write the seed corpus of broken and hostile holdings files (run from anywhere).

Each file is one case of the hardening contract; ``tests/reliability`` reads
them as they are checked in, and the fuzz test mutates them. Files too large to
keep in git (a 2 GB file, a zip bomb, a 1 MB cell) are made by the tests.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOTAL, ORANGE, BNP = "FR0000120271", "FR0000133308", "FR0000131104"
EN = "ISIN,Security Name,Quantity,Price,Market Value,Currency,As Of Date"
FR = "Code ISIN;Libellé;Quantité;Cours;Valeur de marché;Devise;Date de valorisation"


def lines(*rows: str) -> bytes:
    return ("\n".join(rows) + "\n").encode("utf-8")


def xlsx(rows: list[list[object]], cached: dict[str, str] | None = None) -> bytes:
    """An XLSX of ``rows``; ``cached`` gives formula cells (``E2``) a stored value,
    as Excel saves them (openpyxl writes formulas without one)."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    if not cached:
        return buffer.getvalue()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                for ref, value in cached.items():
                    kind = "" if re.fullmatch(r"-?[\d.]+", value) else ' t="str"'
                    text = re.sub(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?',
                                  rf'<c r="{ref}"\1{kind}><f>\2</f><v>{value}</v>', text)
                data = text.encode("utf-8")
            target.writestr(info, data)
    return out.getvalue()


def corpus() -> dict[str, bytes]:
    good = xlsx([EN.split(","), [TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"]])
    damaged = bytearray(good)
    sheet = zipfile.ZipFile(io.BytesIO(good)).getinfo("xl/worksheets/sheet1.xml")
    start = sheet.header_offset + 30 + len(sheet.filename) + len(sheet.extra)
    damaged[start:start + 64] = bytes(64)  # the sheet's compressed data, not the directory
    rng = random.Random(7)
    return {
        # valid seeds, for the fuzz test's mutations
        "valid_en.csv": lines(EN, f"{TOTAL},TotalEnergies,10,60,600,EUR,2024-01-31",
                              f"{ORANGE},Orange,5,12.5,62.5,EUR,2024-01-31"),
        "valid_fr.csv": ("\r\n".join([
            "Relevé de portefeuille;;;", "Arrêté au 31/01/2024;;;", "", FR,
            f"{TOTAL};TotalEnergies;1 000;60,00;60 000,00;XAF;31/01/2024",
            f"{BNP};BNP Paribas;(10);50,00;(500,00);XAF;31/01/2024", "Total;;;;59 500,00;;"])
            + "\r\n").encode("cp1252"),
        "valid.xlsx": good,
        # broken files: each must fail with a ReadError naming the file
        "empty.csv": b"",
        "header_only.csv": lines(EN),
        "binary.csv": bytes(rng.randrange(256) for _ in range(4096)),
        "pdf_renamed.csv": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                           b"trailer\n<< /Root 1 0 R >>\n%%EOF\n",
        "truncated.xlsx": good[:len(good) // 2],
        "corrupt.xlsx": bytes(damaged),
        "mixed_encodings.csv": lines(EN, f"{TOTAL},Société Générale,10,60,600,EUR,2024-01-31")
        + f"{ORANGE},Crédit Agricole,5,12.5,62.5,EUR,2024-01-31\n".encode("cp1252"),
        "wide.csv": lines(EN + "," + ",".join(f"extra {i}" for i in range(10_000)),
                          f"{TOTAL},T,10,60,600,EUR,2024-01-31" + "," * 10_000),
        # odd content: imports, with the right values or row issues
        "repeated_header.csv": lines(EN, f"{TOTAL},TotalEnergies,10,60,600,EUR,2024-01-31",
                                     EN, f"{ORANGE},Orange,5,12.5,62.5,EUR,2024-01-31"),
        "formula_cells.csv": lines(EN, f"{TOTAL},=cmd|' /C calc'!A0,10,60,600,EUR,2024-01-31",
                                   f"{ORANGE},+33 1 00 00 00 00,5,12.5,62.5,EUR,2024-01-31",
                                   f"{BNP},-HYPERLINK(\"http://x\"),1,50,50,EUR,2024-01-31",
                                   "FR0000120073,@SUM(A1:A9),2,100,200,EUR,2024-01-31"),
        "formulas.xlsx": xlsx(
            [EN.split(","), [TOTAL, "=UPPER(\"total\")", 10, 60, "=C2*D2", "EUR", "2024-01-31"],
             [ORANGE, "=1+1", 5, 12.5, 62.5, "EUR", "2024-01-31"]],
            # 599, not 600: the stored value is read, the formula never evaluated
            cached={"B2": "TotalEnergies (cached)", "E2": "599", "B3": "2"}),
        "unicode_names.csv": lines(EN, f"{TOTAL},Société Générale Côte d’Ivoire,10,60,600,EUR,2024-01-31",
                                   f"{ORANGE},مصرف المغرب,5,12.5,62.5,EUR,2024-01-31",
                                   f"{BNP},Fonds 🚀 Émergents,1,50,50,EUR,2024-01-31"),
        "odd_numbers.csv": ("ISIN;Quantité;Cours;Valeur de marché;Devise;Date\n"
                            f"{TOTAL};1e400;60;600;EUR;31/01/2024\n"
                            f"{ORANGE};NaN;12,5;62,5;EUR;31/01/2024\n"
                            f"{BNP};-0;50;0;EUR;31/01/2024\n"
                            f"FR0000120073;(1 234,50);10;(12 345,00);EUR;31/01/2024\n").encode(),
        "impossible_dates.csv": lines(EN, f"{TOTAL},TotalEnergies,10,60,600,EUR,31/02/2024",
                                      f"{ORANGE},Orange,5,12.5,62.5,EUR,0000-00-00",
                                      f"{BNP},BNP Paribas,1,50,50,EUR,2024-01-31"),
        # old and odd encodings of good files: each reads as its plain UTF-8 twin would
        # classic Mac OS line ends (CR alone), and one final LF a later tool added
        "mac_line_ends.csv": ("\r".join([EN, f"{TOTAL},TotalEnergies,10,60,600,EUR,2024-01-31",
                                          f"{ORANGE},Orange,5,12.5,62.5,EUR,2024-01-31"])
                              + "\n").encode("utf-8"),
        # UTF-16 without the byte order mark that would say so, both byte orders
        "utf16le_no_bom.csv": ("\r\n".join([
            FR, f"{TOTAL};Société Générale;1 000;60,00;60 000,00;XAF;31/01/2024",
            f"{BNP};BNP Paribas;(10);50,00;(500,00);XAF;31/01/2024"]) + "\r\n").encode("utf-16-le"),
        "utf16be_no_bom.csv": lines(EN, f"{TOTAL},TotalEnergies,10,60,600,EUR,2024-01-31",
                                    f"{ORANGE},Orange,5,12.5,62.5,EUR,2024-01-31")
        .decode("utf-8").encode("utf-16-be"),
    }


def main() -> None:
    for name, data in corpus().items():
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
