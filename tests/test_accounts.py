"""Accounts: a position's account from its block's title line or an account column,
and one portfolio per account, written all or nothing, on SQLite and PostgreSQL.

The files are ``tests/layouts.py``'s (made-up values); what each portfolio must
hold is written out here by hand from those values.
"""

from __future__ import annotations

import csv
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import text

import folio
import layouts
from folio.config import get_settings
from folio.ingest.pipeline import ImportRequest, run_import
from folio.store.db import get_engine

SCHWAB_DAY = date(2025, 3, 14)
IND, ROTH = "Individual ...678", "Roth Contributory IRA ...912"
# File rows (1-based lines) of the Schwab "All-Accounts" fixture: title 1, blank 2,
# account 3, header 4, SCHB 5, AAPL 6, cash 7, total 8, blank 9, account 10,
# header 11, AAPL 12, SCHB 13, cash 14, total 15.
SCHWAB_ALL = [
    # row, identifier, quantity, market value, account
    (5, "SCHB", 100.0, 2250.00, IND),
    (6, "AAPL", 12.0, 2523.00, IND),
    (12, "AAPL", 12.0, 2523.00, ROTH),
    (13, "SCHB", 40.0, 900.00, ROTH),
]


def _held(portfolio: str, as_of: date) -> list[tuple]:
    frame = folio.positions(portfolio, as_of)
    return [(int(r), i, float(q), round(float(v), 2), a) for r, i, q, v, a in zip(
        frame["row"], frame["identifier"], frame["quantity"], frame["market_value"],
        frame["account"], strict=True)]


def test_title_line_accounts_go_on_each_position(store, tmp_path):
    result = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local")
    assert result.status == "succeeded", result.summary()
    assert result.as_of == SCHWAB_DAY
    assert _held("MAIN", SCHWAB_DAY) == SCHWAB_ALL
    # The same AAPL line in two accounts is two holdings: no duplicate error or warning.
    assert result.issues.empty, result.issues
    assert result.accounts == {IND: 2, ROTH: 2}
    assert result.portfolios == {}  # one portfolio: the file's
    assert result.cash == {"USD": 1053.40}  # 1003.40 + 50.00
    assert result.totals == []  # each Account Total holds its own positions and cash


def test_one_portfolio_per_account(store, tmp_path):
    result = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local",
                               portfolio_per_account=True)
    assert result.status == "succeeded", result.summary()
    assert result.portfolios == {f"MAIN-{IND}": 2, f"MAIN-{ROTH}": 2}
    assert _held(f"MAIN-{IND}", SCHWAB_DAY) == SCHWAB_ALL[:2]
    assert _held(f"MAIN-{ROTH}", SCHWAB_DAY) == SCHWAB_ALL[2:]
    names = set(folio.portfolios()["name"])
    assert "MAIN" not in names  # every row had an account: the file's portfolio holds none
    assert {f"MAIN-{IND}", f"MAIN-{ROTH}"} <= names
    # The same file again: every account's snapshot already holds it.
    again = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local",
                              portfolio_per_account=True)
    assert again.status == "unchanged", again.summary()
    assert _held(f"MAIN-{ROTH}", SCHWAB_DAY) == SCHWAB_ALL[2:]


def test_account_column_of_a_preset(store, tmp_path):
    # Vanguard names the account in a column of every row.
    result = folio.import_file(layouts.write_vanguard(tmp_path), "V", as_of="2025-03-31",
                               via="local", portfolio_per_account=True)
    assert result.status == "succeeded", result.summary()
    day = date(2025, 3, 31)
    assert result.portfolios == {"V-11112222": 2, "V-33334444": 1}
    assert _held("V-11112222", day) == [(2, "VFIAX", 10.5, 5250.00, "11112222"),
                                        (3, "VMFXX", 300.25, 300.25, "11112222")]
    assert _held("V-33334444", day) == [(8, "VBTLX", 100.0, 980.00, "33334444")]


def test_file_without_accounts_keeps_its_portfolio(store, tmp_path):
    result = folio.import_file(layouts.write_degiro(tmp_path, "nl"), "D", as_of="2025-06-30",
                               via="local", portfolio_per_account=True)
    assert result.status == "succeeded", result.summary()
    assert result.portfolios == {"D": 3} and result.accounts == {}
    assert folio.positions("D", date(2025, 6, 30))["account"].isna().all()


def _big_two_accounts(path, per_account: int) -> list[float]:
    """A Vanguard-layout file of two accounts, ``per_account`` funds each; returns the
    value of each account (worked out here, by plain arithmetic)."""
    header = ["Account Number", "Investment Name", "Symbol", "Shares", "Share Price",
              "Total Value", ""]
    totals = []
    with open(path, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for account in ("11112222", "33334444"):
            value = 0.0
            for i in range(per_account):
                shares, price = i % 7 + 1, 2.0 if account == "11112222" else 3.0
                writer.writerow([account, f"FUND {i}", f"F{i:06d}", shares, f"{price:.2f}",
                                 f"{shares * price:.2f}", ""])
                value += shares * price
            totals.append(value)
    return totals


def test_large_file_per_account_staged_on_both_stores(store, tmp_path):
    # 60,000 positions: past the sink's in-memory limit, so the rows wait in the
    # scratch (SQLite's ADBC table, PostgreSQL's Arrow file) and each account's
    # portfolio takes its own from there.
    path = tmp_path / "ofxdownload.csv"
    per_account = 30_000
    values = _big_two_accounts(path, per_account)
    result = folio.import_file(path, "BIG", as_of="2025-03-31", via="local",
                               portfolio_per_account=True)
    assert result.status == "succeeded", result.summary()
    assert result.portfolios == {"BIG-11112222": per_account, "BIG-33334444": per_account}
    for name, value in zip(("BIG-11112222", "BIG-33334444"), values, strict=True):
        held = folio.positions(name, date(2025, 3, 31))
        assert len(held) == per_account
        assert set(held["account"]) == {name[4:]}
        assert held["market_value"].sum() == pytest.approx(value, abs=0.005)
    # The shares cycle 1..7: (1+...+7) = 28 per 7 funds; 30,000 funds = 4285 cycles
    # (119,980 shares) + 5 funds (1+2+3+4+5 = 15) = 119,995 shares at 2.00.
    assert values[0] == pytest.approx(119_995 * 2.0)


def test_per_account_write_is_all_or_nothing(store, tmp_path):
    first = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local",
                              portfolio_per_account=True)
    assert first.status == "succeeded"
    # Another file of the same day whose write fails just before it commits.
    changed = tmp_path / "changed" / "All-Accounts-Positions-2025-03-14.CSV"
    changed.parent.mkdir()
    changed.write_text(layouts.write_schwab_all(tmp_path).read_text().replace(
        '"SCHB","SCHWAB US BROAD MARKET ETF","40","$22.50"',
        '"SCHB","SCHWAB US BROAD MARKET ETF","41","$22.50"').replace(
        "$900.00", "$922.50").replace("$3,473.00", "$3,495.50"))

    seen = {}

    def fail(conn):
        # The changed account's new rows are in the transaction when it fails.
        seen["qty"] = conn.execute(text(
            "SELECT quantity FROM positions WHERE portfolio = :p AND identifier = 'SCHB'"),
            {"p": f"MAIN-{ROTH}"}).scalar()
        raise RuntimeError("disk gone")

    request = ImportRequest(path=str(changed), portfolio="MAIN", portfolio_per_account=True)
    with pytest.raises(folio.FolioError):
        run_import(request, before_commit=fail)
    assert seen == {"qty": 41.0}
    assert _held(f"MAIN-{IND}", SCHWAB_DAY) == SCHWAB_ALL[:2]
    assert _held(f"MAIN-{ROTH}", SCHWAB_DAY) == SCHWAB_ALL[2:]
    with get_engine(get_settings()).connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM positions")).scalar()
    assert count == 4


def test_too_long_account_portfolio_name_is_an_error(store, tmp_path):
    name = "P" * 90
    with pytest.raises(folio.ValidationError) as caught:
        folio.import_file(layouts.write_schwab_all(tmp_path), name, via="local",
                          portfolio_per_account=True)
    assert caught.value.fields["value"] == IND
    assert "over the limit of 100" in caught.value.message
    assert pd.Series(folio.portfolios().get("name", [])).tolist() == []


@pytest.mark.parametrize(("write", "accounts"), [
    (layouts.write_ibkr_flex, ["U7654321", "U7654321"]),  # ClientAccountID, SUMMARY rows
    (layouts.write_prime_broker_bonds, ["ACC001"] * 3),  # Account ID
])
def test_presets_read_the_account_column(tmp_path, write, accounts):
    result = folio.import_file(write(tmp_path), "P", via="local")
    assert result.ok, result.summary()
    assert folio.positions("P")["account"].tolist() == accounts
    assert result.accounts == {accounts[0]: len(accounts)}


def test_a_store_without_the_account_column_gains_it(store, tmp_path):
    """A store an earlier folio made has no positions.account: its first use adds it,
    its positions read back with none, and a per-account import writes into it."""
    from folio.store.db import dispose_all

    folio.import_file(layouts.write_degiro(tmp_path, "nl"), "OLD", as_of="2025-06-30",
                      via="local")
    engine = get_engine(get_settings())
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE positions DROP COLUMN account")
    dispose_all()
    assert folio.positions("OLD")["account"].isna().all()  # upgraded on first use
    result = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local",
                               portfolio_per_account=True)
    assert result.status == "succeeded"
    assert _held(f"MAIN-{ROTH}", SCHWAB_DAY) == SCHWAB_ALL[2:]


def test_a_dry_run_names_the_portfolios_it_would_write(tmp_path):
    result = folio.import_file(layouts.write_schwab_all(tmp_path), "MAIN", via="local",
                               portfolio_per_account=True, dry_run=True)
    assert result.status == "dry_run"
    assert result.portfolios == {f"MAIN-{IND}": 2, f"MAIN-{ROTH}": 2}
    assert result.preview["account"].tolist() == [IND, IND, ROTH, ROTH]
    assert folio.portfolios().empty  # nothing written
    # And a plain re-import of a file already stored still names its accounts.
    folio.import_file(layouts.write_schwab_all(tmp_path), "ONE", via="local")
    again = folio.import_file(layouts.write_schwab_all(tmp_path), "ONE", via="local")
    assert again.status == "unchanged" and again.accounts == {IND: 2, ROTH: 2}


@pytest.mark.parametrize("above, account", [
    # A lone CR ends a line, as it does for the readers: the account line is found.
    (b"Holdings report\nAccount 12345678\r,,\n", "Account 12345678"),
    # Anywhere else too (it failed the import with a csv error): "ount 1" is no account.
    (b"Holdings report\nAcc\rount 1\n", None),
])
def test_a_lone_carriage_return_above_the_header(tmp_path, above, account):
    path = tmp_path / "cr.csv"
    path.write_bytes(above + b"ISIN,Quantity,Price,Market Value,Currency,As Of Date\n"
                             b"FR0000120271,10,50,500,EUR,2024-03-31\n")
    result = folio.import_file(path, "CR")
    assert (result.status, result.rows_imported) == ("succeeded", 1)
    held = folio.positions("CR")["account"]
    assert [None if pd.isna(a) else a for a in held] == [account]
