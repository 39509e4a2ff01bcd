"""Readers: encodings, delimiters, preambles, sheets, and what they refuse."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

import folio
from folio.ingest.readers import read_table

from builders import TOTAL


def test_utf16_and_latin1_and_tab(tmp_path):
    text = "ISIN\tQuantité\tDevise\tValeur de marché\nFR0000120271\t10\tEUR\t605,00\n"
    for encoding in ("utf-16", "latin-1", "utf-8-sig"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        table = read_table(path)
        assert table.header == ["ISIN", "Quantité", "Devise", "Valeur de marché"]
        assert table.delimiter == "\t" and table.rows.tolist() == [2]


def test_quoted_newline_keeps_editor_line_numbers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('ISIN,Name,Quantity,Currency,Market Value\n'
                    'FR0000120271,"Total\nEnergies",1,EUR,1\n'
                    'FR0000133308,Orange,2,EUR,2\n', encoding="utf-8")
    assert read_table(path).rows.tolist() == [2, 4]


def xlsx(path, sheets: dict[str, list[list]]):
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_xlsx_sheet_by_name_or_first_with_a_header(tmp_path):
    rows = [["Title"], [], ["ISIN", "Quantity", "Market Value", "Currency", "Date"],
            [TOTAL, 10, 605.0, "EUR", 45322]]
    path = xlsx(tmp_path / "book.xlsx", {"Cover": [["hello"]], "Data": rows, "Other": rows})
    table = read_table(path)
    assert table.sheet == "Data" and table.header_row == 3 and table.rows.tolist() == [4]
    assert read_table(path, sheet="Other").sheet == "Other"
    with pytest.raises(folio.ReadError, match="Nope") as info:
        read_table(path, sheet="Nope")
    assert "Data" in info.value.message  # names the sheets there are
    result = folio.import_file(path, "P")  # the Excel serial in the date column is a date
    assert result.as_of == date(2024, 1, 31) and result.status == "succeeded"


def test_a_workbook_with_holdings_on_two_sheets_says_which_was_not_imported(tmp_path):
    header = ["ISIN", "Quantité", "Valorisation", "Devise", "Date"]
    path = xlsx(tmp_path / "book.xlsx", {
        "Actions": [header, [TOTAL, 10, 612.5, "EUR", 45322]],
        "Notes": [["Relevé établi par la banque"], ["Contact : back-office"]],
        "Obligations": [header, ["FR0013508470", 1000, 1012.5, "EUR", 45322]],
    })
    result = folio.import_file(path, "P")
    assert (result.status, result.rows_imported) == ("succeeded", 1)  # the first sheet only
    (said,) = result.issues.to_dict("records")
    assert (said["code"], said["severity"], said["value"]) == ("other_sheets", "warning",
                                                              "Obligations")
    assert "'Actions' was imported" in said["message"] and "sheet='NAME'" in said["message"]
    named = folio.import_file(path, "Q", sheet="Obligations")  # named: nothing else to say
    assert named.rows_imported == 1 and named.issues.empty


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (b"%PDF-1.7\n...", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "xls"),
    (b"PK\x03\x04not really a zip", "XLSX"),
])
def test_refusals_name_the_file(tmp_path, content, match):
    path = tmp_path / "statement.csv"
    path.write_bytes(content)
    with pytest.raises(folio.ReadError, match=match) as info:
        read_table(path)
    assert info.value.file == "statement.csv"


def test_too_large_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(b"ISIN,Quantity,Currency\n" + b"FR0000120271,1,EUR\n" * 1000)
    with pytest.raises(folio.ReadError) as info:
        read_table(path, max_bytes=1000)
    assert info.value.code == "too_large" and info.value.limit == 1000


def test_late_non_utf8_byte_falls_back_to_cp1252(tmp_path):
    # The head is plain ASCII; a cp1252 byte arrives after the first megabyte.
    path = tmp_path / "late.csv"
    rows = "".join(f"FR0000120271,{i},10.0,EUR\r\n" for i in range(60_000))
    path.write_bytes(("ISIN,Quantity,Price,Currency\r\n" + rows + "FR0000133308,1,1.0,EUR;é\r\n")
                     .encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.rows[0] == 2 and table.rows[-1] == 60_002
    assert table.frame.iloc[-1, 3] == "EUR;é"


def test_utf8_bom_crlf_file_keeps_line_numbers(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffNote\r\n\r\nISIN;Quantité;Devise\r\nFR0000120271;1;EUR\r\nFR0000133308;2;EUR\r\n"
                     .encode("utf-8"))
    table = read_table(path)
    assert table.encoding == "utf-8-sig" and table.header == ["ISIN", "Quantité", "Devise"]
    assert table.rows.tolist() == [4, 5] and table.frame.iloc[1, 2] == "EUR"


def _records_by_hand(data: bytes) -> list[tuple[int, int]]:
    """(start, line) of each record, walking the bytes: a newline inside quotes
    does not end a record but still counts as a line."""
    out, start, line, inside = [], 0, 1, False
    record_line = 1
    for i, byte in enumerate(data):
        if byte == 34:
            inside = not inside
        elif byte == 10:
            line += 1
            if not inside:
                out.append((start, record_line))
                start, record_line = i + 1, line
    if start < len(data):
        out.append((start, record_line))
    return out


@given(st.lists(st.sampled_from([b"a", b",", b"\n", b'"', b"\r\n", b"x\ny"]), max_size=40))
def test_record_starts_and_line_numbers(parts):
    from folio.ingest.readers import _record_starts

    data = b"".join(parts)
    if not data:
        return
    starts, lines = _record_starts(data)
    assert list(zip(starts.tolist(), lines.tolist(), strict=True)) == _records_by_hand(data)


# Names a custodian in Moscow, Tokyo or Riyadh writes: every character has a
# non-zero high byte in UTF-16, so the file's NULs are only those of its ASCII
# (codes, digits, delimiters, line breaks), under half of its characters.
NON_LATIN = {
    "ru": "Государственная облигация федерального займа с постоянным купонным доходом",
    "ja": "東京証券取引所上場株式会社日本電信電話株式会社普通株式額面金額五十円",
    "ar": "صكوك حكومية طويلة الأجل صادرة عن وزارة المالية بعائد ثابت نصف سنوي",
}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("language", sorted(NON_LATIN))
def test_utf16_without_bom_of_non_latin_text(tmp_path, encoding, language):
    name = NON_LATIN[language] * 2
    text = (f"ISIN;Name;Quantity;Currency\nFR0000120271;{name};10;EUR\n"
            f"US0378331005;{name[::-1]};5;USD\n")
    raw = text.encode(encoding)
    # Most UTF-16 code units here have a non-zero high byte: the Latin-text rule
    # (NULs in half the bytes) cannot see it.
    assert raw[1::2].count(0) + raw[0::2].count(0) < len(raw) / 4
    path = tmp_path / "positions.csv"
    path.write_bytes(raw)
    table = read_table(path)
    assert table.encoding == encoding
    assert table.header == ["ISIN", "Name", "Quantity", "Currency"]
    assert table.frame["Name"].tolist() == [name, name[::-1]]
    assert table.rows.tolist() == [2, 3]


def test_binary_with_nuls_on_one_side_is_still_refused(tmp_path):
    # Bytes that are not text at all: NULs at odd offsets only, but no UTF-16 text.
    data = bytes((0xD8 if i % 4 == 0 else 0x41 + i % 7) if i % 2 == 0 else 0 if i % 6 == 1
                 else 0xDC for i in range(4096))
    path = tmp_path / "blob.csv"
    path.write_bytes(data)
    with pytest.raises(folio.ReadError, match="binary"):
        read_table(path)
