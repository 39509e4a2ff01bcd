"""Every shipped preset reads a file in its own layout, with no mapping.

The files are written by ``tests/layouts.py`` with made-up values; what each
import must store is written out below by hand from those values (sums done
on paper, in the comments), never computed by folio.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

import folio
import layouts

# preset -> what an import of its layout must give. "as_of": None means the file
# states no date (DEGIRO's export) and the test passes one.
EXPECTED = {
    "degiro-nl": {
        "identifiers": ["NL0010273215", "US0378331005", "GB00BP6MXD84"],
        # EUR: 6502.00 + 3010.00; USD: 3810.00
        "by_currency": {"EUR": 9512.00, "USD": 3810.00},
        "cash": {"EUR": 1250.50, "USD": 80.00},
        "roles": {"cash": 2}, "as_of": None,
    },
    "degiro-en": {
        "identifiers": ["CH0038863350", "US5949181045", "IE00B4L5Y983"],
        "by_currency": {"CHF": 2652.00, "USD": 1640.00, "EUR": 4755.00},
        "cash": {"CHF": 415.25}, "roles": {"cash": 1}, "as_of": None,
    },
    "degiro-fr": {
        # the price column's point and the value columns' comma both read right:
        # 40 x 60.50 = 2420.00, 12 x 180.25 = 2163.00
        "identifiers": ["FR0000120271", "FR0000120073"],
        "by_currency": {"EUR": 4583.00}, "prices": [60.50, 180.25],
        "cash": {"EUR": 99.90}, "roles": {"cash": 1}, "as_of": None,
    },
    "degiro-de": {
        "identifiers": ["DE0007164600", "DE0007236101"],
        "by_currency": {"EUR": 5284.00},  # 3600.00 + 1684.00
        "cash": {"EUR": 500.00}, "roles": {"cash": 1}, "as_of": None,
    },
    "degiro-es": {
        "identifiers": ["ES0144580Y14", "ES0148396007", "US1912161007"],
        "by_currency": {"EUR": 3890.00, "USD": 700.00},  # 2640.00 + 1250.00
        "cash": {"EUR": 75.50}, "roles": {"cash": 1}, "as_of": None,
    },
    "schwab": {
        "identifiers": ["SCHB", "AAPL"],
        # 2250.00 + 2523.00; the Account Total 5776.40 = that + the cash 1003.40
        "by_currency": {"USD": 4773.00}, "prices": [22.50, 210.25],
        "cash": {"USD": 1003.40}, "roles": {"cash": 1, "total": 1},
        "as_of": date(2025, 3, 14),  # the title line's 03/14/2025, month first
    },
    "fidelity": {
        # the account-summary table above is not read; SPAXX (core account) is
        # a position in Fidelity's own table, as its subtotal says
        "identifiers": ["VTI", "MSFT", "SPAXX"],
        "by_currency": {"USD": 9275.50},  # 5000.00 + 4000.00 + 275.50
        "cash": {}, "roles": {"account": 2, "section": 3, "total": 2},
        "as_of": date(2025, 3, 31),  # Statement03312025.csv
    },
    "ibkr-activity": {
        # Open Positions only; the Trades section's KO line is not a position
        "identifiers": ["IBM", "KO", "SAP"],
        "by_currency": {"USD": 3125.00, "EUR": 920.00},  # 1250.00 + 1875.00
        "cash": {}, "roles": {"total": 2},
        "as_of": date(2025, 6, 30),  # the Period's end
    },
    "prime-broker-bonds": {
        "identifiers": ["XS0000000017", "XS0000000025", "XS0000000033"],
        # clean: 1,000,000 x 99.5% + 2,000,000 x 101.25% = 995,000 + 2,025,000;
        # 500,000 x 97% = 485,000 (the file's market values hold the accrued too)
        "by_currency": {"USD": 3_020_000.00, "EUR": 485_000.00},
        "accrued": [12_500.00, 8_000.00, 1_250.00],
        "cash": {}, "roles": {"total": 1},
        "as_of": date(2025, 9, 30),  # the Business Date column
    },
    "etrade": {
        # the lot lines under AAPL (2000.00 twice) and KO (1800.00) detail the
        # positions: stored, they would double the value to 11,600.00
        "identifiers": ["AAPL", "KO"],
        "by_currency": {"USD": 5800.00},  # 4000.00 + 1800.00; TOTAL 7140.00 with the cash
        "cash": {"USD": 1340.00}, "roles": {"lot": 3, "cash": 1, "total": 1, "footer": 1},
        "as_of": None,  # the date is only in the footer line
    },
    "ibkr-flex": {
        "identifiers": ["US4592001014", "DE0007164600"],  # the ISIN, where Flex gives one
        "by_currency": {"USD": 1250.00, "EUR": 920.00},  # the SUMMARY rows; LOT 750 + 500
        "cash": {}, "roles": {"lot": 2},
        "as_of": date(2025, 6, 30),  # the ReportDate column, 20250630
    },
    "vanguard": {
        # both accounts' holdings; the transactions table below is another table
        "identifiers": ["VFIAX", "VMFXX", "VBTLX"],
        "by_currency": {"USD": 6530.25},  # 5250.00 + 300.25 + 980.00
        "cash": {}, "roles": {"header": 1, "section": 1}, "as_of": None,
    },
    "brvm-sgi": {
        # "25 500" and "9 950,50": spaces between thousands, a decimal comma
        "identifiers": ["SNTS", "ORAC", "EOT.O1"],
        "by_currency": {"XOF": 15_960_500.00},  # 3,060,000 + 2,950,000 + 9,950,500
        "prices": [25_500.00, 14_750.00, 9_950.50],
        "cash": {"XOF": 1_234_567.89}, "roles": {"total": 3, "cash": 1, "footer": 1},
        "as_of": date(2025, 10, 31),  # « Date d'arrêté : 31/10/2025 »
    },
    "cemac-custody": {
        "identifiers": ["CM0000000018", "GA0000000018", "CM0000000026"],
        # FCFA beside Cameroon and Gabon ISINs is XAF: 10,150,000 + 4,950,000 + 45,000,000
        "by_currency": {"XAF": 60_100_000.00},
        "accrued": [250_000.00, 80_000.00, None],
        "cash": {}, "roles": {"total": 1},
        "as_of": date(2025, 9, 30),  # « Relevé des avoirs ... au 30/09/2025 »
    },
}


def _import(name, folder, **options):
    path = layouts.WRITERS[name](folder) if isinstance(name, str) else name(folder)
    want = EXPECTED.get(name, {}) if isinstance(name, str) else {}
    as_of = "2025-06-30" if want.get("as_of", 1) is None else None
    return folio.import_file(path, "LAYOUT", as_of=as_of, via="local", **options)


def test_every_shipped_preset_has_a_layout_here():
    shipped = {p["name"] for p in folio.presets() if not p["user"]}
    assert shipped == set(EXPECTED) == set(layouts.WRITERS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_layout_imports_as_worked_out_by_hand(name, tmp_path):
    want = EXPECTED[name]
    result = _import(name, tmp_path)
    assert result.status == "succeeded", result.summary()
    assert result.preset == name
    assert result.as_of == (want["as_of"] or date(2025, 6, 30))
    assert result.row_roles == want["roles"]
    assert result.cash == pytest.approx(want["cash"])
    assert result.totals == []  # the file's own totals agree with what was stored
    stored = folio.positions("LAYOUT", result.as_of)
    assert list(stored["identifier"]) == want["identifiers"]
    got = stored.groupby("currency")["market_value"].sum().round(2).to_dict()
    assert got == pytest.approx(want["by_currency"])
    if "prices" in want:
        assert list(stored["price"]) == pytest.approx(want["prices"])
    if "accrued" in want:
        got = [None if pd.isna(v) else float(v) for v in stored["accrued_interest"]]
        assert got == want["accrued"]


def test_a_total_that_disagrees_makes_the_import_partial(tmp_path):
    # The file says 6,000.00; folio kept 4,773.00 + 1,003.40 cash = 5,776.40,
    # 223.60 apart: 3.73% of the file's figure, over the 0.5% bound.
    path = layouts.write_schwab(tmp_path, total="$6,000.00")
    result = folio.import_file(path, "LAYOUT", via="local")
    assert result.status == "partially_succeeded"
    (gap,) = result.totals
    assert (gap["row"], gap["file"], gap["folio"]) == (7, 6000.00, 5776.40)
    assert gap["gap"] == pytest.approx(223.60 / 6000.00)
    issues = result.issues.to_dict("records")
    assert any(i["code"] == "total_mismatch" and i["row"] == 7 for i in issues)


def test_a_record_count_that_disagrees_is_named(tmp_path):
    path = layouts.write_prime_broker_bonds(tmp_path, record_count=4)  # three rows are there
    result = folio.import_file(path, "LAYOUT", via="local")
    assert result.status == "partially_succeeded"
    (gap,) = result.totals
    assert (gap["row"], gap["file"], gap["folio"]) == (6, 4, 3)


def test_fcfa_beside_cemac_isins_is_read_as_xaf_and_said(tmp_path):
    result = _import("cemac-custody", tmp_path)
    (said,) = [i for i in result.issues.to_dict("records") if i["code"] == "currency_resolved"]
    assert said["severity"] == "warning" and said["value"] == "FCFA"
    assert "XAF" in said["message"]


def test_section_headings_in_the_identifier_column_are_not_rejected_rows(tmp_path):
    # A statement grouped under headings written where the ISINs go, with subtotals
    # per group and a grand total: 612.50 + 1,230.00 = 1,842.50; + 1,012.50 = 2,855.00;
    # + 500.00 = 3,355.00.
    path = tmp_path / "releve.csv"
    path.write_text("\n".join([
        "Code ISIN;Libellé;Quantité;Cours;Valorisation;Devise",
        "ACTIONS;;;;;",
        "FR0000120271;Total;10;61,25;612,50;EUR",
        "FR0000131104;BNP;20;61,50;1 230,00;EUR",
        "Sous-total Actions;;;;1 842,50;",
        "Fixed Income;;;;;",
        "FR0013508470;OAT 2030;1 000;101,25;1 012,50;EUR",
        "Sous-total Obligations;;;;1 012,50;",
        "Compte courant;;;;;",  # a heading that names no asset class
        "FR0000133308;Orange;50;10,00;500,00;EUR",
        "Total général;;;;3 355,00;",
    ]) + "\n", encoding="utf-8")
    result = folio.import_file(path, "SECTIONS", as_of="2024-01-31", via="local")
    assert (result.rows_imported, result.rows_rejected) == (4, 0)
    assert result.row_roles == {"section": 3, "total": 3}
    assert not result.totals  # 3,355.00 kept, as the file says
    assert "missing_value" not in set(result.issues["code"])
    # With no asset-class column, a heading that is an asset class gives its rows
    # theirs (as written); a heading that names none gives none, not the one above.
    stored = folio.positions("SECTIONS")
    assert list(stored["row"]) == [3, 4, 7, 10]
    assert stored["asset_class"].tolist()[:3] == ["ACTIONS", "ACTIONS", "Fixed Income"]
    assert pd.isna(stored["asset_class"].iloc[3])


def test_an_etrade_lot_line_is_never_a_position(tmp_path):
    result = _import("etrade", tmp_path)
    stored = folio.positions("LAYOUT", result.as_of)
    assert list(stored["row"]) == [9, 12]  # AAPL and KO; lines 10, 11 and 13 are lots
    assert stored["quantity"].sum() == 50  # 20 + 30, not 20 + 10 + 10 + 30 + 30


def test_a_section_far_down_a_long_statement_is_found(tmp_path):
    """IBKR writes every section of a statement in one file: Open Positions may
    start after hundreds of trade lines, and is read there all the same."""
    path = layouts.write_ibkr_activity(tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Open Positions,Header"))
    trades = ['Trades,Data,Order,Stocks,USD,KO,"2025-02-03, 10:30:00",1,60.00,60.10,-60.00,'
              '-1.00,61.00,0.00,0.10,O' for _ in range(400)]
    header = ("Trades,Header,DataDiscriminator,Asset Category,Currency,Symbol,Date/Time,"
              "Quantity,T. Price,C. Price,Proceeds,Comm/Fee,Basis,Realized P/L,MTM P/L,Code")
    path.write_text("\n".join(lines[:at] + [header] + trades + lines[at:]) + "\n",
                    encoding="utf-8")
    result = folio.import_file(path, "LONG", via="local")
    assert result.preset == "ibkr-activity" and result.status == "succeeded"
    stored = folio.positions("LONG", result.as_of)
    assert list(stored["identifier"]) == ["IBM", "KO", "SAP"]  # the 400 trades are not positions
    assert stored.groupby("currency")["market_value"].sum().to_dict() == pytest.approx(
        {"USD": 3125.00, "EUR": 920.00})
