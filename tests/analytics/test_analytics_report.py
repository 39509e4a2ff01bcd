"""The report over the sample portfolios, read from a real store."""

from __future__ import annotations

import ast
import csv
import json
import math
from pathlib import Path

import pytest

from folio import catalog
from folio.analytics import (
    format_report,
    history,
    report,
    snapshot_changes,
    snapshot_dates,
    value_snapshot,
)
from folio.config import configure, get_settings, with_settings
from folio.errors import NotFound, ValidationError
from folio.execution.submit import submit_import
from folio.store.reference import load_reference

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
PORTFOLIOS = ("PENSION-CM", "TRESO-SN", "GLOBAL-EUR")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The sample files imported once into a private SQLite store."""
    home = tmp_path_factory.mktemp("analytics_home")
    values = {"home": home, "database_url": f"sqlite:///{(home / 'folio.db').as_posix()}",
              "execution": "local"}
    # This fixture outlives the per-test FOLIO_HOME: name the store explicitly,
    # both as settings and as the configuration in force while importing.
    with configure(**values):
        settings = get_settings(**values)
        _import_samples(settings)
    return settings


def _import_samples(settings):
    load_reference(DATA / "reference", settings=settings)
    rows = sorted(csv.DictReader(open(DATA / "holdings" / "manifest.csv", encoding="utf-8")),
                  key=lambda r: (r["as_of"], r["portfolio"]))
    for row in rows:
        if row["base_currency"]:
            catalog.create_portfolio(row["portfolio"], row["base_currency"], settings=settings)
        submit_import(DATA / "holdings" / row["file"], row["portfolio"],
                      as_of=row["as_of"] or None, via="local", settings=settings).result(120)


@pytest.mark.parametrize("portfolio", PORTFOLIOS)
def test_report_is_plain_json_with_the_agreed_keys(store, portfolio):
    data = report(portfolio, settings=store)
    text = json.dumps(data, allow_nan=False)  # no NaN, no numpy, no dates
    assert json.loads(text) == data
    assert {"valuation", "exposures", "concentration", "flags"} <= set(data)
    assert list(data["exposures"]) == ["issuer", "country", "region", "currency", "asset_class",
                            "maturity"]
    total = data["valuation"]["value"]
    for dim, rows in data["exposures"].items():
        assert all(set(r) == {"bucket", "value", "share", "positions"} for r in rows), dim
        *valued, unvalued = rows
        assert unvalued["bucket"] == "unvalued" and unvalued["value"] is None, dim
        assert sum(r["value"] for r in valued) == pytest.approx(total), dim
        assert sum(r["share"] for r in valued) == pytest.approx(1.0), dim
        assert sum(r["positions"] for r in rows) == data["valuation"]["positions"], dim
    assert set(data["concentration"]) >= {"issuer", "country"}
    assert set(data["flags"]) == {"missing_price", "missing_fx", "stale_fx", "stale_price",
                                  "unknown_instrument", "price_per_100"}


@pytest.mark.parametrize("portfolio", PORTFOLIOS)
def test_text_report_shows_the_json_numbers(store, portfolio):
    data = report(portfolio, settings=store)
    text = format_report(data)
    assert portfolio in text and data["as_of"] in text
    assert f"{data['valuation']['value']:,.0f}" in text
    for row in data["exposures"]["issuer"][:-1]:  # the last is the (empty) unvalued bucket
        assert f"{row['value']:,.0f}" in text
        assert f"{100 * row['share']:.1f}%" in text


def test_pension_january_by_hand(store):
    data = report("PENSION-CM", "2024-01-31", settings=store)
    xaf = (506_250_000 + 349_300_000 + 246_000_000 + 145_125_000 + 99_100_000 + 197_800_000
           + 189_000_000 + 75_000_000)
    eur = 1_329_000 + 726_480
    usd = 989_500
    expected = xaf + eur * 655.957 + usd * 655.957 / 1.0837  # USD -> XAF crosses through EUR
    assert data["valuation"]["value"] == pytest.approx(expected, rel=1e-12)
    assert data["base_currency"] == "XAF"
    routes = {fx["currency"]: fx["route"] for fx in data["valuation"]["fx"]}
    # EUR/XAF is quoted on the day; USD reaches EUR by quote and XAF by parity.
    assert routes == {"EUR": "direct", "USD": "peg_cross", "XAF": "identity"}
    # SAFACAM is deliberately missing from the reference.
    assert data["flags"]["unknown_instrument"]["identifiers"] == ["CM0000SFC011"]
    assert data["flags"]["unknown_instrument"]["value"] == 75_000_000


def test_march_rates_are_three_days_old(store):
    data = report("PENSION-CM", settings=store)
    assert data["as_of"] == "2024-03-31"
    gaps = {fx["currency"]: fx["gap_days"] for fx in data["valuation"]["fx"]}
    routes = {fx["currency"]: fx["route"] for fx in data["valuation"]["fx"]}
    # EUR/XAF is fixed by law: the 3-day-old quote gives way to the parity.
    assert gaps == {"EUR": 0, "USD": 3, "XAF": 0}
    assert routes == {"EUR": "peg", "USD": "peg_cross", "XAF": "identity"}
    assert data["flags"]["stale_fx"]["positions"] == 0
    strict = report("PENSION-CM", settings=with_settings(store, stale_fx_days=2))
    assert strict["flags"]["stale_fx"]["identifiers"] == ["US91282CJL14"]  # the USD holding


def test_base_currency_override_keeps_shares(store):
    xaf = report("PENSION-CM", settings=store)
    eur = report("PENSION-CM", base_currency="eur", settings=store)
    assert eur["base_currency"] == "EUR"
    assert eur["valuation"]["value"] == pytest.approx(xaf["valuation"]["value"] / 655.957)
    for a, b in zip(xaf["exposures"]["currency"], eur["exposures"]["currency"], strict=True):
        assert a["bucket"] == b["bucket"] and a["share"] == pytest.approx(b["share"])


def test_limits_in_report(store):
    data = report("GLOBAL-EUR", settings=store, limits={"issuer": 0.2, "country": 0.35})
    breaches = {(b["dimension"], b["bucket"]) for b in data["concentration"]["breaches"]}
    assert breaches == {("issuer", "Federal Republic of Germany"), ("country", "FR")}
    assert "BREACH country FR" in format_report(data)


def test_errors_name_what_is_missing(store):
    with pytest.raises(NotFound) as err:
        report("NOPE", settings=store)
    assert err.value.kind == "portfolio" and "PENSION-CM" in err.value.message
    with pytest.raises(NotFound) as err:
        report("PENSION-CM", "2024-01-30", settings=store)
    assert err.value.kind == "snapshot" and "2024-02-29" in err.value.message
    with pytest.raises(ValidationError):
        report("PENSION-CM", "31/01/2024", settings=store)
    with pytest.raises(ValidationError):
        report("PENSION-CM", base_currency="FCFA", settings=store)


def test_history_and_changes_from_the_store(store):
    assert [d.isoformat() for d in snapshot_dates("PENSION-CM", settings=store)] == [
        "2024-01-31", "2024-02-29", "2024-03-31"]
    table = history(value_snapshot("PENSION-CM", settings=store, all_dates=True))
    # February: 9 rows imported of 12 (tests/expected/pension_cm_2024-02-29.csv.json).
    assert len(table) == 3 and table["positions"].tolist() == [11, 9, 10]
    changes = snapshot_changes("TRESO-SN", settings=store)
    s = changes.summary()
    assert s["value_after"] - s["value_before"] == pytest.approx(s["change"])
    assert s["quantity_effect"] + s["price_effect"] + s["fx_effect"] == pytest.approx(s["change"])
    # Every January ISIN is still in the February file (read here as plain text); the 3
    # rows February rejected are missing from its snapshot, and are not "removed".
    def isins(name):
        text = (ROOT / "data" / "holdings" / name).read_text(encoding="cp1252")
        return {line.split(";")[0] for line in text.splitlines()
                if line[:2].isalpha() and line[2:12].isalnum() and len(line.split(";")[0]) == 12}
    assert isins("treso_sn_2024-01-31.csv") <= isins("treso_sn_2024-02-29.csv")
    assert (s["removed"], s["rejected"], s["rejected_rows_after"]) == (0, 3, 3)
    assert s["incomplete_after"] and not s["incomplete_before"]


def test_analytics_imports_neither_celery_nor_ipywidgets():
    package = ROOT / "lib" / "folio" / "analytics"
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                assert top not in ("celery", "kombu", "ipywidgets"), f"{path.name}: {name}"
                assert not name.startswith(("folio.execution", "folio.widgets")), path.name


def test_no_nan_in_reports(store):
    for portfolio in PORTFOLIOS:
        data = report(portfolio, settings=store)
        floats = [r["share"] for rows in data["exposures"].values() for r in rows
                  if r["bucket"] != "unvalued"]
        assert all(isinstance(x, float) and math.isfinite(x) for x in floats)
