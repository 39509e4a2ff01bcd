"""PostgreSQL: a large import's positions go to the server by COPY while its later
blocks are checked, inside the import's own write transaction.

The files are small; the thresholds are lowered so that they stream in several
blocks. Expected rows are the file's own rows, computed here from what the test
wrote, never read back from folio.
"""

from __future__ import annotations

import multiprocessing
import threading

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.ingest import readers
from folio.ingest.pipeline import ImportRequest, run_import
from folio.store import bulk, queries, stream
from folio.store.db import get_engine
from folio.store.schema import positions

from contract import store_state

AS_OF = "2024-01-31"
ROWS = 3_000


def holdings(path, n: int, quantity_base: int = 1):
    """``n`` rows of distinct codes; return the path and the (identifier, quantity)
    pairs the snapshot must hold."""
    expected = []
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("ISIN,Quantity,Price,Market Value,Currency\n")
        for i in range(n):
            qty = quantity_base + i
            fh.write(f"SEC{i:07d},{qty},10.0,{qty * 10.0},EUR\n")
            expected.append((f"SEC{i:07d}", float(qty)))
    return path, sorted(expected)


@pytest.fixture
def pg(postgres_url, monkeypatch):
    """PostgreSQL store; blocks of about 500 rows, staged from 400 rows: a file of
    3,000 rows streams in several COPYs."""
    monkeypatch.setenv("FOLIO_DATABASE_URL", postgres_url)
    folio.reset_configuration()
    monkeypatch.setattr(readers, "BLOCK_BYTES", 16_000)
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 400)
    return postgres_url


@pytest.fixture
def puts(monkeypatch):
    """How many blocks each import handed to its COPY thread."""
    counted: list[int] = []
    real = stream.PositionStream.put

    def put(self, batches):
        counted.append(sum(len(b) for b in batches))
        return real(self, batches)

    monkeypatch.setattr(stream.PositionStream, "put", put)
    return counted


def held(portfolio: str) -> list[tuple]:
    """(identifier, quantity) of the portfolio's rows, committed, from a new connection."""
    stmt = sa.select(positions.c.identifier, positions.c.quantity).where(
        positions.c.portfolio == portfolio)
    with get_engine(get_settings()).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(stmt).all())


def open_transactions() -> int:
    """Sessions of this database other than ours that are inside a transaction."""
    with get_engine(get_settings()).connect() as conn:
        return conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'").scalar()


def test_a_streamed_import_stores_exactly_the_file(tmp_path, pg, puts):
    path, expected = holdings(tmp_path / "h.csv", ROWS)
    result = folio.import_file(path, "P", as_of=AS_OF)
    assert result.status == "succeeded" and result.rows_imported == ROWS
    assert len(puts) >= 3 and sum(puts) == ROWS  # streamed, in several blocks
    assert held("P") == expected
    # Replaced by a second file of the same date: only the new rows remain.
    path2, expected2 = holdings(tmp_path / "h2.csv", ROWS + 100, quantity_base=7)
    assert folio.import_file(path2, "P", as_of=AS_OF).status == "succeeded"
    assert held("P") == expected2
    assert open_transactions() == 0


def test_a_reader_sees_the_old_snapshot_until_the_commit(tmp_path, pg, puts):
    old, old_rows = holdings(tmp_path / "old.csv", 50)
    folio.import_file(old, "P", as_of=AS_OF)
    new, new_rows = holdings(tmp_path / "new.csv", ROWS, quantity_base=1000)
    seen = {}

    def look(conn):  # inside the write, every row sent, just before the commit
        seen["positions"] = held("P")
        seen["read"] = len(folio.positions("P"))

    run_import(ImportRequest(path=str(new), portfolio="P", as_of=AS_OF), before_commit=look)
    assert puts and seen == {"positions": old_rows, "read": 50}
    assert held("P") == new_rows


def test_a_failure_before_the_commit_leaves_the_store_as_it_was(tmp_path, pg, puts):
    first, _ = holdings(tmp_path / "first.csv", 50)
    folio.import_file(first, "P", as_of=AS_OF)
    before = store_state()
    path, _ = holdings(tmp_path / "h.csv", ROWS)

    def fail(conn):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))

    with pytest.raises(folio.StoreError, match="nothing was changed") as info:
        run_import(ImportRequest(path=str(path), portfolio="P", as_of=AS_OF),
                   before_commit=fail)
    assert puts  # the rows had been sent
    assert store_state() == before
    assert folio.get_import(info.value.import_id).status == "failed"
    assert open_transactions() == 0


def test_the_server_refusing_a_block_mid_stream_changes_nothing(tmp_path, pg, puts):
    first, first_rows = holdings(tmp_path / "first.csv", 50)
    folio.import_file(first, "P", as_of=AS_OF)
    before = store_state()
    # A real refusal by the server, of a later block only: its rows pass the first COPYs.
    with get_engine(get_settings()).begin() as conn:
        conn.exec_driver_sql('ALTER TABLE positions ADD CONSTRAINT few CHECK ("row" < 2000)')
    path, _ = holdings(tmp_path / "h.csv", ROWS)
    with pytest.raises(folio.StoreError, match="nothing was changed") as info:
        folio.import_file(path, "P", as_of=AS_OF)
    assert "few" in info.value.message  # the server's own reason
    assert len(puts) >= 2
    assert store_state() == before and held("P") == first_rows
    assert folio.get_import(info.value.import_id).status == "failed"
    assert open_transactions() == 0


@pytest.mark.parametrize("same_file", [False, True], ids=["two-files", "same-file"])
def test_two_streamed_imports_of_one_snapshot_never_mix(tmp_path, pg, puts, same_file):
    """Both stream their rows, meet at a barrier with every row sent, then write:
    the snapshot holds one file's rows once; with the same file, the second finds
    it there and its own streamed rows are gone."""
    x, x_rows = holdings(tmp_path / "x.csv", ROWS)
    y, y_rows = (x, x_rows) if same_file else holdings(tmp_path / "y.csv", ROWS + 10, 5)
    barrier = threading.Barrier(2)
    outcomes = {}

    def run(name, path):
        met = []

        def progress(done, total, stage):
            if stage == "writing" and not met:
                met.append(barrier.wait(60))

        try:
            outcomes[name] = run_import(ImportRequest(path=str(path), portfolio="P",
                                                      as_of=AS_OF), progress=progress)
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            outcomes[name] = exc

    threads = [threading.Thread(target=run, args=(n, p)) for n, p in (("x", x), ("y", y))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(puts) >= 6
    statuses = sorted(o.status for o in outcomes.values())
    assert statuses == (["succeeded", "unchanged"] if same_file else ["succeeded"] * 2)
    engine = get_engine(get_settings())
    last = max(outcomes, key=lambda n: queries.get_import(engine, outcomes[n].import_id)[
        "finished_at"])
    assert held("P") == (x_rows if same_file or last == "x" else y_rows)
    assert open_transactions() == 0


def _import_and_die(url: str, path: str, ready) -> None:
    """Stream an import's rows, then die by SIGKILL before it writes."""
    import os
    import signal

    os.environ["FOLIO_DATABASE_URL"] = url
    readers.BLOCK_BYTES = 16_000
    bulk.STAGE_MIN_ROWS = 400

    def progress(done, total, stage):
        if stage == "writing":
            ready.set()
            os.kill(os.getpid(), signal.SIGKILL)

    run_import(ImportRequest(path=path, portfolio="DEAD", as_of=AS_OF), progress=progress)


def test_a_killed_import_leaves_no_rows_and_no_transaction(tmp_path, pg):
    path, _ = holdings(tmp_path / "h.csv", ROWS)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    proc = context.Process(target=_import_and_die, args=(pg, str(path), ready))
    proc.start()
    proc.join(90)
    assert ready.is_set() and proc.exitcode == -9
    # The server ends the dead session's transaction when it sees the socket close.
    for _ in range(100):
        if open_transactions() == 0:
            break
        threading.Event().wait(0.1)
    assert open_transactions() == 0
    assert held("DEAD") == []
    # The next import of that snapshot runs as if nothing had happened.
    assert folio.import_file(path, "DEAD", as_of=AS_OF).rows_imported == ROWS


def test_binary_rows_carry_every_kind_of_cell_exactly(pg):
    """Each column kind in each state a block can hold it (no NULL, some NULLs,
    only NULLs; empty and non-ASCII text), in two batches of one COPY whose NULLs
    fall in different columns, read back from the server as Python values."""
    import datetime as dt

    import pyarrow as pa

    first = {"row": [1, 2, 3], "identifier": ["FR0000120271", "é€🚀", ""],
             "name": [None, "Total, \"SE\"\nà la ligne", "x" * 300],
             "quantity": [1.5, -2.0, 1e300], "price": [None, 0.1, None],
             "market_value": [None, None, None], "accrued_interest": [0.0, -0.0, 3.25],
             "currency": ["EUR", "XAF", "XOF"], "issuer": [None, None, None],
             "country": ["FR", None, "CM"], "asset_class": ["Equity", "Bond", "Cash"],
             "maturity_date": ["2031-06-15", None, "1999-12-31"], "account": [None, None, None]}
    second = {**first, "row": [4, 5, 6], "price": [10.0, 20.0, 30.0],
              "market_value": [None, 5.0, None], "issuer": ["A", "", "C"],
              "maturity_date": [None, None, None], "account": ["U1", None, "U2"]}
    types = {"row": pa.int64(), "quantity": pa.float64(), "price": pa.float64(),
             "market_value": pa.float64(), "accrued_interest": pa.float64()}
    batches = [pa.record_batch([pa.array(block[f], types.get(f, pa.large_string()))
                                for f in bulk.POSITION_FIELDS], names=list(bulk.POSITION_FIELDS))
               for block in (first, second)]
    fixed = {"import_id": "01a2" + "0" * 28, "portfolio": "P-Ü", "as_of": dt.date(2024, 1, 31)}
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE wire (LIKE positions)")
        conn.exec_driver_sql("ALTER TABLE wire DROP COLUMN IF EXISTS id")
        table = sa.Table("wire", sa.MetaData(), *[sa.Column(c.name, c.type)
                                                   for c in positions.columns if c.name != "id"])
        sql = stream.copy_sql(conn, table, fixed, bulk.POSITION_FIELDS)
        assert stream.copy_rows(conn.connection.driver_connection, sql, table, fixed, batches) == 6
        names = ["import_id", "portfolio", "as_of", *bulk.POSITION_FIELDS]
        got = conn.exec_driver_sql(f"SELECT {', '.join(names)} FROM wire ORDER BY row").all()
    dates = lambda days: [None if d is None else dt.date.fromisoformat(d) for d in days]  # noqa: E731
    want = []
    for block in (first, second):
        block = {**block, "maturity_date": dates(block["maturity_date"])}
        for i in range(3):
            want.append((*fixed.values(), *(block[f][i] for f in bulk.POSITION_FIELDS)))
    assert [tuple(r) for r in got] == want
