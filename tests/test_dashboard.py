"""The Dashboard as a widget: composable, its own stress "by", new portfolios on reload,
a chart and a table in each tab; asserted on state, figures worked out in plain pandas."""

from __future__ import annotations

import re

import ipywidgets as w
import pandas as pd
import pytest

import folio
from folio.widgets import Dashboard
from folio.widgets.tables import Table
from test_widgets import sample_store


@pytest.fixture
def board():
    sample_store()
    return Dashboard("PENSION-CM", limits={"issuer": 0.10, "country": 0.35})


def _html(widget) -> str:
    """Every HTML value under a widget."""
    out = [widget.value] if isinstance(widget, w.HTML) else []
    for child in getattr(widget, "children", ()):
        out.append(_html(child))
    return "".join(out)


def test_dashboard_is_a_widget_with_a_chart_and_table_per_tab(board):
    box = w.VBox([board])  # a real container: no TraitError
    assert box.children[0] is board
    assert set(board.figures) == {"history", "exposure", "concentration", "stress", "changes"}
    # a chart is drawn when its tab is shown: the first now, the others on demand
    assert board.charts["history"].value[:8] == b"\x89PNG\r\n\x1a\n"
    assert board.charts["stress"].value == b""
    for index, name in enumerate(board.charts):
        board.tabs.selected_index = index
        assert board.charts[name].value[:8] == b"\x89PNG\r\n\x1a\n", name
    for name in ("positions", "exposure", "stress", "changes"):
        assert isinstance(board.tables[name].children[0], Table), name
    text = _html(board)
    assert not re.search(r"\d\.\d+e[+-]\d", text)  # no scientific notation anywhere
    assert not re.search(r"color:\s*#", text)  # colours come from the theme variables
    assert "var(--jp-error-color1)" in text  # the theme's <style> block is in the box


def test_exposure_chart_matches_the_shares_of_the_valued_positions(board):
    positions = board.valuation.positions
    valued = positions[positions["value"].notna()]
    expected = (valued.groupby("currency")["value"].sum() / valued["value"].sum())
    board.dimension.value = "currency"
    ax = board.figures["exposure"].axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    heights = dict(zip(labels, [p.get_width() for p in ax.patches], strict=True))
    assert labels[:len(expected)] == list(expected.sort_values(ascending=False).index)
    for currency, share in expected.items():
        assert heights[currency] == pytest.approx(share)
    # the table beside it shows the same buckets, amounts in XAF without decimals
    table = board.tables["exposure"].children[0]
    assert set(expected.index) <= set(table.rows["bucket"])
    total = f"{valued.loc[valued['currency'] == 'XAF', 'value'].sum():,.0f}"
    assert total in table.view.value


def test_stress_tab_has_its_own_by(board):
    board.scenario.value = "cfa_peg_break"
    board.dimension.value = "issuer"
    stress_table = board.tables["stress"].children[0]
    assert set(stress_table.rows["bucket"]) <= {"XAF", "EUR", "USD", "unvalued"}
    board.stress_by.value = "country"
    assert board.dimension.value == "issuer"  # the Exposures tab is left alone
    stress_table = board.tables["stress"].children[0]
    positions = board.stressed.positions
    # before per country, by hand from the stressed positions
    before = positions.groupby("country")["before"].sum()
    shown = stress_table.rows.set_index("bucket")["before"]
    for country, value in before.items():
        if value:
            assert shown[country] == pytest.approx(value)
    ax = board.figures["stress"].axes[0]
    assert {t.get_text() for t in ax.get_yticklabels()} == set(
        stress_table.rows.loc[stress_table.rows["bucket"] != "unvalued", "bucket"])


def test_a_portfolio_imported_later_appears_on_reload(board, tmp_path):
    assert "LATE" not in board.portfolio.options
    path = tmp_path / "late.csv"
    path.write_text("identifier,quantity,market_value,currency,as_of\n"
                    "FR0000120271,10,600,EUR,2024-03-31\n")
    folio.create_portfolio("LATE", "EUR")
    folio.import_file(path, "LATE", via="local")
    board.reload.click()
    assert "LATE" in board.portfolio.options
    assert board.portfolio.value == "PENSION-CM"  # the choice is kept
    board.portfolio.value = "LATE"
    assert board.as_of.value == "2024-03-31" and board.valuation.base_currency == "EUR"
    assert board.exposure.loc[board.exposure["bucket"] != "unvalued", "share"].tolist() == [1.0]
    assert board.changes is None and board.charts["changes"].layout.display == "none"


def test_changes_waterfall_in_the_tab_adds_up(board):
    s = board.changes.summary()
    ax = board.figures["changes"].axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights[0] == pytest.approx(s["value_before"])
    assert heights[-1] == pytest.approx(s["value_before"] + s["change"])
    moved = board.tables["changes"].children[0].rows
    assert (moved["status"] != "unchanged").all()
    assert isinstance(moved, pd.DataFrame)


def test_an_unknown_portfolio_is_named(board):
    with pytest.raises(folio.NotFound, match="no portfolio 'PENSION-XX'; portfolios: GLOBAL-EUR"):
        Dashboard("PENSION-XX")
