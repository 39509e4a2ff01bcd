"""Small reference and position frames whose values are worked out by hand.

As of 2024-03-31, valued in USD. Quotes (1 base = rate quote): EUR/XAF and
EUR/XOF 655.957 on 2024-03-28 (3 days old), EUR/USD 1.25 on 2024-03-31,
EUR/GBP 0.80 on 2024-03-10 (21 days old: stale), nothing for JPY.

    identifier  ccy  how it is valued                                   USD value
    BOND_CM     XAF  655,957,000 nominal x 100 / 100 = 655,957,000 XAF  1,250,000  (cross via EUR)
    EQ_FR       EUR  market value 80,000 EUR x 1.25                       100,000  (direct)
    UST         USD  market value 190,000                                 190,000  (identity)
    MYSTERY     GBP  100 x 50 = 5,000 GBP x (1/0.80) x 1.25                 7,812.5 (stale, unknown, no issuer)
    EQ_SN       XOF  1,000 x reference price 13,119.14 = 13,119,140 XOF    25,000  (price from 2024-03-29)
    JPY_BOND    JPY  1,000,000 x 99 / 100 = 990,000 JPY                    missing_fx, unknown
    EQ_NOPRICE  EUR  no market value, no price anywhere                     missing_price
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AS_OF = "2024-03-31"
TOTAL_USD = 1_250_000 + 100_000 + 190_000 + 7_812.5 + 25_000


def instruments_frame() -> pd.DataFrame:
    return pd.DataFrame([
        ("BOND_CM", "Republic of Cameroon", "CM", "Government Bond", "XAF", "2027-06-30", 6.0, 3.0),
        ("EQ_FR", "TotalEnergies SE", "FR", "Equity", "EUR", None, None, None),
        ("UST", "United States Treasury", "US", "Government Bond", "USD", "2025-01-31", 4.0, None),
        ("EQ_SN", "Sonatel SA", "SN", "Equity", "XOF", None, None, None),
        ("EQ_NOPRICE", "Orange SA", "FR", "Equity", "EUR", None, None, None),
    ], columns=["identifier", "issuer", "country", "asset_class", "currency", "maturity_date",
                "coupon", "modified_duration"])


def fx_frame() -> pd.DataFrame:
    return pd.DataFrame([
        ("2024-03-28", "EUR", "XAF", 655.957),
        ("2024-03-28", "EUR", "XOF", 655.957),
        ("2024-03-28", "EUR", "USD", 1.20),   # superseded by the 31st
        ("2024-03-31", "EUR", "USD", 1.25),
        ("2024-04-02", "EUR", "USD", 9.99),   # after the as-of date: never used
        ("2024-03-10", "EUR", "GBP", 0.80),
    ], columns=["date", "base", "quote", "rate"])


def prices_frame() -> pd.DataFrame:
    return pd.DataFrame([
        ("2024-03-29", "EQ_SN", 13_119.14, "XOF"),
        ("2024-04-05", "EQ_SN", 99_999.0, "XOF"),  # after the as-of date: never used
        ("2024-02-29", "EQ_SN", 12_000.0, "XOF"),  # older: superseded
    ], columns=["date", "identifier", "price", "currency"])


def positions_frame() -> pd.DataFrame:
    nan = np.nan
    rows = [
        # identifier, quantity, price, mv, accrued, ccy, issuer, country, asset_class, maturity
        ("BOND_CM", 655_957_000.0, 100.0, nan, 6_559_570.0, "XAF", "", None, None, None),
        ("EQ_FR", 1_000.0, 80.0, 80_000.0, nan, "EUR", "TotalEnergies SE", "FR", "Equity", None),
        ("UST", 200_000.0, 95.0, 190_000.0, nan, "USD", None, None, None, None),
        ("MYSTERY", 100.0, 50.0, nan, nan, "GBP", None, "GB", None, None),
        ("EQ_SN", 1_000.0, nan, nan, nan, "XOF", "Sonatel SA", "SN", "Equity", None),
        ("JPY_BOND", 1_000_000.0, 99.0, nan, nan, "JPY", "Japan", "JP", "Obligation d'État",
         "2040-03-20"),
        ("EQ_NOPRICE", 500.0, nan, nan, nan, "EUR", None, None, None, None),
    ]
    frame = pd.DataFrame(rows, columns=["identifier", "quantity", "price", "market_value",
                                        "accrued_interest", "currency", "issuer", "country",
                                        "asset_class", "maturity_date"])
    frame.insert(0, "as_of", AS_OF)
    return frame


