"""A large CSV is read, checked and staged a block at a time; the result must be
the file's, not the blocks': the same issues, counts and positions as reading it
whole, with the checks that span blocks (identical rows, repeated instruments,
footers, the as-of date, the encoding) still spanning the whole file.

Blocks of a few hundred bytes make every sample file many blocks."""

from __future__ import annotations

import csv
import os
import shutil
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import folio
from folio.ingest import readers

from builders import BAD_ISIN, BNP, ORANGE, TOTAL, big_english_csv, english_csv, fr_row, french_csv

DATA = Path(__file__).resolve().parents[1] / "data" / "holdings"
CORPUS = Path(__file__).resolve().parent / "reliability" / "corpus"


def outcome(path: Path, portfolio: str, home: Path, block_bytes: int | None, **kw):
    """The import's result and stored positions, in a store of its own."""
    with folio.configure(home=home, import_roots=[path.parent]):
        if block_bytes:
            saved = readers.BLOCK_BYTES
            readers.BLOCK_BYTES = block_bytes
        try:
            result = folio.import_file(path, portfolio, **kw)
        finally:
            if block_bytes:
                readers.BLOCK_BYTES = saved
        positions = folio.positions(portfolio) if result.rows_imported else pd.DataFrame()
    positions = positions.drop(columns=["import_id"], errors="ignore")
    return result, positions.reset_index(drop=True)


def assert_same(path: Path, portfolio: str, tmp_path: Path, block_bytes: int = 300, **kw):
    assert len(list(readers.read_blocks(path, block_bytes=block_bytes))) > 1  # really in blocks
    whole, whole_pos = outcome(path, portfolio, tmp_path / "whole", None, **kw)
    parts, parts_pos = outcome(path, portfolio, tmp_path / "blocks", block_bytes, **kw)
    assert parts.reader["encoding"] == whole.reader["encoding"]
    for field in ("status", "as_of", "rows_total", "rows_imported", "rows_rejected", "warnings"):
        assert getattr(parts, field) == getattr(whole, field), field
    pd.testing.assert_frame_equal(parts.issues.reset_index(drop=True),
                                  whole.issues.reset_index(drop=True))
    pd.testing.assert_frame_equal(parts_pos, whole_pos)
    return parts


def manifest() -> list[tuple[str, str, str | None]]:
    with open(DATA / "manifest.csv", newline="") as fh:
        return [(r["file"], r["portfolio"], r["as_of"] or None) for r in csv.DictReader(fh)
                if not r["file"].endswith(".xlsx")]


@pytest.mark.parametrize(("name", "portfolio", "as_of"), manifest())
def test_sample_files_in_blocks_give_what_they_give_whole(name, portfolio, as_of, tmp_path):
    path = tmp_path / name
    shutil.copy(DATA / name, path)
    assert_same(path, portfolio, tmp_path, as_of=as_of)


@pytest.mark.parametrize("name", ["valid_en.csv", "valid_fr.csv", "odd_numbers.csv",
                                  "impossible_dates.csv", "unicode_names.csv",
                                  "repeated_header.csv", "formula_cells.csv"])
def test_corpus_files_in_blocks_give_what_they_give_whole(name, tmp_path):
    path = tmp_path / name
    shutil.copy(CORPUS / name, path)
    assert_same(path, "P", tmp_path, block_bytes=30, as_of="2024-01-31")


def test_a_large_file_is_read_in_blocks(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", 2000)
    blocks = list(readers.read_blocks(path, block_bytes=4096))
    assert len(blocks) > 5 and [b.last for b in blocks] == [False] * (len(blocks) - 1) + [True]
    rows = [r for b in blocks for r in b.rows.tolist()]
    assert rows == list(range(2, 2002))  # line numbers run on across blocks


def test_identical_rows_and_lots_far_apart_are_found(tmp_path):
    filler = [(f"SEC{i:07d}", "Bond", 1, 10.0, 10.0, "EUR", "2024-01-31") for i in range(200)]
    rows = [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"), *filler,
            (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),  # row 2 again: double counted
            (TOTAL, "Total", 3, 60, 180, "EUR", "2024-01-31"),  # another lot: a warning
            (ORANGE, "Orange", 5, 12.5, 62.5, "EUR", "2024-01-31")]
    path = english_csv(tmp_path / "far.csv", rows)
    result = assert_same(path, "P", tmp_path, block_bytes=500)
    issues = result.issues.set_index("row")
    assert issues.loc[203, "code"] == "duplicate_row" and "same as row 2" in issues.loc[203, "message"]
    assert issues.loc[204, "code"] == "duplicate_instrument"
    assert result.rows_rejected == 1


LONG_CODE = "INTERNAL-CODE-000000000001"  # 26 bytes: longer than an ISIN's 16-byte slot
ACCENTED_CODE = "TITRE-É01"  # short, but not ASCII
SAME_ROW = (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")  # row 2's cells exactly
OTHER_LOT = (TOTAL, "Total", 3, 60, 180, "EUR", "2024-01-31")  # row 2's instrument, other figures


@pytest.mark.parametrize("odd", [LONG_CODE, ACCENTED_CODE])
@pytest.mark.parametrize("odd_row", [3, 202], ids=["odd-in-first-block", "odd-in-last-block"])
@pytest.mark.parametrize(("repeat", "expected", "rejected"), [
    (SAME_ROW, ("duplicate_row", "error", "same as row 2"), 1),
    (OTHER_LOT, ("duplicate_instrument", "warning",
                 "the same instrument appears on an earlier row; both rows are kept"), 0),
], ids=["duplicate_row", "duplicate_instrument"])
def test_a_repeat_across_blocks_is_found_whatever_else_either_block_holds(
        tmp_path, odd, odd_row, repeat, expected, rejected):
    """Row 203 repeats row 2, three hundred-odd bytes per block apart; one other row
    (row 3, in row 2's block, or row 202, in row 203's) holds an identifier unlike the
    ISINs and codes around it (long, or not ASCII). That row must not hide the repeat."""
    filler = [(f"SEC{i:07d}", "Bond", 1, 10.0, 10.0, "EUR", "2024-01-31") for i in range(200)]
    filler[odd_row - 3] = (odd, "Odd", 1, 10.0, 10.0, "EUR", "2024-01-31")
    path = english_csv(tmp_path / "far.csv", [SAME_ROW, *filler, repeat])  # rows 2, 3-202, 203
    blocks = [b.frame["ISIN"].tolist() for b in readers.read_blocks(path, block_bytes=500)]
    first, last = blocks[0], blocks[-1]
    assert first[0] == TOTAL and last[-1] == TOTAL and len(blocks) > 2  # far apart, as meant
    assert odd in (first if odd_row == 3 else last)
    result = assert_same(path, "P", tmp_path, block_bytes=500, as_of="2024-01-31")
    found = [(i.row, i.column, i.code, i.severity, i.value, i.message)
             for i in result.issues.itertuples()]
    assert found == [(203, "ISIN", *expected[:2], TOTAL, expected[2])]
    assert result.rows_rejected == rejected and result.rows_imported == 202 - rejected


def test_identifiers_sharing_a_fingerprint_are_still_told_apart(tmp_path, monkeypatch):
    """Fingerprints only say where to look: were every identifier to print alike, the
    strings still decide, within a block and across blocks."""
    import numpy as np

    from folio.ingest import validate

    monkeypatch.setattr(validate, "_fingerprints", lambda arr: np.zeros(len(arr), np.uint64))
    filler = [(f"SEC{i:07d}", "Bond", 1, 10.0, 10.0, "EUR", "2024-01-31") for i in range(200)]
    path = english_csv(tmp_path / "far.csv", [SAME_ROW, *filler, SAME_ROW])  # rows 2, 3-202, 203
    result = assert_same(path, "P", tmp_path, block_bytes=500, as_of="2024-01-31")
    found = [(i.row, i.code, i.value, i.message) for i in result.issues.itertuples()]
    assert found == [(203, "duplicate_row", TOTAL, "same as row 2")]  # the 200 codes: no repeat
    assert result.rows_rejected == 1 and result.rows_imported == 201


def test_subtotals_inside_and_between_blocks_are_checked_against_the_rows_above(tmp_path):
    """The totals check keeps a block of rows only as its sum once no total line can
    fall among them: the figures must be those of the rows themselves, a line at a time."""
    lines, amounts, row = ["ISIN,Security Name,Quantity,Price,Market Value,Currency"], [], 1
    subtotals = {}  # line number -> (stated amount, the true sum of the rows since the last)
    for part, wrong in ((0, 0.0), (1, 1000.0), (2, 0.0)):
        since = 0.0
        for i in range(25):
            mv = (part * 25 + i + 1) * 10.5
            lines.append(f"SEC{part * 25 + i:07d},Bond,{part * 25 + i + 1},10.5,{mv},EUR")
            row, since = row + 1, since + mv
            amounts.append(mv)
        row += 1
        subtotals[row] = (since + wrong, since)
        lines.append(f"Sub Total,,,,{since + wrong},")
    grand = sum(amounts)
    lines.append(f"Grand Total,,,,{grand},")
    path = tmp_path / "subtotals.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # By hand: rows 2-26 sum to 10.5 x (1 + ... + 25) = 3,412.50 and the line says so;
    # the second subtotal (line 53) says 1,000 more than rows 28-52 hold; the third
    # and the grand total agree.
    assert subtotals[27] == (3412.5, 3412.5)
    stated, held = subtotals[53]
    whole, _ = outcome(path, "P", tmp_path / "alone", None, as_of="2024-01-31")
    blocks = assert_same(path, "P", tmp_path, block_bytes=200, as_of="2024-01-31")
    for result in (whole, blocks):
        assert result.status == "partially_succeeded"
        (gap,) = result.totals
        assert (gap["row"], gap["file"], gap["folio"]) == (53, stated, held)
        assert gap["gap"] == pytest.approx(1000.0 / stated)


def test_rows_without_an_instrument_at_a_block_end_are_data_if_holdings_follow(tmp_path):
    notes = ";".join([""] * 9 + ["31/01/2024"])  # no instrument, but a date: data
    rows = [fr_row(TOTAL, "TotalEnergies", "10", "60", "600")] + [notes] * 30 + [
        fr_row(BNP, "BNP Paribas", "1", "50", "50")]
    path = french_csv(tmp_path / "gap.csv", rows, totals="650")
    result = assert_same(path, "P", tmp_path, block_bytes=200)
    assert (result.issues["code"] == "missing_value").sum() >= 30  # reported, not dropped
    footer = french_csv(tmp_path / "footer.csv", rows[:1] + [notes] * 30, totals="600")
    result = assert_same(footer, "Q", tmp_path / "q", block_bytes=200)
    assert result.rows_rejected == 0  # below the last holding: a footer, dropped


def test_a_quoted_line_break_across_a_block_end_keeps_row_numbers(tmp_path):
    lines = ["ISIN,Security Name,Quantity,Price,Market Value,Currency"]
    for i in range(40):
        lines.append(f'SEC{i:07d},"two\nlines {i}",1,10,10,EUR')
    lines.append(f"{BAD_ISIN},bad,1,10,10,EUR")
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = assert_same(path, "P", tmp_path, block_bytes=150, as_of="2024-01-31")
    assert result.issues["row"].tolist() == [82]  # 1 header line + 40 records of 2 lines


def test_a_second_as_of_date_in_a_later_block_is_refused(tmp_path):
    rows = [(f"SEC{i:07d}", "Bond", 1, 10.0, 10.0, "EUR", "2024-01-31") for i in range(100)]
    rows.append((TOTAL, "Total", 1, 10.0, 10.0, "EUR", "2024-02-29"))
    path = english_csv(tmp_path / "dates.csv", rows)
    for block in (None, 300):
        with pytest.raises(folio.ValidationError, match="2 as-of dates"):
            outcome(path, "P", tmp_path / f"home-{block}", block)


def test_windows_text_after_plain_ascii_blocks_is_read_as_cp1252(tmp_path):
    rows = [fr_row(f"SEC{i:07d}", "Obligation", "1", "10", "10") for i in range(60)]
    rows.append(fr_row(ORANGE, "Société Générale Sénégal", "5", "12,5", "62,5"))
    path = french_csv(tmp_path / "cp1252.csv", rows, preamble=False)
    result = assert_same(path, "P", tmp_path, block_bytes=400)
    assert result.reader["encoding"] == "cp1252"
    with folio.configure(home=tmp_path / "blocks"):
        names = folio.positions("P").set_index("identifier")["name"]
    assert names[ORANGE] == "Société Générale Sénégal"


def test_utf8_then_windows_text_in_a_later_block_is_refused_naming_the_line(tmp_path):
    rows = [fr_row(TOTAL, "Total Énergies", "10", "60", "600")]
    rows += [fr_row(f"SEC{i:07d}", "Obligation", "1", "10", "10") for i in range(60)]
    path = tmp_path / "mixed.csv"
    french_csv(path, rows, preamble=False, encoding="utf-8")
    with open(path, "ab") as fh:
        fh.write(fr_row(ORANGE, "Société", "5", "12,5", "62,5").encode("cp1252") + b"\r\n")
    for block in (None, 400):
        with pytest.raises(folio.ReadError, match="mixed encodings.*line 63") as caught:
            outcome(path, "P", tmp_path / f"home-{block}", block)
        assert caught.value.row == 63


def test_blocks_read_ahead_come_in_order_and_an_error_after_the_blocks_before_it(tmp_path):
    rows = [fr_row(TOTAL, "Total Énergies", "10", "60", "600")]
    rows += [fr_row(f"SEC{i:07d}", "Obligation", "1", "10", "10") for i in range(25_000)]  # past the 1 MB head
    path = tmp_path / "mixed.csv"
    french_csv(path, rows, preamble=False, encoding="utf-8")
    with open(path, "ab") as fh:
        fh.write(fr_row(ORANGE, "Société", "5", "12,5", "62,5").encode("cp1252") + b"\r\n")
    seen = []
    with pytest.raises(folio.ReadError, match="mixed encodings"):
        for block in readers.read_blocks(path, block_bytes=1 << 16):
            seen.append(int(block.rows[0]))
    assert len(seen) > 3 and seen == sorted(seen)  # every block before the bad one, in order
    assert not [t for t in threading.enumerate() if t.name.startswith("folio-read-")]


def test_leaving_blocks_early_stops_the_reader_and_closes_the_file(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", 2000)
    blocks = readers.read_blocks(path, block_bytes=4096)
    first = next(blocks)
    assert first.last is False
    time.sleep(0.1)  # the reader has a block waiting and is blocked putting the next
    blocks.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("folio-read-")]
    # Nothing holds the file open (on Windows a held file could not be replaced).
    assert not [f for f in os.listdir("/proc/self/fd") if os.path.realpath(
        f"/proc/self/fd/{f}") == str(path)] if os.path.isdir("/proc/self/fd") else True


@pytest.mark.parametrize("codes", [["FR0000120271", "FR0000120272", "X"],  # short ASCII: packed
                                   ["Société Générale 2031", "SG" * 20, "é"]])  # the long way
def test_equal_identifiers_have_equal_fingerprints_wherever_they_lie(codes):
    import pyarrow as pa

    from folio.ingest.validate import _fingerprints

    arr = pa.array(["pad", *codes, *codes])
    prints = _fingerprints(arr.slice(1))  # a slice: the buffers do not start at the strings
    k = len(codes)
    assert prints[:k].tolist() == prints[k:].tolist()
    assert len(set(prints[:k].tolist())) == k  # these differ


def test_an_identifiers_fingerprint_is_its_own_whatever_lies_beside_it():
    """Blocks are fingerprinted apart: an ISIN must print the same in a block of ISINs
    as in one that also holds a long or non-ASCII code, or a repeat across them is lost."""
    import pyarrow as pa

    from folio.ingest.validate import _fingerprints

    alone = _fingerprints(pa.array([TOTAL, "X", ""])).tolist()
    for odd in ("INTERNAL-CODE-000000000001", "TITRE-É01", "SOCIÉTÉ GÉNÉRALE 2031"):
        mixed = _fingerprints(pa.array([odd, TOTAL, "X", ""])).tolist()
        assert mixed[1:] == alone, odd
        assert _fingerprints(pa.array([odd])).tolist() == mixed[:1], odd


def test_short_codes_print_alike_by_words_and_by_bytes():
    """Short ASCII codes are fingerprinted by words, other strings byte by byte: for the
    strings both can take, the two ways are one formula."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from folio.ingest.repeats import _byte_prints, _packed_prints

    codes = pa.array([TOTAL, "X", "", "AB", "AB\0", "SEC0000001", "0123456789ABCDEF"])
    by_words = _packed_prints(codes, pc.binary_length(codes).to_numpy())
    assert by_words.tolist() == _byte_prints(codes).tolist()
    assert len(set(by_words.tolist())) == len(codes)  # "AB" and "AB\0" too: the length counts
