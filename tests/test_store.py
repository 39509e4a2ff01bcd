"""Which positions belong to which snapshot, through writes, replacements and an
upgrade of a store made by an earlier folio.

On SQLite a snapshot's positions are the id range its snapshots row records
(no index by snapshot); on PostgreSQL an index by (portfolio, as-of) finds them.
Either way each snapshot must read back exactly the rows its import wrote.
"""

from __future__ import annotations

import time

import pandas as pd
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.ingest.pipeline import new_import_id
from folio.store import bulk, queries
from folio.store.db import dispose_all, get_engine
from folio.store.schema import IMPORT_INDEX, SNAPSHOT_INDEX, positions, snapshots

from builders import english_csv

HEADER = "ISIN,Quantity,Price,Market Value,Currency,As Of Date"


def holdings(path, as_of: str, quantities: list[int]):
    # Internal codes: any text is a valid identifier, and each row is distinct.
    return english_csv(path, [(f"SEC{i:04d}", q, 10, q * 10, "EUR", as_of)
                              for i, q in enumerate(quantities)], header=HEADER)


def stored(portfolio: str, as_of: str | None = None) -> list[tuple]:
    frame = folio.positions(portfolio, as_of)
    return list(zip(frame["as_of"].astype(str), frame["identifier"], frame["quantity"],
                    strict=True))


def expected(as_of: str, quantities: list[int]) -> list[tuple]:
    return [(as_of, f"SEC{i:04d}", float(q)) for i, q in enumerate(quantities)]


def write_everything(tmp_path, monkeypatch):
    """Snapshots written by both write paths, interleaved, one replaced: what each holds."""
    small, large = [1, 2, 3], list(range(100, 160))
    folio.import_file(holdings(tmp_path / "a1.csv", "2024-01-31", small), "A")
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 10)  # this one through the scratch file
    folio.import_file(holdings(tmp_path / "b1.csv", "2024-01-31", large), "B")
    monkeypatch.setattr(bulk, "STAGE_MIN_ROWS", 50_000)
    folio.import_file(holdings(tmp_path / "a2.csv", "2024-02-29", [7, 8]), "A")
    replaced = [40, 41, 42, 43]  # longer than the snapshot it replaces
    folio.import_file(holdings(tmp_path / "a1b.csv", "2024-01-31", replaced), "A")
    return {("A", "2024-01-31"): expected("2024-01-31", replaced),
            ("A", "2024-02-29"): expected("2024-02-29", [7, 8]),
            ("B", "2024-01-31"): expected("2024-01-31", large)}


def check(snapshots_held: dict) -> None:
    for (portfolio, as_of), rows in snapshots_held.items():
        assert stored(portfolio, as_of) == rows, (portfolio, as_of)
    assert stored("A") == snapshots_held[("A", "2024-01-31")] + snapshots_held[("A", "2024-02-29")]
    # The replaced rows are gone, not merely out of sight.
    with get_engine(get_settings()).connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(positions)).scalar()
    assert count == sum(len(rows) for rows in snapshots_held.values())


def test_each_snapshot_reads_back_its_own_rows(tmp_path, monkeypatch, store):
    check(write_everything(tmp_path, monkeypatch))
    columns = [c["name"] for c in sa.inspect(get_engine(get_settings())).get_columns("positions")]
    assert ("id" in columns) == (store == "sqlite")  # PostgreSQL's rows need no number
    assert "id" not in folio.positions("A").columns  # and a read is the same on both


def test_sqlite_reads_a_snapshot_by_its_id_range_not_a_scan(tmp_path, monkeypatch):
    write_everything(tmp_path, monkeypatch)
    engine = get_engine(get_settings())
    assert sa.inspect(engine).get_indexes("positions") == []
    with engine.connect() as conn:
        spans = conn.execute(sa.select(snapshots.c.portfolio, snapshots.c.as_of,
                                       snapshots.c.first_id, snapshots.c.last_id)).all()
        for portfolio, as_of, first, last in spans:
            ids = conn.execute(sa.select(positions.c.id).where(
                positions.c.portfolio == portfolio, positions.c.as_of == as_of)).scalars().all()
            assert sorted(ids) == list(range(first, last + 1))
        sql = str(sa.select(positions).join(snapshots, sa.and_(
            positions.c.id.between(snapshots.c.first_id, snapshots.c.last_id)))
            .where(snapshots.c.portfolio == "A").compile(compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "SCAN positions" not in plan and "INTEGER PRIMARY KEY" in plan, plan


def test_postgresql_finds_a_snapshot_and_its_replaced_rows_by_the_index_by_import(
        tmp_path, monkeypatch, postgres_url):
    monkeypatch.setenv("FOLIO_DATABASE_URL", postgres_url)
    write_everything(tmp_path, monkeypatch)
    engine = get_engine(get_settings())
    with engine.connect() as conn:
        # Small tables are scanned whatever the indexes: ask whether one can serve.
        conn.exec_driver_sql("SET enable_seqscan = off")
        current = conn.execute(sa.select(snapshots).where(snapshots.c.portfolio == "A")).first()
        plans = [conn.exec_driver_sql(f"EXPLAIN {sql}").scalars().all() for sql in (
            str(sa.select(positions.c.identifier).where(queries._rows_of(conn, current))
                .compile(engine, compile_kwargs={"literal_binds": True})),
            str(sa.delete(positions).where(queries._rows_of(conn, current))
                .compile(engine, compile_kwargs={"literal_binds": True})))]
    for plan in plans:
        assert IMPORT_INDEX in " ".join(plan), plan


def test_import_ids_sort_in_the_order_the_imports_began(tmp_path):
    ids = []
    for _ in range(5):
        ids.append(new_import_id())
        time.sleep(0.002)
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    # The first 12 digits are the milliseconds since 1970: within a second of now.
    assert abs(int(ids[-1][:12], 16) / 1000 - time.time()) < 1


def downgrade(engine) -> None:
    """Make the store look like one an earlier folio made: no ranges, an index by
    snapshot, and on PostgreSQL positions numbered by a sequence with their id as
    primary key, and no index by import."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE positions ADD COLUMN id SERIAL PRIMARY KEY")
            conn.exec_driver_sql(f"DROP INDEX {IMPORT_INDEX}")
        for column in ("first_id", "last_id"):
            conn.exec_driver_sql(f"ALTER TABLE snapshots DROP COLUMN {column}")
        conn.exec_driver_sql("ALTER TABLE imports DROP COLUMN rejected")
        conn.exec_driver_sql("ALTER TABLE positions DROP COLUMN account")
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {SNAPSHOT_INDEX} "
                             f"ON positions (portfolio, as_of)")
    dispose_all()


def test_a_store_made_by_an_earlier_folio_is_upgraded_on_first_use(tmp_path, monkeypatch,
                                                                   store):
    held = write_everything(tmp_path, monkeypatch)
    downgrade(get_engine(get_settings()))
    check(held)  # the first use upgrades it
    engine = get_engine(get_settings())
    columns = {c["name"] for c in sa.inspect(engine).get_columns("snapshots")}
    assert {"first_id", "last_id"} <= columns
    assert "rejected" in {c["name"] for c in sa.inspect(engine).get_columns("imports")}
    held_columns = {c["name"] for c in sa.inspect(engine).get_columns("positions")}
    assert "account" in held_columns
    # The id only SQLite reads by is gone from PostgreSQL's positions, its sequence with it.
    assert ("id" in held_columns) == (store == "sqlite")
    if store == "postgresql":
        with engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM pg_class WHERE relname = 'positions_id_seq'").scalar() == 0
    indexes = [i["name"] for i in sa.inspect(engine).get_indexes("positions")]
    assert indexes == ([] if store == "sqlite" else [IMPORT_INDEX])
    # And it takes new writes and replacements as a new store does.
    folio.import_file(holdings(tmp_path / "b1b.csv", "2024-01-31", [5]), "B")
    held[("B", "2024-01-31")] = expected("2024-01-31", [5])
    check(held)
    dispose_all()
    check(held)  # opening it again changes nothing


def test_an_upgraded_store_keeps_a_snapshot_without_rows(tmp_path, monkeypatch):
    """A snapshot of zero positions (every row a subtotal, say) has no id range to find."""
    held = write_everything(tmp_path, monkeypatch)
    engine = get_engine(get_settings())
    with engine.begin() as conn:
        conn.execute(sa.delete(positions).where(positions.c.portfolio == "B"))
    downgrade(engine)
    held[("B", "2024-01-31")] = []
    check(held)
    assert folio.positions("B").empty
    frame = pd.DataFrame(folio.portfolios())
    assert set(frame["name"]) == {"A", "B"}


def test_a_new_store_has_large_pages_and_an_earlier_one_keeps_its_own(tmp_path):
    import sqlite3

    from folio.store import db

    old = tmp_path / "old" / "folio.db"
    old.parent.mkdir()
    with sqlite3.connect(old) as conn:  # as an earlier folio made it: SQLite's 4 KiB pages
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE t (x)")
    for home, page_size in ((tmp_path / "new", db.PAGE_SIZE), (tmp_path / "old", 4096)):
        with folio.configure(home=home, database_url=f"sqlite:///{home / 'folio.db'}"):
            folio.import_file(holdings(tmp_path / "h.csv", "2024-01-31", [1, 2]), "A")
            with get_engine(get_settings()).connect() as conn:
                raw = conn.connection.driver_connection
                assert raw.execute("PRAGMA page_size").fetchone()[0] == page_size
                # The WAL a commit lets grow is the same in bytes whatever the page size.
                pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                assert pages * page_size == db.WAL_AUTOCHECKPOINT_BYTES
            assert stored("A") == expected("2024-01-31", [1, 2])
        dispose_all()


def test_a_record_is_aged_by_the_store_clock(store):
    """``finished_before`` compares the store's stamp with the store's clock: a
    failure recorded now is not yet 0.5 s old, and is after 0.6 s."""
    import time

    from folio.store import queries

    engine = get_engine(get_settings())
    queries.create_import(engine, import_id="c" * 32, portfolio="P", file_name="f",
                          file_path=None, via="celery", status="queued")
    assert not queries.finished_before(engine, "c" * 32, 0.0)  # not finished at all
    assert queries.mark_failed(engine, "c" * 32, "the worker said no")
    assert not queries.finished_before(engine, "c" * 32, 0.5)
    time.sleep(0.6)
    assert queries.finished_before(engine, "c" * 32, 0.5)
