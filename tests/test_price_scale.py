"""A price that reads per 100 of nominal where nothing marks a bond, or the reverse.

Every figure below is worked out by hand from the file's cells: 1000 x 98.50 =
98,500.00 = 100 x 985.00 (a bond's price per 100 of nominal, against a value
per unit), and 10 x 101.20 = 1,012.00 (a unit price, on a row marked a bond).
"""

from __future__ import annotations

import folio

HEADER = "ISIN,Name,Quantity,Price,Market Value,Currency,Asset Class,Maturity"
ROWS = [
    # row 2: 1000 x 98.50 = 100 x 985.00, and nothing says bond -> warning
    "FR0000120271,Unmarked note,1000,98.50,985.00,EUR,,",
    # row 3: the same figures, the asset class says bond -> fine
    "US0378331005,Corporate note,1000,98.50,985.00,EUR,Corporate Bond,",
    # row 4: the same figures, the price cell says % -> fine
    "US5949181045,Percent quote,1000,98.50%,985.00,EUR,,",
    # row 5: 10 x 101.20 = 1,012.00 = the value, on a bond -> warning (the reverse)
    "NL0010273215,Unit-priced bond,10,101.20,1012.00,EUR,Government Bond,",
    # row 6: 10 x 50.00 = 500.00, an equity -> fine
    "CH0038863350,Plain share,10,50.00,500.00,EUR,Equity,",
    # row 7: 1000 x 98.50 = 100 x 985.00, with a maturity date -> fine
    "FR0000120073,Dated paper,1000,98.50,985.00,EUR,,2030-01-15",
]


def test_price_per_100_on_an_unmarked_row_and_unit_price_on_a_bond_are_warned(tmp_path):
    path = tmp_path / "scales.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    result = folio.import_file(path, "SCALE", as_of="2025-06-30", via="local")
    assert result.status == "succeeded", result.summary()
    assert result.rows_imported == 6  # warnings keep the rows
    found = result.issues[result.issues["code"] == "price_scale"]
    assert found["row"].tolist() == [2, 5]
    assert found["column"].tolist() == ["Price", "Price"]
    assert found["severity"].tolist() == ["warning", "warning"]
    assert found["value"].tolist() == ["98.50", "101.20"]
    first, second = found["message"].tolist()
    assert first.startswith("Quantity x Price = 98,500.00 is 100 x Market Value 985.00: "
                            "Price 98.5 reads as a price per 100 of nominal")
    assert second.startswith("Quantity x Price = 1,012.00 equals Market Value 1,012.00: "
                             "Price 101.2 reads as a unit price")
    # Neither is a value mismatch: the value agrees at one scale or the other.
    assert "mv_mismatch" not in set(result.issues["code"])
    # The file's values are stored as they are.
    stored = folio.positions("SCALE")
    assert stored["market_value"].tolist() == [985.0, 985.0, 985.0, 1012.0, 500.0, 985.0]


PRESET = """\
name: my-bonds
description: a custodian's bond list
match:
  header: [Security ID, Face, Px, Value, Ccy]
columns:
  identifier: Security ID
  quantity: Face
  price: Px
  market_value: Value
  currency: Ccy
"""


def test_a_preset_says_its_prices_are_per_100(tmp_path, home):
    path = tmp_path / "bonds.csv"
    # 5000 x 99.10 = 495,500.00 = 100 x 4,955.00
    path.write_text("Security ID,Face,Px,Value,Ccy\nFR0000120271,5000,99.10,4955.00,EUR\n",
                    encoding="utf-8")
    (home / "presets").mkdir(parents=True)
    (home / "presets" / "my_bonds.yaml").write_text(PRESET, encoding="utf-8")
    plain = folio.import_file(path, "B1", as_of="2025-06-30", via="local")
    assert plain.preset == "my-bonds"
    assert plain.issues["code"].tolist() == ["price_scale"]
    assert plain.issues["row"].tolist() == [2]

    (home / "presets" / "my_bonds.yaml").write_text(
        PRESET + "values:\n  price: per_100\n", encoding="utf-8")
    told = folio.import_file(path, "B2", as_of="2025-06-30", via="local")
    assert told.preset == "my-bonds"
    assert told.issues.empty, told.issues


def test_a_maturity_alone_does_not_make_a_unit_price_suspect(tmp_path):
    # 10 x 60 = 600 = the value: a unit price; the row has a maturity but no bond class.
    path = tmp_path / "dated.csv"
    path.write_text("ISIN,Name,Quantity,Price,Market Value,Currency,Maturity\n"
                    "FR0000120271,Dated fund,10,60,600,EUR,2031-06-15\n", encoding="utf-8")
    result = folio.import_file(path, "D", as_of="2024-01-31", via="local")
    assert result.status == "succeeded" and result.issues.empty, result.issues
