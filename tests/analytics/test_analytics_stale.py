"""A reference price older than FOLIO_STALE_PRICE_DAYS is flagged stale_price (and still used).

As of 2024-03-31: A's price is from 2024-02-29 (31 days old), B's from 2024-02-28 (32
days), C is priced by the file itself (never stale).
"""

from __future__ import annotations

import pandas as pd

import folio
from folio import analytics

from builders import english_csv

POSITIONS = pd.DataFrame({"identifier": ["A", "B", "C"], "quantity": [10.0, 10.0, 10.0],
                          "price": [float("nan"), float("nan"), 5.0], "currency": "EUR",
                          "as_of": "2024-03-31"})
INSTRUMENTS = pd.DataFrame({"identifier": ["A", "B", "C"], "asset_class": "Equity"})
PRICES = pd.DataFrame([("2024-02-29", "A", 2.0, "EUR"), ("2024-02-28", "B", 3.0, "EUR"),
                       ("2023-01-01", "C", 9.0, "EUR")],
                      columns=["date", "identifier", "price", "currency"])


def flags(**options):
    v = analytics.value_positions(POSITIONS, base_currency="EUR", instruments=INSTRUMENTS,
                                  prices=PRICES, **options)
    return dict(zip(v.positions["identifier"], v.positions["stale_price"], strict=True)), v


def test_older_than_the_setting_is_stale_and_still_used():
    stale, v = flags()  # default 31 days: last month-end's price is not stale
    assert stale == {"A": False, "B": True, "C": False}
    assert v.positions["value"].tolist() == [20.0, 30.0, 50.0]
    assert v.totals()["flags"]["stale_price"] == {"positions": 1, "value": 30.0,
                                                  "unvalued_positions": 0}
    assert flags(stale_price_days=30)[0] == {"A": True, "B": True, "C": False}


def test_the_setting_reaches_the_report(tmp_path, monkeypatch):
    (tmp_path / "ref").mkdir()
    (tmp_path / "ref" / "prices.csv").write_text(
        "date,identifier,price,currency\n2024-02-28,FR0000120271,60,EUR\n", encoding="utf-8")
    folio.load_reference(tmp_path / "ref")
    folio.import_file(english_csv(tmp_path / "h.csv", [
        ("FR0000120271", "Total", 10, "", "", "EUR", "2024-03-31")]), "P", base_currency="EUR")
    report = analytics.report("P")
    assert report["flags"]["stale_price"]["identifiers"] == ["FR0000120271"]
    assert report["valuation"]["stale_price_days"] == 31
    monkeypatch.setenv("FOLIO_STALE_PRICE_DAYS", "40")
    folio.reset_configuration()
    assert analytics.report("P")["flags"]["stale_price"]["positions"] == 0


def test_a_stored_snapshot_is_valued_at_the_quotes_of_its_date(tmp_path, store):
    """The store holds prices and rates before, on and after the snapshot's date: each
    position takes its instrument's latest price and its pair's latest rate on or
    before the date, and no later one (of 2024-03-31 and 2024-04-30)."""
    for day, price, rate in (("2024-02-29", 50.0, 1.0), ("2024-03-28", 60.0, 1.25),
                             ("2024-04-15", 70.0, 2.0)):
        folio.add_price("FR0000120271", price, day, "EUR")
        folio.add_price("US0378331005", price * 2, day, "USD")
        folio.add_fx_rate("EUR", "USD", rate, day)
    rows = [("FR0000120271", "Total", 10, "", "", "EUR", "2024-03-31"),
            ("US0378331005", "Apple", 5, "", "", "USD", "2024-03-31")]
    folio.import_file(english_csv(tmp_path / "march.csv", rows), "P", base_currency="EUR")
    april = [(i, n, q, p, mv, c, "2024-04-30") for i, n, q, p, mv, c, _ in rows]
    folio.import_file(english_csv(tmp_path / "april.csv", april), "P")
    # 31 March: 10 x 60 EUR + 5 x 120 USD / 1.25 = 600 + 480; no 2024-04-15 quote.
    march = analytics.value_snapshot("P", "2024-03-31")
    assert march.positions["value"].tolist() == [600.0, 480.0]
    # 30 April: 10 x 70 + 5 x 140 / 2.0 = 700 + 350.
    assert analytics.value_snapshot("P", "2024-04-30").positions["value"].tolist() == [700.0, 350.0]
