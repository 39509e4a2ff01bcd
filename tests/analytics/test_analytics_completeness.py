"""Complete snapshots: rows rejected at import are counted, with the value they carried,
in reports, history and changes, and a rejected row is never "removed".

January holds three positions, 2,000 EUR in all: TotalEnergies 600 EUR, Orange 400 EUR,
SOCAPALM 655,957 XAF (1,000 EUR at the parity). In February the TotalEnergies row has
a quantity that is not a number (its 600 EUR market value is readable), the SOCAPALM
row one too (655,957 XAF readable: 1,000 EUR), and a row whose market value is not a
number (BNP: nothing readable): three rows rejected, 1,600 EUR readable, one unreadable.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

import folio
from folio import analytics
from folio.config import get_settings
from folio.store.db import get_engine
from folio.store.schema import imports

from builders import BNP, ORANGE, TOTAL, english_csv

SOCAPALM = "CM0000000018"


def import_both(tmp_path):
    folio.import_file(english_csv(tmp_path / "jan.csv", [
        (TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31"),
        (ORANGE, "Orange", 40, 10, 400, "EUR", "2024-01-31"),
        (SOCAPALM, "SOCAPALM", 1, 655_957, 655_957, "XAF", "2024-01-31")]), "P",
        base_currency="EUR")
    return folio.import_file(english_csv(tmp_path / "feb.csv", [
        (TOTAL, "Total", "ten", 60, 600, "EUR", "2024-02-29"),
        (ORANGE, "Orange", 40, 10, 400, "EUR", "2024-02-29"),
        (SOCAPALM, "SOCAPALM", "one", 655_957, 655_957, "XAF", "2024-02-29"),
        (BNP, "BNP", 1, 50, "lots", "EUR", "2024-02-29")]), "P")


def test_the_report_says_the_snapshot_is_incomplete_and_by_how_much(tmp_path, store):
    assert import_both(tmp_path).rows_rejected == 3
    val = analytics.report("P")["valuation"]
    assert val["value"] == pytest.approx(400.0)  # Orange alone: the rejected are in no figure
    assert (val["incomplete"], val["rejected_rows"], val["rejected_unreadable"]) == (True, 3, 1)
    assert val["rejected_value"] == pytest.approx(600 + 655_957 / 655.957)
    assert val["rejected_value_local"] == {"EUR": 600.0, "XAF": 655_957.0}
    text = analytics.format_report(analytics.report("P"))
    assert ("INCOMPLETE                                   3  row(s) rejected at import, "
            "carrying 1,600 EUR (+1 unreadable); in no figure") in text
    january = analytics.report("P", "2024-01-31")["valuation"]
    assert (january["incomplete"], january["rejected_rows"], january["rejected_value"]) == (
        False, 0, 0.0)


def test_history_marks_the_incomplete_date(tmp_path):
    import_both(tmp_path)
    table = analytics.history(analytics.value_snapshot("P", all_dates=True))
    assert table["value"].tolist() == pytest.approx([2_000.0, 400.0])
    assert table["incomplete"].tolist() == [False, True]
    assert table["rejected_rows"].tolist() == [0, 3]
    assert table["rejected_value"].tolist() == pytest.approx([0.0, 1_600.0])


def test_changes_never_call_a_rejected_row_removed(tmp_path, store):
    import_both(tmp_path)
    changes = analytics.snapshot_changes("P")
    status = dict(zip(changes.positions["identifier"], changes.positions["status"], strict=True))
    assert status == {TOTAL: "rejected", SOCAPALM: "rejected", ORANGE: "unchanged"}
    s = changes.summary()
    assert (s["removed"], s["rejected"], s["unattributed"]) == (0, 2, 2)
    assert s["change"] == 0.0  # no loss is made of rows that were rejected
    assert (s["incomplete_after"], s["rejected_rows_after"]) == (True, 3)
    assert s["rejected_value_after"] == pytest.approx(1_600.0)
    assert s["incomplete_before"] is False


def test_a_store_that_knows_only_the_count_still_says_incomplete(tmp_path, store):
    import_both(tmp_path)
    with get_engine(get_settings()).begin() as conn:  # as an import before this was recorded
        conn.execute(sa.update(imports).values(rejected=None))
    val = analytics.report("P")["valuation"]
    assert (val["incomplete"], val["rejected_rows"], val["rejected_unreadable"]) == (True, 3, 3)
    assert val["rejected_value"] == 0.0 and val["rejected_value_local"] == {}
    json.dumps(analytics.report("P"))  # still plain JSON
    # Which rows were rejected is not known: a disappearance may be one of them.
    changes = analytics.snapshot_changes("P")
    status = dict(zip(changes.positions["identifier"], changes.positions["status"], strict=True))
    assert status == {TOTAL: "removed_or_rejected", SOCAPALM: "removed_or_rejected",
                      ORANGE: "unchanged"}
    assert changes.summary()["removed"] == 0
