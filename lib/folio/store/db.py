"""Connections to the store: one engine per URL and process, tables created on first use.

Owns engine creation and the SQLite settings that let a kernel and a worker
process share one file safely (WAL journal, a busy timeout, foreign keys).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from folio.config import Settings, get_settings, mask_url, redact
from folio.errors import ConfigError, StoreError
from folio.store.schema import IMPORT_INDEX, SNAPSHOT_INDEX, metadata

_engines: dict[tuple[int, str], Engine] = {}
_lock = threading.Lock()


# A new store's page size (SQLite's default is 4 KiB). Large pages cut the cost
# of writing a large snapshot (1M rows copied into the store: 0.55 s at 4 KiB,
# 0.39 s at 64 KiB) and of scanning one; SQLite sets it only on an empty file.
PAGE_SIZE = 65536
# How much WAL a commit lets grow before it checkpoints (SQLite's default: 1,000
# pages of 4 KiB), in bytes, so that it does not grow with the page size.
WAL_AUTOCHECKPOINT_BYTES = 4 << 20


def _autocheckpoint_pages(dbapi_connection) -> int:
    """The auto-checkpoint threshold, in pages of this database (a store made by an
    earlier folio keeps 4 KiB pages)."""
    page_size = dbapi_connection.execute("PRAGMA page_size").fetchone()[0]
    return max(1, WAL_AUTOCHECKPOINT_BYTES // page_size)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")  # before WAL: a no-op once it exists
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={_autocheckpoint_pages(dbapi_connection)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin(conn) -> None:
    # A write takes SQLite's write lock up front: upgrading a read transaction to
    # a write later can fail at once with "database is locked" when another
    # process wrote in between, where waiting for the lock would have succeeded.
    write = conn.get_execution_options().get("folio_write")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _build(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number
        # from None: the parser's own message quotes the URL, password and all.
        raise ConfigError(f"FOLIO_DATABASE_URL is not a database URL: {mask_url(url)} (in a "
                          f"password, write @ : / # ? as %40 %3A %2F %23 %3F)",
                          setting="database_url", value=mask_url(url)) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that
        # a transaction starts when SQLAlchemy says so (atomic writes, claims).
        event.listen(engine, "connect", lambda c, r: setattr(c, "isolation_level", None))
        event.listen(engine, "begin", _begin)
    else:
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, connect_args=_connect_args(parsed))
    try:
        _open(engine)
    except OperationalError as exc:
        raise StoreError(
            f"cannot open the store at {mask_url(url)}: {redact(str(exc.orig).strip(), url)}",
            url=mask_url(url),
        ) from None
    return engine


# How long a process opening an SQLite store another process is creating tries again.
OPEN_RETRY_S = 30.0


def _open(engine: Engine) -> None:
    """Create or upgrade the tables, trying again while SQLite says "database is locked".

    A new SQLite file being set up by another process (its switch to WAL, its
    first tables) can refuse a connection at once, without waiting on the busy
    timeout: seen once in 60 four-process races on a loaded machine. Each try
    starts afresh, and creating the tables is idempotent.
    """
    deadline = time.monotonic() + OPEN_RETRY_S
    pause = 0.02
    while True:
        try:
            _create_tables(engine)
            _upgrade(engine)
            return
        except OperationalError as exc:
            locked = engine.dialect.name == "sqlite" and "locked" in str(exc.orig).lower()
            if not locked or time.monotonic() + pause > deadline:
                raise
            engine.dispose()
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


# PostgreSQL: the advisory-lock key that serialises creating and upgrading tables.
SCHEMA_LOCK_KEY = 0x466F6C696F  # "Folio"


def _create_tables(engine: Engine) -> None:
    """Create the tables that do not exist yet, in one write transaction.

    Two processes opening a new store at once (two workers starting, a kernel
    and a worker) would both find a table missing and both create it. On
    PostgreSQL the loser failed on ``pg_type``'s unique index: an advisory lock
    held for the transaction makes them take turns. On SQLite a read that
    turns into a write fails at once with "database is locked" when another
    process wrote meanwhile: the transaction takes the write lock up front
    (``writing``), and the second process then finds the tables there.
    """
    if set(metadata.tables) <= set(inspect(engine).get_table_names()):
        return  # every open but a new store's first: no lock needed
    with writing(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
        metadata.create_all(conn)


# Columns added to tables after the first stores were made: (table, column, DDL type).
ADDED_COLUMNS = (
    ("snapshots", "first_id", "INTEGER"),
    ("snapshots", "last_id", "INTEGER"),
    ("imports", "claim_token", "VARCHAR(32)"),
    ("imports", "rejected", "JSON"),
    ("imports", "base_currency", "VARCHAR(3)"),
    ("imports", "base_currency_reason", "TEXT"),
    ("positions", "account", "VARCHAR(100)"),
)


def _upgrade(engine: Engine) -> None:
    """Bring a store made by an earlier folio (or just made) up to today's tables, once.

    There is no migration tool; the changes so far add columns
    (``ADDED_COLUMNS``) and change PostgreSQL's positions (see
    ``schema.positions``): they lose their id, made by ``create_all`` with the
    table that SQLite needs and by every earlier folio, and are indexed by
    import instead of by snapshot. When ``snapshots`` gains the id range of its
    positions, SQLite fills it from the rows and drops its index by snapshot.
    """
    if not _missing_columns(engine) and not _pg_positions_outdated(engine):
        return
    with writing(engine) as conn:  # the write lock: one process upgrades, others then see it
        if engine.dialect.name == "postgresql":
            # With the schema lock, as creating the tables: two processes upgrading take turns.
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_KEY})")
            # Dropping a column only marks it dropped (no rewrite), and takes
            # the serial column's sequence and primary key with it.
            conn.exec_driver_sql("ALTER TABLE positions DROP COLUMN IF EXISTS id")
            # A one-off build over the rows the store holds (about a second per
            # million); reads go on meanwhile, writes wait for it.
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {IMPORT_INDEX} "
                                 "ON positions (import_id)")
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {SNAPSHOT_INDEX}")
        missing = _missing_columns(conn)
        # PostgreSQL runs DDL in the transaction without SQLite's write lock.
        guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""
        for table, column, kind in missing:
            conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {guard}{column} {kind}")
        if engine.dialect.name == "sqlite" and ("snapshots", "first_id", "INTEGER") in missing:
            # Each snapshot's rows were written in one transaction: consecutive ids.
            conn.exec_driver_sql(
                "UPDATE snapshots SET "
                "first_id = (SELECT min(id) FROM positions p WHERE p.portfolio = "
                "snapshots.portfolio AND p.as_of = snapshots.as_of), "
                "last_id = (SELECT max(id) FROM positions p WHERE p.portfolio = "
                "snapshots.portfolio AND p.as_of = snapshots.as_of)")
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {SNAPSHOT_INDEX}")


def _missing_columns(bind) -> list[tuple[str, str, str]]:
    present: dict[str, set[str]] = {}
    for table, _, _ in ADDED_COLUMNS:
        if table not in present:
            present[table] = _columns(bind, table)
    return [added for added in ADDED_COLUMNS if added[1] not in present[added[0]]]


def _pg_positions_outdated(bind) -> bool:
    """Whether PostgreSQL's positions still have the id only SQLite uses, the index
    by snapshot, or no index by import (an index of the store's owner is theirs)."""
    if bind.dialect.name != "postgresql":
        return False
    indexes = {index["name"] for index in inspect(bind).get_indexes("positions")}
    return ("id" in _columns(bind, "positions") or SNAPSHOT_INDEX in indexes
            or IMPORT_INDEX not in indexes)


def _columns(bind, table: str) -> set[str]:
    return {column["name"] for column in inspect(bind).get_columns(table)}


def unreachable(exc: DBAPIError, url: str, **fields) -> StoreError:
    """The StoreError for a database that did not answer (server down, network cut)."""
    reason = redact(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc), url)
    return StoreError(f"the store at {mask_url(url)} cannot be reached ({reason}); nothing "
                      f"was changed; try again when it is back", url=mask_url(url), **fields)


def _connect_args(parsed) -> dict:
    if parsed.get_backend_name() == "postgresql":
        return {"connect_timeout": 5}
    return {}


def get_engine(settings: Settings | None = None) -> Engine:
    """The engine for the store in force, created (with its tables) on first use."""
    url = (settings or get_settings()).database_url
    key = (os.getpid(), url)  # a forked worker must not reuse its parent's pool
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = _build(url)
        return engine


def dispose_all() -> None:
    """Close every pooled connection (tests, and before a store file is removed)."""
    settle()
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# Work left running after a commit (a checkpoint, removing a scratch file), so
# the commit's caller need not wait for it; settle() waits.
_background: set[threading.Thread] = set()


def in_background(work: Callable[[], None], name: str, *, daemon: bool = True) -> None:
    """Run ``work`` on a thread; ``settle`` (and ``dispose_all``) wait for it.

    A daemon thread may be cut short when the process exits; the others are
    waited for then.
    """

    def run() -> None:
        try:
            work()
        except Exception:  # noqa: BLE001 - best effort by contract: see the callers
            pass
        finally:
            _background.discard(threading.current_thread())

    thread = threading.Thread(target=run, daemon=daemon, name=name)
    _background.add(thread)
    thread.start()


def settle() -> None:
    """Wait for the work ``in_background`` started."""
    for thread in list(_background):
        thread.join()


# Per thread: engines whose checkpoint waits for run_deferred_checkpoints().
_deferred = threading.local()


def _checkpoint_later(engine: Engine) -> None:
    """Copy a large write's WAL into the database on a thread, after its commit.

    SQLite would do it inside the commit (its auto-checkpoint), so an import of
    a million rows waited about a second for work no reader needs done first:
    readers read the WAL. If the process ends first, the next commit's
    auto-checkpoint does it.
    """
    waiting = getattr(_deferred, "engines", None)
    if waiting is not None:
        waiting.append(engine)
        return

    def checkpoint() -> None:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            raw.close()

    in_background(checkpoint, "folio-checkpoint")


def defer_checkpoints() -> None:
    """Hold this thread's checkpoints until ``run_deferred_checkpoints``.

    A worker stores a task's result after the import commits; a checkpoint
    writing a million rows' pages meanwhile made that small write wait about
    0.35 s (the kernel throttles writers while so many pages are dirty), and
    the client with it.
    """
    _deferred.engines = getattr(_deferred, "engines", None) or []


def run_deferred_checkpoints() -> None:
    """Start the checkpoints this thread held, and hold no more."""
    engines, _deferred.engines = getattr(_deferred, "engines", None) or [], None
    for engine in dict.fromkeys(engines):
        _checkpoint_later(engine)


@contextlib.contextmanager
def writing(engine: Engine, attach: Mapping[str, Path] | None = None) -> Iterator[Connection]:
    """One write transaction: committed at the end of the block, rolled back on error.

    ``attach`` maps schema names to SQLite files to attach for the transaction
    (SQLite attaches only outside a transaction, so it happens here); such a
    write is a large one, whose checkpoint runs after the commit, on a thread.
    """
    with engine.connect() as conn:
        conn.execution_options(folio_write=True)
        raw = conn.connection.driver_connection if attach else None
        for alias, path in (attach or {}).items():
            raw.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
        if attach:
            raw.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            with conn.begin():
                yield conn
        finally:
            try:
                for alias in attach or {}:
                    raw.execute(f"DETACH DATABASE {alias}")
                if attach:
                    raw.execute(f"PRAGMA wal_autocheckpoint = {_autocheckpoint_pages(raw)}")
            except Exception:
                conn.invalidate()  # never hand the pool a connection with a file attached
    if attach:
        _checkpoint_later(engine)
