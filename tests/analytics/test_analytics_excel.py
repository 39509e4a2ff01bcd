"""The report as an Excel workbook, opened again with openpyxl: the sheets, the
values (worked out by hand here) and how they are formatted."""

from __future__ import annotations

import sys

import openpyxl
import pandas as pd
import pytest

from folio.analytics import build_report, compare_snapshots, value_positions
from folio.errors import ConfigError

AS_OF = "2024-03-31"
PARITY = 655.957  # XAF per EUR, fixed by law
# 1,000,000 XAF; 1,000 EUR = 655,957 XAF; 5,000 JPY with no rate: unvalued.
ROWS = [("CM0000000018", "Republic of Cameroon", "Obligation d'État", 1.0, 1_000_000.0, "XAF"),
        ("FR0000120271", "TotalEnergies", "Actions", 10.0, 1_000.0, "EUR"),
        ("JP3633400001", "Toyota", "Equity", 2.0, 5_000.0, "JPY")]
TOTAL_XAF = 1_000_000 + 1_000 * PARITY  # 1,655,957


def positions(rows=ROWS):
    return pd.DataFrame(rows, columns=["identifier", "issuer", "asset_class", "quantity",
                                       "market_value", "currency"]).assign(as_of=AS_OF)


def valued(base="XAF", rows=ROWS):
    return value_positions(positions(rows), base_currency=base)


@pytest.fixture
def book(tmp_path):
    report = build_report(valued(), portfolio="P", limits={"issuer": 0.5},
                          max_unvalued_share=0.5)
    path = report.to_excel(tmp_path / "out" / "report.xlsx",
                           scenarios=[{"name": "XAF -20%", "fx": {"XAF": -0.2}}])
    return openpyxl.load_workbook(path)


def by_first_column(ws):
    return {row[0].value: row for row in ws.iter_rows(min_row=2) if row[0].value is not None}


def test_the_sheets_in_order_each_with_a_frozen_header(book):
    assert book.sheetnames == [
        "Valuation", "Positions", "Exposure issuer", "Exposure country", "Exposure region",
        "Exposure currency", "Exposure asset_class", "Exposure maturity", "Concentration",
        "Limits", "Stress", "Changes"]
    for ws in book:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.b for c in ws[1] if c.value is not None), ws.title


def test_valuation_in_xaf_has_no_decimals(book):
    rows = by_first_column(book["Valuation"])
    value = rows["Market value (clean)"][1]
    assert value.value == pytest.approx(TOTAL_XAF)
    assert value.number_format == "#,##0"
    assert rows["Unvalued positions"][1].value == 1
    share = rows["Unvalued share"][1]
    assert share.value == pytest.approx(1 / 3) and share.number_format == "0.0%"
    assert rows["Base currency"][1].value == "XAF"
    assert rows["As of"][1].value.date().isoformat() == AS_OF


def test_positions_with_flags_and_amounts_in_their_own_minor_units(book):
    ws = book["Positions"]
    header = [c.value for c in ws[1]]
    rows = {r[0].value: dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2)}
    eur, xaf, jpy = rows["FR0000120271"], rows["CM0000000018"], rows["JP3633400001"]
    assert eur["Local value"].value == 1_000 and eur["Local value"].number_format == "#,##0.00"
    assert xaf["Local value"].number_format == "#,##0"
    assert jpy["Local value"].number_format == "#,##0"
    assert eur["Value"].value == pytest.approx(1_000 * PARITY)
    assert eur["Value"].number_format == "#,##0"  # the base currency's
    assert jpy["Value"].value is None  # unknown, never 0
    assert jpy["Unvalued because"].value == "no_fx" and jpy["Missing fx"].value is True
    assert eur["Missing fx"].value is False
    assert xaf["Asset class"].value == "government bond"
    assert xaf["Asset class (as written)"].value == "Obligation d'État"
    assert xaf["Country"].value == "CM" and xaf["Country from ISIN"].value is True
    assert xaf["Region"].value == "CEMAC"
    # Widths fit the content: the identifiers' column is wider than a default one.
    assert ws.column_dimensions["A"].width >= len("CM0000000018")


def test_each_exposure_with_its_unvalued_bucket(book):
    rows = by_first_column(book["Exposure currency"])
    assert rows["XAF"][1].value == pytest.approx(1_000_000)
    assert rows["XAF"][2].value == pytest.approx(1_000_000 / TOTAL_XAF)
    assert rows["XAF"][2].number_format == "0.0%" and rows["XAF"][1].number_format == "#,##0"
    assert rows["EUR"][2].value == pytest.approx(655_957 / TOTAL_XAF)
    assert rows["unvalued"][1].value is None and rows["unvalued"][3].value == 1
    assert list(rows)[-1] == "unvalued"
    classes = by_first_column(book["Exposure asset_class"])
    assert set(classes) == {"government bond", "equity", "unvalued"}


def test_concentration_and_limits(book):
    conc = by_first_column(book["Concentration"])
    # Issuers: 1,000,000 and 655,957 of 1,655,957.
    share = 1_000_000 / TOTAL_XAF
    assert conc["issuer"][2].value == pytest.approx(share)
    assert conc["issuer"][5].value == pytest.approx(share ** 2 + (1 - share) ** 2)
    limits = list(book["Limits"].iter_rows(min_row=2, values_only=True))
    assert limits == [("issuer", "Republic of Cameroon", pytest.approx(1_000_000),
                       pytest.approx(share), 0.5, pytest.approx(share - 0.5), "breach", None)]
    assert book["Limits"]["E2"].number_format == "0.0%"


def test_stress_sheet(book):
    rows = by_first_column(book["Stress"])
    before, after, change = (c.value for c in rows["XAF -20%"][1:4])
    # In XAF, the EUR line (655,957 XAF) gains 1 / 0.8 - 1 = 25%; the XAF line stays.
    assert before == pytest.approx(TOTAL_XAF)
    assert after == pytest.approx(TOTAL_XAF + 655_957 * 0.25)
    assert change == pytest.approx(163_989.25)
    assert rows["XAF -20%"][4].value == pytest.approx(163_989.25 / TOTAL_XAF)
    assert rows["XAF -20%"][6].value == 1  # the unvalued line, counted apart


def test_changes_sheet_with_its_attribution(tmp_path):
    # 10 shares at 100 EUR, then 12 at 110: +320 = quantity 2 x 100 + price 12 x 10.
    before = valued("EUR", [("FR0000120271", "Total", "Actions", 10.0, 1_000.0, "EUR")])
    after = value_positions(positions([("FR0000120271", "Total", "Actions", 12.0, 1_320.0,
                                        "EUR")]).assign(as_of="2024-04-30"),
                            base_currency="EUR")
    report = build_report(after, portfolio="P")
    path = report.to_excel(tmp_path / "c.xlsx", scenarios=[],
                           changes=compare_snapshots(before, after))
    ws = openpyxl.load_workbook(path)["Changes"]
    rows = by_first_column(ws)
    line = [c.value for c in rows["FR0000120271"]]
    assert line[3] == "changed" and line[6:12] == [1_000, 1_320, 320, 200, 120, 0]
    assert rows["FR0000120271"][8].number_format == "#,##0.00"  # EUR: two decimals
    total = [c.value for c in rows["Total"]]
    assert total[8:12] == [320, 200, 120, 0]
    stress = by_first_column(openpyxl.load_workbook(path)["Stress"])
    assert list(stress) == ["no scenario given"]
    alone = openpyxl.load_workbook(report.to_excel(tmp_path / "d.xlsx", scenarios=[]))
    assert alone["Changes"]["A2"].value.startswith("no comparison given")


def test_a_scenario_that_does_not_apply_says_why_and_the_others_still_run(tmp_path):
    report = build_report(valued(), portfolio="P")
    path = report.to_excel(tmp_path / "s.xlsx", scenarios=[
        {"name": "unknown issuer", "price": {"issuer": {"Nobody SA": -0.5}}},
        {"name": "XAF -50%", "fx": {"XAF": -0.5}}])
    rows = by_first_column(openpyxl.load_workbook(path)["Stress"])
    assert "not applied" in rows["unknown issuer"][7].value
    assert "Nobody SA" in rows["unknown issuer"][7].value
    # Base XAF: the EUR line doubles (1 / 0.5): +655,957.
    assert rows["XAF -50%"][3].value == pytest.approx(655_957)


def test_without_openpyxl_the_error_says_which_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl now fails
    with pytest.raises(ConfigError, match=r"pip install 'folio\[excel\]'") as err:
        build_report(valued(), portfolio="P").to_excel(tmp_path / "x.xlsx")
    assert err.value.fields["missing"] == "openpyxl"
    assert not (tmp_path / "x.xlsx").exists()
