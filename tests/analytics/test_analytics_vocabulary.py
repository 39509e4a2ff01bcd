"""One asset-class and country vocabulary: exposures by taxonomy class, country
(read from the ISIN when missing, and said to be) and region, against sums
worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from folio.analytics import UNCLASSIFIED, UNVALUED, exposure, exposures, value_positions

AS_OF = "2024-03-31"
# identifier, asset class as the file writes it, country, market value (EUR).
# The ISINs' check digits are right (CM0000000018: "1222" + "000000001", Luhn 8;
# US0378331005 and SN0000000019 likewise) but for US0378331006; XS is no country.
ROWS = [
    ("FR0000000001", "Government Bond", "FR", 1_000.0),
    ("CM0000000018", "Obligation d'État", "", 3_000.0),     # country from the ISIN: CM
    ("SN_LOCAL_EQ", "Actions", "SN", 2_000.0),
    ("US0378331005", "Equity", None, 4_000.0),              # country from the ISIN: US
    ("XS0000000009", "Widgets", None, 500.0),               # no class, no country
    ("DE_FUND", "", "DE", 500.0),                           # no asset class
    ("US0378331006", "Fonds", "", None),                    # unvalued; bad check digit
]
VALUED_TOTAL = 1_000.0 + 3_000.0 + 2_000.0 + 4_000.0 + 500.0 + 500.0  # 11,000


@pytest.fixture
def valued():
    frame = pd.DataFrame(ROWS, columns=["identifier", "asset_class", "country", "market_value"])
    frame = frame.assign(quantity=1.0, currency="EUR", as_of=AS_OF)
    return value_positions(frame, base_currency="EUR", pegs=False)


def table(valued, by):
    out = exposure(valued, by)
    last = out.iloc[-1]
    assert last["bucket"] == UNVALUED and pd.isna(last["value"]), out
    return {r.bucket: (r.value, r.share, r.positions)
            for r in out.iloc[:-1].itertuples(index=False)}, int(last["positions"])


def test_english_and_french_labels_are_one_class_and_the_label_is_kept(valued):
    pos = valued.positions.set_index("identifier")
    assert pos.loc["FR0000000001", "asset_class"] == "government bond"
    assert pos.loc["CM0000000018", "asset_class"] == "government bond"
    assert pos.loc["SN_LOCAL_EQ", "asset_class"] == "equity"
    assert pos.loc["XS0000000009", "asset_class"] == "other"      # a label not in the table
    assert pd.isna(pos.loc["DE_FUND", "asset_class"])              # no label at all
    assert pos.loc["CM0000000018", "asset_class_label"] == "Obligation d'État"
    assert pos.loc["XS0000000009", "asset_class_label"] == "Widgets"


def test_exposure_by_asset_class_uses_the_taxonomy(valued):
    got, unvalued = table(valued, "asset_class")
    assert got == {
        "equity": (pytest.approx(6_000.0), pytest.approx(6_000 / 11_000), 2),
        "government bond": (pytest.approx(4_000.0), pytest.approx(4_000 / 11_000), 2),
        "other": (pytest.approx(500.0), pytest.approx(500 / 11_000), 1),
        UNCLASSIFIED: (pytest.approx(500.0), pytest.approx(500 / 11_000), 1),
    }
    assert unvalued == 1


def test_a_missing_country_is_read_from_the_isin_and_flagged(valued):
    pos = valued.positions.set_index("identifier")
    assert pos.loc["CM0000000018", "country"] == "CM"
    assert pos.loc["US0378331005", "country"] == "US"
    inferred = set(pos.index[pos["country_inferred"].to_numpy(dtype=bool)])
    assert inferred == {"CM0000000018", "US0378331005"}
    # XS is international, and a wrong check digit is no ISIN to read a country from.
    assert pos.loc[["XS0000000009", "US0378331006"], "country"].isna().all()
    got, unvalued = table(valued, "country")
    assert {k: v[0] for k, v in got.items()} == {
        "US": pytest.approx(4_000.0), "CM": pytest.approx(3_000.0),
        "SN": pytest.approx(2_000.0), "FR": pytest.approx(1_000.0),
        "DE": pytest.approx(500.0), UNCLASSIFIED: pytest.approx(500.0)}
    assert unvalued == 1


def test_a_file_or_reference_country_is_never_overridden_by_the_isin():
    frame = pd.DataFrame({"identifier": ["US0378331005"], "country": ["IE"],
                          "market_value": [10.0], "quantity": [1.0], "currency": ["EUR"],
                          "as_of": [AS_OF]})
    pos = value_positions(frame, base_currency="EUR", pegs=False).positions
    assert pos["country"].tolist() == ["IE"] and not pos["country_inferred"].any()


def test_exposure_by_region(valued):
    got, unvalued = table(valued, "region")
    # CEMAC: CM 3,000; UEMOA: SN 2,000; other: US 4,000 + FR 1,000 + DE 500.
    assert got == {
        "other": (pytest.approx(5_500.0), pytest.approx(5_500 / 11_000), 3),
        "CEMAC": (pytest.approx(3_000.0), pytest.approx(3_000 / 11_000), 1),
        "UEMOA": (pytest.approx(2_000.0), pytest.approx(2_000 / 11_000), 1),
        UNCLASSIFIED: (pytest.approx(500.0), pytest.approx(500 / 11_000), 1),
    }
    assert unvalued == 1
    assert sum(v[0] for v in got.values()) == pytest.approx(VALUED_TOTAL)


def test_every_dimension_has_region_and_the_unvalued_bucket(valued):
    tables = exposures(valued)
    assert "region" in tables
    for by, out in tables.items():
        assert out.iloc[-1]["bucket"] == UNVALUED and out.iloc[-1]["positions"] == 1, by


def test_broker_and_other_language_labels():
    labels = pd.Series(["ETFs & Closed End Funds", "Cash and Money Market", "Stocks",
                        "Staatsanleihe", "Aandelen", "Obbligazioni", "Renta fija",
                        "OBLIGATIONS D’ÉTAT", None])
    from folio.analytics.vocabulary import classify

    assert classify(labels).tolist()[:-1] == [
        "fund", "cash", "equity", "government bond", "equity", "bond", "bond",
        "government bond"]
    assert pd.isna(classify(labels).iloc[-1])


def test_the_report_says_what_the_vocabulary_did(valued):
    from folio.analytics import build_report, format_report

    data = build_report(valued, portfolio="P")
    # CM0000000018 and US0378331005 took their country from the ISIN; "Widgets"
    # is no label of the table (XS0000000009 counts as other).
    assert data["classification"] == {"countries_from_isin": 2,
                                      "unknown_asset_class_labels": ["Widgets"]}
    text = format_report(data)
    assert "country read from the ISIN for 2 position(s)" in text
    assert "asset classes not in the taxonomy (counted as other): Widgets" in text
