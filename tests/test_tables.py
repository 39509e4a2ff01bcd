"""Tables people read: formatting by meaning, the paged Table widget, issue counts,
the store's issues CSV export and the frames ``folio.positions()`` returns."""

from __future__ import annotations

import csv
from datetime import date

import numpy as np
import pandas as pd
import pytest

import folio
from folio import display
from folio.display import issue_counts
from folio.errors import NotFound, PathNotAllowed
from folio.widgets.tables import IssuesView, Table


def test_amounts_follow_their_currency_and_shares_read_as_percent():
    frame = pd.DataFrame({
        "id": [7, 8, 9], "import_id": ["a" * 32] * 3,
        "identifier": ["CM0000CMR290", "FR0000120271", None],
        "currency": ["XAF", "EUR", "JPY"],
        "market_value": [2_000_000_000.0, 4_068_500.0, 1_830_516.0],
        "share": [0.382241, 0.5, np.nan],
        "as_of": [pd.Timestamp("2024-03-31"), pd.NaT, pd.Timestamp("2024-01-31")],
        "quantity": [1_500_000.0, 12.5, None],
    })
    text = display.formatted(frame)
    assert list(text.columns) == ["identifier", "currency", "market_value", "share", "as_of",
                                  "quantity"]
    assert text["market_value"].tolist() == ["2,000,000,000", "4,068,500.00", "1,830,516"]
    assert text["share"].tolist() == ["38.2%", "50.0%", display.MISSING]
    assert text["as_of"].tolist() == ["2024-03-31", display.MISSING, "2024-01-31"]
    assert text["quantity"].tolist() == ["1,500,000", "12.5", display.MISSING]
    assert text["identifier"].tolist()[2] == display.MISSING
    assert display.formatted(frame, show_ids=True).columns[:2].tolist() == ["id", "import_id"]
    # base amounts take the currency they are told (or the frame's attrs)
    base = pd.DataFrame({"bucket": ["A", "B"], "value": [1234.5, 99.0]})
    assert display.formatted(base, currency="XOF")["value"].tolist() == ["1,234", "99"]
    assert display.formatted(base, currency="USD")["value"].tolist() == ["1,234.50", "99.00"]
    base.attrs["base_currency"] = "KMF"
    assert display.formatted(base)["value"].tolist() == ["1,234", "99"]


def test_frame_repr_has_no_scientific_notation_nor_ids():
    frame = display.readable(pd.DataFrame({
        "id": [1, 2], "import_id": ["x", "y"], "name": ["Orange", None],
        "market_value": [2e9, 1.830516e6], "currency": ["XOF", "XOF"],
        "maturity_date": [date(2030, 1, 1), None]}))
    assert str(frame["name"].dtype) in ("string", "str")
    assert pd.api.types.is_datetime64_any_dtype(frame["maturity_date"])
    text = repr(frame)
    assert "e+0" not in text and "import_id" not in text and "None" not in text
    assert "2,000,000,000" in text and "1,830,516" in text and "2030-01-01" in text
    html = frame._repr_html_()
    assert "2,000,000,000" in html and "import_id" not in html and "NaT" not in html
    # still a DataFrame for everything else, and what it derives stays readable
    assert frame["market_value"].sum() == pytest.approx(2_001_830_516.0)
    assert isinstance(frame[frame["market_value"] > 0], display.Frame)
    # an index that means something is shown; the default 0..n is not
    summed = frame.groupby("currency")[["market_value"]].sum()
    assert [line.split() for line in repr(summed).splitlines()] == [
        ["currency", "market_value"], ["XOF", "2,001,830,516"]]
    assert "\n0 " not in "\n" + repr(frame)


def _numbers(n):
    return pd.DataFrame({"id": np.arange(n), "name": [f"name {i:03d}" for i in range(n)],
                         "value": np.arange(n, dtype=float) * 1000.0,
                         "currency": ["EUR"] * n})


def test_table_pages_sorts_and_filters():
    table = Table(_numbers(45), currency="EUR", page_size=20)
    assert table.pages == 3 and table.page.max == 3
    assert table.previous.disabled and not table.following.disabled
    assert table.status.value == "rows 1–20 of 45"
    assert table.page_rows["name"].iloc[0] == "name 000"
    table.turn(+5)  # beyond the last page: the last
    assert table.page.value == 3 and table.page_rows["name"].tolist() == [
        "name 040", "name 041", "name 042", "name 043", "name 044"]
    assert table.following.disabled and "rows 41–45 of 45" == table.status.value
    table.sort_by.value = "value"
    table.descending.value = True
    assert table.page.value == 1 and table.page_rows["name"].iloc[0] == "name 044"
    assert "44,000.00" in table.view.value and ">id</th>" not in table.view.value
    table.search.value = "NAME 01"
    assert table.rows["name"].tolist() == [f"name 01{i}" for i in range(9, -1, -1)]
    assert table.status.value == "rows 1–10 of 10 (filtered from 45)"
    table.show_ids.value = True
    assert "<th class='folio-num'>id</th>" in table.view.value
    table.search.value = "nothing like this"
    assert table.rows.empty and table.status.value == "no rows (filtered from 45)"


def test_issues_are_counted_by_code_and_column_first():
    issues = pd.DataFrame({
        "row": [2, 3, 4, 5, 6, 9],
        "column": ["as_of", "as_of", "as_of", "quantity", "quantity", None],
        "code": ["invalid_date"] * 3 + ["invalid_number"] * 2 + ["mv_mismatch"],
        "value": ["31/02/2024", "x", "y", "abc", "1,2,3", ""],
        "message": ["m"] * 6})
    counts = issue_counts(issues)
    assert counts[["code", "column", "count", "first_row", "example"]].values.tolist() == [
        ["invalid_date", "as_of", 3, 2, "31/02/2024"],
        ["invalid_number", "quantity", 2, 5, "abc"],
        ["mv_mismatch", display.MISSING, 1, 9, ""]]
    view = IssuesView(issues, total=600)
    assert view.by_code.rows["count"].tolist() == [3, 2, 1]
    assert view.rows is None and view.rows_box.children == ()  # rows only on demand
    assert view.write_csv.disabled  # no export given
    view.show_rows.value = True
    assert view.rows.rows["row"].tolist() == [2, 3, 4, 5, 6, 9]
    assert "600 issues" in view.summary.value
    view.show_rows.value = False
    assert view.rows_box.children == ()


def test_issues_csv_is_written_by_the_store_under_the_output_roots(tmp_path, store):
    from folio.catalog import export_issues

    rows = ["identifier,quantity,market_value,currency,as_of"]
    rows += [f"SEC-{i:04d},abc,10,EUR,2024-03-31" for i in range(250)]
    rows += ["FR0000120271,1,10,EUR,2024-03-31"]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(rows) + "\n")
    result = folio.import_file(path, "P", via="local")
    page = result._repr_html_()  # the count by code and column first, the rows folded
    counts = page[:page.index("<details>")]
    assert "<td>invalid_number</td><td>quantity</td><td class='folio-num'>250</td>" in counts \
        and counts.count("<tr>") == 2  # header + one line for 250 issues
    written = export_issues(result.import_id)
    settings = folio.get_settings()
    assert written.parent == settings.output_roots[0].resolve()
    with open(written, newline="", encoding="utf-8") as f:
        got = list(csv.DictReader(f))
    assert len(got) == 250
    assert {r["code"] for r in got} == {"invalid_number"} and {r["column"] for r in got} == {
        "quantity"}
    # IssuesView writes through the same export
    view = IssuesView(pd.DataFrame(got), export=lambda: export_issues(result.import_id))
    assert view.write() == written and str(written) in view.written.value
    with pytest.raises(PathNotAllowed):
        export_issues(result.import_id, tmp_path / "elsewhere" / "x.csv")
    with pytest.raises(NotFound):
        export_issues("0" * 32)


def test_positions_frame_has_clean_dtypes(tmp_path, store):
    path = tmp_path / "h.csv"
    path.write_text("identifier,name,quantity,market_value,currency,as_of\n"
                    "CM0000CMR290,Republic of Cameroon,1000,2000000000,XAF,2024-03-31\n"
                    "FR0000120271,TotalEnergies SE,10,,EUR,2024-03-31\n")
    folio.create_portfolio("P", "XAF")
    folio.import_file(path, "P", via="local")
    frame = folio.positions("P")
    assert isinstance(frame, display.Frame)
    assert pd.api.types.is_datetime64_any_dtype(frame["as_of"])
    assert pd.api.types.is_float_dtype(frame["market_value"])
    assert pd.api.types.is_string_dtype(frame["identifier"])
    assert frame["name"].dtype == frame["currency"].dtype  # one text dtype, one missing value
    text = repr(frame)
    assert "2,000,000,000 " in text + " " and "2000000000" not in text and "e+09" not in text
    assert "import_id" not in text and "None" not in text and "NaN" not in text
    assert frame["import_id"].notna().all()  # hidden from view, not from the data
    listed = folio.imports("P")
    assert pd.api.types.is_datetime64_any_dtype(listed["created_at"])
    assert listed["id"].iloc[0] in repr(listed)  # an import's id is what get_import takes


def test_issue_counts_of_parts_in_row_order_add_up_to_the_whole():
    issues = pd.DataFrame({
        "row": [3, 4, 5, 6, 7, 8],
        "column": ["ISIN", "Qty", "ISIN", None, "ISIN", "Qty"],
        "code": ["invalid_isin", "invalid_number", "invalid_isin", "as_of_mismatch",
                 "invalid_isin", "invalid_number"],
        "value": ["X1", "abc", "X2", "2024", "X3", "def"]})
    parts = [issues.iloc[:2], issues.iloc[2:2], issues.iloc[2:5], issues.iloc[5:]]
    counted = issue_counts(iter(parts))
    # By hand: invalid_isin 3 (rows 3, 5, 7), invalid_number 2 (4, 8), as_of_mismatch 1.
    assert counted[["code", "count", "first_row", "example"]].values.tolist() == [
        ["invalid_isin", 3, 3, "X1"], ["invalid_number", 2, 4, "abc"],
        ["as_of_mismatch", 1, 6, "2024"]]
    assert counted.equals(issue_counts(issues))
    assert issue_counts(iter([])).empty
