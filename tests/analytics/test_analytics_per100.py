"""Bond prices per 100 of nominal: valued as quantity x price / 100 and flagged
``price_per_100``, including a bond missing from the reference whose name says it
is one, so it is never valued 100 times over in silence.

Expected values are worked out by hand in the comments.
"""

from __future__ import annotations

import pandas as pd

import folio
from folio import analytics

from builders import english_csv

DAY = "2024-01-31"


def valued(rows, **reference):
    frame = pd.DataFrame(rows, columns=["identifier", "name", "asset_class", "quantity",
                                        "price", "market_value"]).assign(currency="XAF",
                                                                         as_of=DAY)
    v = analytics.value_positions(frame, base_currency="XAF", **reference)
    return v.positions.set_index("identifier"), v


def test_bonds_priced_near_par_are_per_100_and_flagged():
    pos, v = valued([
        # 1,000,000 nominal at 101.25 per 100 -> 1,012,500
        ("CM0000000018", "Cameroun 6,25% 2029", "", 1_000_000, 101.25, None),
        # asset class says bond: 500,000 x 98.4 / 100 -> 492,000
        ("GA0000000012", "Gabon", "Obligation d'État", 500_000, 98.4, None),
        # a distressed bond, nominal a round thousand: 2,000,000 x 30 / 100 -> 600,000
        ("CG0000000016", "Congo", "Government Bond", 2_000_000, 30.0, None),
        # a share at 120: per unit, 1,000 x 120 -> 120,000
        ("FR0000120271", "TotalEnergies SE", "", 1_000, 120.0, None),
        # a BRVM bond quoted per bond of 10,000 nominal: 100 x 9,850 -> 985,000
        ("SN0000000015", "Sénégal 6% 2030", "Government Bond", 100, 9_850.0, None),
        # the file's market value is taken as it is, whatever the price says
        ("CI0000000012", "Côte d'Ivoire 5,9% 2031", "", 1_000_000, 99.0, 990_000.0),
    ])
    assert pos["local_value"].to_dict() == {
        "CM0000000018": 1_012_500.0, "GA0000000012": 492_000.0, "CG0000000016": 600_000.0,
        "FR0000120271": 120_000.0, "SN0000000015": 985_000.0, "CI0000000012": 990_000.0}
    assert pos["price_per_100"].to_dict() == {
        "CM0000000018": True, "GA0000000012": True, "CG0000000016": True,
        "FR0000120271": False, "SN0000000015": False, "CI0000000012": False}
    flag = v.totals()["flags"]["price_per_100"]
    assert flag == {"positions": 3, "value": 1_012_500.0 + 492_000.0 + 600_000.0,
                    "unvalued_positions": 0}


def test_a_reference_price_of_a_reference_bond_is_per_100():
    instruments = pd.DataFrame({"identifier": ["CM0000000018"], "coupon": [6.25]})
    prices = pd.DataFrame({"date": [DAY], "identifier": ["CM0000000018"], "price": [99.8]})
    pos, _ = valued([("CM0000000018", "", "", 250_000, None, None)],
                    instruments=instruments, prices=prices)
    # 250,000 x 99.8 / 100 = 249,500
    assert pos.loc["CM0000000018", "local_value"] == 249_500.0
    assert pos.loc["CM0000000018", "value_source"] == "reference_price"
    assert bool(pos.loc["CM0000000018", "price_per_100"])


def test_an_unknown_bond_in_a_stored_snapshot_is_valued_per_100_and_reported(tmp_path):
    path = english_csv(tmp_path / "h.csv", [
        ("CM0000000018", "Republic of Cameroon 6.25% 2029", 1_000_000, 101.25, "", "XAF", DAY),
        ("FR0000120271", "TotalEnergies SE", 1_000, 60.0, "", "EUR", DAY)])
    folio.import_file(path, "P", base_currency="XAF")
    report = analytics.report("P")
    assert report["flags"]["price_per_100"]["identifiers"] == ["CM0000000018"]
    # 1,000,000 x 101.25 / 100 = 1,012,500 XAF; 1,000 x 60 EUR x 655.957 = 39,357,420 XAF
    assert report["valuation"]["value"] == 1_012_500.0 + 39_357_420.0
