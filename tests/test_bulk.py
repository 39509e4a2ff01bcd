"""The SQLite bulk path (an ADBC scratch file, attached and copied with INSERT ...
SELECT inside the transaction) stores exactly what the executemany path stores,
and leaves no scratch file behind, whether the import commits or rolls back."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.store import bulk
from folio.store.db import get_engine, settle

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


def stage_files() -> list[str]:
    settle()  # scratch files are removed on a thread after the import returns
    folder = Path(get_engine(get_settings()).url.database).parent
    return sorted(p.name for p in folder.glob(f"{bulk.STAGE_PREFIX}*"))


def stored(portfolio: str) -> pd.DataFrame:
    frame = folio.positions(portfolio)
    return frame.drop(columns=["import_id", "portfolio"]).reset_index(drop=True)


def test_staged_and_executemany_store_the_same(holdings, monkeypatch):
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 10**9)
    folio.import_file(holdings, "BY_ROWS", as_of="2024-01-31")
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)
    staged = []
    real = bulk.PositionSink._stage_sqlite
    monkeypatch.setattr(bulk.PositionSink, "_stage_sqlite",
                        lambda *a, **k: staged.append(1) or real(*a, **k))
    folio.import_file(holdings, "STAGED", as_of="2024-01-31")
    assert staged  # the bulk path ran
    pd.testing.assert_frame_equal(stored("STAGED"), stored("BY_ROWS"))
    assert stored("STAGED")["maturity_date"].notna().sum() == 2
    assert stage_files() == []


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
    assert stage_files() == []


def test_scratch_files_of_finished_imports_are_removed(holdings, monkeypatch):
    result = folio.import_file(holdings, "P", as_of="2024-01-31")
    # What a process killed after staging leaves behind.
    orphan = bulk.stage_path(get_engine(get_settings()), result.import_id)
    orphan.write_bytes(b"scratch")
    assert stage_files() == [orphan.name]
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)
    folio.import_file(holdings, "Q", as_of="2024-01-31")
    assert stage_files() == []


def test_a_worker_writes_a_large_snapshot_through_the_scratch_file(tmp_path):
    """The worker process also holds the embedded broker's and results' SQLite files."""
    from folio.execution.worker import start_worker

    from builders import big_english_csv

    rows = bulk.STAGE_MIN_ROWS + 1000
    path = big_english_csv(tmp_path / "big.csv", rows, lots=False)
    worker = start_worker()
    try:
        for as_of in ("2024-01-31", "2024-02-29"):
            result = folio.import_file(path, "P", as_of=as_of, via="celery", timeout=120)
            assert result.status == "succeeded" and result.rows_imported == rows
    finally:
        worker.stop()
    assert len(folio.positions("P", as_of="2024-02-29")) == rows
    with get_engine(get_settings()).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert stage_files() == []


def test_awkward_text_is_stored_exactly_on_every_store(tmp_path, store):
    """Commas, quotes, a line break, Unicode and missing cells, through COPY on
    PostgreSQL and executemany on SQLite alike."""
    path = tmp_path / "awkward.csv"
    path.write_text(
        "ISIN,Security Name,Quantity,Price,Market Value,Currency,Issuer,Maturity\n"
        'FR0000120271,"Total, ""SE""",10,60,600,EUR,,2031-06-15\n'
        'FR0000133308,"two\nlines",5,,62.5,EUR,Orange SA,\n'
        "FR0000131104,Fonds 🚀 مصرف,1,50,50,XOF,,\n", encoding="utf-8")
    result = folio.import_file(path, "P", as_of="2024-01-31")
    assert result.status == "succeeded", result.issues
    got = folio.positions("P").set_index("identifier")
    assert got.loc["FR0000120271", "name"] == 'Total, "SE"'
    assert got.loc["FR0000133308", "name"] == "two\nlines"
    assert got.loc["FR0000131104", "name"] == "Fonds 🚀 مصرف"
    assert pd.isna(got.loc["FR0000120271", "issuer"]) and pd.isna(got.loc["FR0000133308", "price"])
    assert str(got.loc["FR0000120271", "maturity_date"])[:10] == "2031-06-15"
    assert pd.isna(got.loc["FR0000133308", "maturity_date"])
    assert result.issues.empty


def test_a_worker_holds_its_checkpoint_until_the_result_is_stored(holdings, monkeypatch):
    """The checkpoint of a large write waits for task_postrun (sent once Celery has
    stored the task's result), so the result's small write is not throttled by it."""
    from celery import signals

    from folio.execution.celery_worker import TASK_NAME, get_app
    from folio.ingest.pipeline import ImportRequest, run_import
    from folio.store import db

    started = []
    monkeypatch.setattr(db, "in_background", lambda work, name, **kw: started.append(name))
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 1)  # a staged write: it checkpoints after
    get_app(get_settings())  # connects the signal, as in a worker

    def task_ended(name: str) -> None:
        signals.task_postrun.send(sender=type("Task", (), {"name": name})())

    run_import(ImportRequest(path=str(holdings), portfolio="P", as_of="2024-01-31"))
    assert started == ["folio-checkpoint"]  # not held: at once
    started.clear()
    db.defer_checkpoints()  # what the import task does first
    try:
        run_import(ImportRequest(path=str(holdings), portfolio="Q", as_of="2024-01-31"))
        assert started == []
        task_ended("another.task")
        assert started == []
    finally:
        task_ended(TASK_NAME)
    assert started == ["folio-checkpoint"]
    run_import(ImportRequest(path=str(holdings), portfolio="R", as_of="2024-01-31"))
    assert started == ["folio-checkpoint"] * 2  # held only until then
