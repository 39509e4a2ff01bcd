"""The portfolio store's tables (SQLAlchemy 2 Core), the same on SQLite and PostgreSQL.

Owns table definitions only. ``snapshots`` points each (portfolio, as-of date) at
the import whose positions are current; ``imports`` keeps every attempt, so the
history of a date survives a replacement.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
IMPORT_INDEX = "ix_positions_import"  # PostgreSQL's only index on positions
# An earlier folio's index by (portfolio, as-of): SQLite's until snapshots kept
# id ranges, PostgreSQL's until IMPORT_INDEX (db.py drops it).
SNAPSHOT_INDEX = "ix_positions_snapshot"

STATUSES = ("pending", "queued", "running", "succeeded", "partially_succeeded", "failed", "unchanged")
FINAL_STATUSES = ("succeeded", "partially_succeeded", "failed", "unchanged")

portfolios = Table(
    "portfolios",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("base_currency", String(3), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("id", String(36), primary_key=True),
    # Plain text, not a foreign key: a failed first import has no portfolio row.
    Column("portfolio", String(100), nullable=False),
    Column("as_of", Date),
    Column("file_name", Text, nullable=False),
    Column("file_path", Text),
    Column("content_hash", String(64)),
    Column("status", String(24), nullable=False),
    Column("via", String(16), nullable=False),
    Column("task_id", String(64)),
    Column("fallback_reason", Text),
    Column("mapping_name", String(100)),
    Column("mapping", JSON),
    # The submitted request, so a worker can run the import again after a crash.
    Column("request", JSON),
    Column("rows_total", Integer, nullable=False, default=0),
    Column("rows_imported", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("warnings", Integer, nullable=False, default=0),
    # What the rejected rows carried (count, readable value per currency, their
    # identifiers): a snapshot with rejected rows is incomplete, and says by how much.
    Column("rejected", JSON),
    # The portfolio's base currency after this import and why that one (asked
    # for, the portfolio's own, or chosen for a new one): ``folio status`` says it.
    Column("base_currency", String(3)),
    Column("base_currency_reason", Text),
    Column("error", Text),
    Column("claimed_by", String(200)),
    # The claim's generation: a new token each time the import is claimed (or
    # its message sent again). A write commits only while its token is current,
    # so a worker that was paused past recovery cannot write over its successor.
    Column("claim_token", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_imports_portfolio_as_of", "portfolio", "as_of"),
)

import_issues = Table(
    "import_issues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("import_id", String(36), ForeignKey("imports.id", ondelete="CASCADE"), nullable=False),
    Column("row", Integer),
    Column("column", Text),
    Column("code", String(40), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("value", Text),
    Column("message", Text, nullable=False),
    Index("ix_import_issues_import", "import_id"),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("portfolio", String(100), ForeignKey("portfolios.name"), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("import_id", String(36), ForeignKey("imports.id"), nullable=False),
    Column("content_hash", String(64), nullable=False),
    # SQLite: the snapshot's positions are the rows with ids first_id..last_id
    # (one write transaction's rows get consecutive ids there), so reads and
    # deletes go by the primary key and positions need no second index. NULL on
    # PostgreSQL, where concurrent writers interleave ids and an index serves.
    Column("first_id", Integer),
    Column("last_id", Integer),
)

positions = Table(
    "positions",
    metadata,
    # SQLite only: the rowid, by whose range a snapshot's rows are found (see
    # ``snapshots``). PostgreSQL finds them by the index by import and no query
    # reads an id there, while its sequence and key cost the server a third
    # more CPU in a COPY of 1,000,000 positions (benchmarks/bench_indexes.py):
    # the store drops it there (db.py).
    Column("id", Integer, primary_key=True, autoincrement=True),
    # No foreign key: positions are written only with their import record, in
    # one transaction, and a per-row key check cost PostgreSQL seconds per
    # million rows (a trigger per row) and SQLite a lookup per row.
    Column("import_id", String(36), nullable=False),
    Column("portfolio", String(100), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("row", Integer, nullable=False),
    Column("identifier", String(64), nullable=False),
    Column("name", Text),
    Column("quantity", Float, nullable=False),
    Column("price", Float),
    Column("market_value", Float),
    Column("accrued_interest", Float),
    Column("currency", String(3), nullable=False),
    Column("issuer", Text),
    Column("country", Text),
    Column("asset_class", Text),
    Column("maturity_date", Date),
    # The broker account the position is held in, where the file says (an account
    # column, or the title line above a per-account block); NULL where it does not.
    Column("account", String(100)),
    # Reads go by snapshot. On SQLite they go by the id range on the snapshots
    # row: an index cost a third of a large import's copy into the store. On
    # PostgreSQL they go by the import whose rows are the snapshot's
    # (``snapshots.import_id``): this index serves the analytics' read of one
    # date (finding 200,000 rows among 2,400,000: 0.03 s with it, 0.27 s
    # without, and the scan grows with the store) and the write's delete of a
    # replaced snapshot, made while the snapshot's lock is held (0.08 s, 0.44 s
    # without; bench_indexes.py). Import ids are time-ordered, so a new
    # import's rows go to the index's right end, the cheapest place to add to a
    # B-tree: its upkeep cost the server 0.5 s of CPU per 1,000,000 positions
    # where the index by (portfolio, as-of) it replaces cost 1.1 s (that one's
    # new keys fall anywhere in it). The upkeep is done while the import checks
    # later blocks (see stream.py).
    Index(IMPORT_INDEX, "import_id").ddl_if(dialect="postgresql"),
    # No RETURNING of an id after an insert: PostgreSQL's table has none.
    implicit_returning=False,
)
# The columns a read of positions returns, the same on both stores.
POSITION_COLUMNS = tuple(c for c in positions.columns if c.name != "id")

instruments = Table(
    "instruments",
    metadata,
    Column("identifier", String(64), primary_key=True),
    Column("name", Text),
    Column("issuer", Text),
    Column("country", String(64)),
    Column("asset_class", String(64)),
    Column("currency", String(3)),
    Column("maturity_date", Date),
    Column("coupon", Float),
    Column("modified_duration", Float),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("date", Date, primary_key=True),
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    Column("rate", Float, nullable=False),  # 1 base = rate quote
)

prices = Table(
    "prices",
    metadata,
    Column("date", Date, primary_key=True),
    Column("identifier", String(64), primary_key=True),
    Column("price", Float, nullable=False),
    Column("currency", String(3)),
)

mappings = Table(
    "mappings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("columns", JSON, nullable=False),  # {"file column": "field"}
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("name"),
)

workers = Table(
    "workers",
    metadata,
    Column("hostname", String(200), primary_key=True),
    Column("queue", String(100), nullable=False),
    Column("pid", Integer),
    Column("pool", String(20)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)
