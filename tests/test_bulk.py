"""The SQLite bulk path (ADBC scratch table, then INSERT ... SELECT inside the
transaction) stores exactly what the executemany path stores, and leaves no
scratch table behind, whether the import commits or rolls back."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.store import bulk
from folio.store.db import get_engine

from contract import store_state

ROWS = [
    "ISIN;Libellé;Quantité;Cours;Valeur de marché;Coupon couru;Devise;Émetteur;Pays;Échéance",
    "FR0000120271;TotalEnergies;10;60;600;;EUR;TotalEnergies SE;FR;",
    "FR0000133308;;5;;62,5;1,25;EUR;;fr;15/06/2031",
    "FR0000131104;Fonds 🚀 مصرف;1;50;50;;XOF;BNP Paribas;SN;31/12/2029",
    "FR0000120271;TotalEnergies (lot 2);3;60;180;;EUR;TotalEnergies SE;FR;",
]


@pytest.fixture
def holdings(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def stage_tables() -> list[str]:
    with get_engine(get_settings()).connect() as conn:
        return conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE name LIKE '\\_stage\\_%' ESCAPE '\\'"
        ).scalars().all()


def stored(portfolio: str) -> pd.DataFrame:
    frame = folio.positions(portfolio)
    return frame.drop(columns=["id", "import_id", "portfolio"]).reset_index(drop=True)


def test_staged_and_executemany_store_the_same(holdings, monkeypatch):
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 10**9)
    folio.import_file(holdings, "BY_ROWS", as_of="2024-01-31")
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)
    staged = []
    real = bulk.stage
    monkeypatch.setattr(bulk, "stage", lambda *a, **k: staged.append(1) or real(*a, **k))
    folio.import_file(holdings, "STAGED", as_of="2024-01-31")
    assert staged  # the bulk path ran
    pd.testing.assert_frame_equal(stored("STAGED"), stored("BY_ROWS"))
    assert stored("STAGED")["maturity_date"].notna().sum() == 2
    assert stage_tables() == []


def test_a_staged_write_that_rolls_back_changes_nothing(holdings, monkeypatch):
    from folio.ingest.pipeline import ImportRequest, run_import

    folio.import_file(holdings, "P", as_of="2024-01-31")
    before = store_state()
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)

    def fail(conn):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with pytest.raises(folio.StoreError, match="nothing was changed"):
        run_import(ImportRequest(path=str(holdings), portfolio="P", as_of="2024-02-29"),
                   before_commit=fail)
    assert store_state() == before
    assert stage_tables() == []


def test_scratch_tables_of_finished_imports_are_dropped(holdings, monkeypatch):
    result = folio.import_file(holdings, "P", as_of="2024-01-31")
    engine = get_engine(get_settings())
    with engine.begin() as conn:  # what a process killed after staging leaves
        conn.exec_driver_sql(f'CREATE TABLE "{bulk.stage_name(result.import_id)}" (x)')
    assert stage_tables() == [bulk.stage_name(result.import_id)]
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)
    folio.import_file(holdings, "Q", as_of="2024-01-31")
    assert stage_tables() == []
