"""Writing many rows fast: the bulk paths of a snapshot write, by database.

Owns how positions and issues reach their tables inside the import's
transaction, and where a large import's positions wait until then
(``PositionSink``). SQLAlchemy's per-row parameter processing costs more than
the database itself on large snapshots, so rows go to the driver directly:

- PostgreSQL: ``COPY ... FROM STDIN`` of CSV made by Arrow, on the transaction's
  own connection (a large import's positions wait in an Arrow IPC scratch file);
- SQLite, large imports: an ADBC bulk ingest into a scratch file block by block
  as validation goes (Arrow columns, no Python tuples), attached to the
  transaction and copied with ``INSERT ... SELECT``, so the positions still
  appear atomically or not at all;
- otherwise: the driver's ``executemany`` on plain tuples.
"""

from __future__ import annotations

import errno
import functools
import os
import queue
import threading
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, delete, select, text

from folio.errors import StoreError
from folio.store import stream
from folio.store.db import PAGE_SIZE, in_background, writing
from folio.store.schema import FINAL_STATUSES, imports, positions

Progress = Callable[[int, int, str], None]  # (done, total, stage)

# Below this many rows executemany is as fast, and needs no second connection.
STAGE_MIN_ROWS = 50_000
STAGE_BATCH = 100_000  # at most this many rows per Arrow batch and INSERT ... SELECT step
STAGE_PREFIX = ".stage-"

POSITION_FIELDS = ("row", "identifier", "name", "quantity", "price", "market_value",
                   "accrued_interest", "currency", "issuer", "country", "asset_class",
                   "maturity_date", "account")
ISSUE_FIELDS = ("row", "column", "code", "severity", "value", "message")
_NUMBERS = ("quantity", "price", "market_value", "accrued_interest")
_EMPTY = pd.DataFrame({
    "row": np.zeros(0, dtype=np.int64), **{f: pd.Series(dtype=pd.StringDtype("pyarrow"))
                                           for f in ("identifier", "name", "currency", "issuer",
                                                     "country", "asset_class", "account")},
    **{f: np.zeros(0) for f in ("quantity", "price", "market_value", "accrued_interest")},
    "maturity_date": np.zeros(0, dtype="datetime64[D]")})[list(POSITION_FIELDS)]


def tally_accounts(counts: dict[str | None, int], frame: pd.DataFrame) -> None:
    """Add a block's positions per account to ``counts`` (None: rows with no account)."""
    if "account" in frame:
        for account, count in frame["account"].value_counts(dropna=False).items():
            key = None if pd.isna(account) else str(account)
            counts[key] = counts.get(key, 0) + int(count)


def chunks(n: int, size: int):
    """(start, stop) of consecutive slices of ``size`` over ``n`` items."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


def insert_rows(conn: Connection, table, fixed: Mapping[str, Any],
                frame: pd.DataFrame | PositionSink, fields: tuple[str, ...],
                progress: Progress | None = None) -> None:
    """Insert rows inside the transaction: COPY on PostgreSQL, executemany on SQLite."""
    total = len(frame)
    if total == 0:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, fixed, _batches(frame, fields), total, fields, progress)
        return
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join(['?'] * len(names))})")
    # SQLAlchemy keeps SQLite dates as ISO text; write them the same way.
    fixed_values = [v.isoformat() if isinstance(v, date) else v for v in fixed.values()]
    done = 0
    for batch in _batches(frame, fields):  # a step of the write at a time, from memory or scratch
        # The Arrow columns the bulk paths write, as plain values (None for missing).
        columns = [column.to_pylist() for column in batch.columns]
        conn.exec_driver_sql(sql, [(*fixed_values, *values)
                                   for values in zip(*columns, strict=True)])
        done += len(batch)
        if progress:
            progress(done, total, "writing")


def write_transaction(engine: Engine, sink: PositionSink, staged: Path | None):
    """The snapshot's write transaction: the one the sink's rows were streamed into
    (PostgreSQL, see ``stream``), else a new one (with the SQLite scratch attached)."""
    if sink.stream is not None:
        return sink.stream.transaction()
    return writing(engine, attach={STAGE_SCHEMA: staged} if staged else None)


def not_sent(sink: PositionSink) -> tuple:
    """Conditions that keep the rows streamed into the transaction out of the
    delete of the snapshot's old rows (which goes by key on PostgreSQL)."""
    return (positions.c.import_id != sink.import_id,) if sink.stream is not None else ()


def unsend(conn: Connection, sink: PositionSink) -> None:
    """Delete the rows streamed into the transaction (the write keeps none after all)."""
    if sink.stream is not None and sink.stream.rows:
        conn.execute(delete(positions).where(positions.c.import_id == sink.import_id))


class AccountRows:
    """The rows of one account among a sink's (``None``: those with no account), for
    a write of one portfolio per account: each portfolio's snapshot takes its own."""

    def __init__(self, sink: PositionSink, account: str | None) -> None:
        self.sink, self.account = sink, account

    def __len__(self) -> int:
        return self.sink.accounts.get(self.account, 0)

    def batches(self):
        for batch in self.sink.batches():
            column = batch.column("account")
            mine = (column.is_null() if self.account is None
                    else pc.fill_null(pc.equal(column, self.account), False))
            if pc.any(mine).as_py():
                yield batch.filter(mine)


def _batches(rows: pd.DataFrame | PositionSink | AccountRows, fields: tuple[str, ...]):
    """Rows as Arrow record batches of ``fields``, a step of the write at a time."""
    if isinstance(rows, PositionSink | AccountRows):
        yield from rows.batches()
        return
    total = len(rows)
    if total == 0:
        return
    # The frame is made Arrow once and then sliced (no copy): made a step at a time,
    # each column's conversion cost its fixed price twenty times per block.
    whole = frame_batch(rows, fields)
    for start, stop in chunks(total, batch_size(total)):
        yield whole.slice(start, stop - start)


def frame_batch(frame: pd.DataFrame, fields: tuple[str, ...]) -> pa.RecordBatch:
    """``fields`` of a positions or issues frame as one Arrow record batch."""
    return pa.record_batch([arrow_column(frame, f) for f in fields], names=list(fields))


def _copy(conn: Connection, table, fixed: Mapping[str, Any], batches, total: int,
          fields: tuple[str, ...], progress: Progress | None) -> None:
    """COPY record batches (binary, see ``stream``) through the transaction's own connection."""
    sql = stream.copy_sql(conn, table, fixed, fields)
    stream.copy_rows(conn.connection.driver_connection, sql, table, fixed, batches,
                     (lambda done: progress(done, total, "writing")) if progress else None)


# ------------------------------------------------------------------ the sink


class PositionSink:
    """The positions of one import, taken block by block as validation yields them.

    A small import's positions stay in memory. A large one's go to a scratch
    file as they come, so memory follows the block, not the file: on SQLite an
    ADBC table (copied into the store inside the write transaction, see
    ``insert_staged``), elsewhere an Arrow IPC file (read back into COPY). The
    scratch is removed by ``discard``. ``counting_only`` keeps nothing (an
    import whose snapshot is already in the store).
    """

    FIELDS = POSITION_FIELDS
    EMPTY = _EMPTY  # its columns' Arrow types are the scratch file's schema

    def __init__(self, engine: Engine, import_id: str, *, counting_only: bool = False) -> None:
        self.engine, self.import_id = engine, import_id
        self.counting_only = counting_only
        self.rows = 0
        self.staged: Path | None = None  # SQLite scratch, once the rows are in it
        # (portfolio, as-of date) once known: PostgreSQL streams rows only then
        # (they are COPYed with both), see ``stream``.
        self.snapshot: tuple[str, date] | None = None
        self.stream: stream.PositionStream | None = None  # PostgreSQL, once streaming
        self._frames: list[pd.DataFrame] = []
        self._held = 0
        self._value: dict[str, float] = {}
        # Positions per account (None: rows the file gives no account), for a
        # write of one portfolio per account.
        self.accounts: dict[str | None, int] = {}
        self._stager: threading.Thread | None = None
        self._queue: queue.Queue | None = None
        self._error: BaseException | None = None
        self._ipc: tuple[Path, Any, Any] | None = None  # path, file, writer
        self._schema = pa.schema([(f, arrow_column(self.EMPTY, f).type) for f in self.FIELDS])

    def __len__(self) -> int:
        return self.rows

    def add(self, frame: pd.DataFrame) -> None:
        """Take one block's positions."""
        self.rows += len(frame)
        tally_accounts(self.accounts, frame)  # kept or not: the result names the accounts
        if self.counting_only or frame.empty:
            return
        self._tally(frame)
        self._frames.append(frame)
        self._held += len(frame)
        if self._held >= STAGE_MIN_ROWS:
            self._spill()

    def _tally(self, frame: pd.DataFrame) -> None:
        # Local amounts per currency: converted, they name a new portfolio's base currency.
        value = frame["market_value"].abs().fillna((frame["quantity"] * frame["price"]).abs())
        for ccy, total in value.fillna(0).groupby(frame["currency"]).sum().items():
            self._value[ccy] = self._value.get(ccy, 0.0) + float(total)

    def _spill(self) -> None:
        if can_stage(self.engine, self._held):
            self._stage_sqlite()
        elif self.stream is not None or (self.engine.dialect.name == "postgresql"
                                         and self.snapshot is not None):
            self._stream_rows()
        elif self.engine.dialect.name != "sqlite":
            self._stage_ipc()

    def _stream_rows(self) -> None:
        """Hand the held rows to the COPY thread of the import's open transaction."""
        if self.stream is None:
            portfolio, as_of = self.snapshot
            self.stream = stream.PositionStream(
                self.engine, positions, {"import_id": self.import_id,
                                            "portfolio": portfolio, "as_of": as_of},
                self.FIELDS, self.import_id)
        frames, self._frames, self._held = self._frames, [], 0
        self.stream.put([frame_batch(f, self.FIELDS) for f in frames if len(f)])

    def _stage_sqlite(self) -> None:
        """Hand the held rows to the staging thread, which ingests them with ADBC.

        On a thread, so the ingest of one block overlaps the checks of the next
        (two cores); at most two blocks wait, so memory stays bounded.
        """
        if self._stager is None:
            drop_orphans(self.engine)
            self.staged = stage_path(self.engine, self.import_id)
            remove_stage(self.staged)
            self._queue = queue.Queue(maxsize=2)
            self._stager = threading.Thread(target=self._ingest, args=(self.staged,),
                                            daemon=True, name=f"folio-stage-{self.import_id}")
            self._stager.start()
        self._raise_staging_error()
        frames, self._frames, self._held = self._frames, [], 0
        table = pa.Table.from_batches([frame_batch(f, self.FIELDS) for f in frames if len(f)],
                                      schema=self._schema)
        self._queue.put(table)

    def _ingest(self, path: Path) -> None:
        import adbc_driver_sqlite.dbapi as adbc

        try:
            with adbc.connect(str(path)) as conn:
                with conn.cursor() as cursor:
                    cursor.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # as the store's: faster
                    cursor.execute("PRAGMA journal_mode = OFF")  # scratch: nothing to recover
                mode = "create"
                while (table := self._queue.get()) is not None:
                    if self._error is None:  # after an error, drain until told to stop
                        with conn.cursor() as cursor:
                            cursor.adbc_ingest(STAGE_TABLE, table, mode=mode)
                        conn.commit()
                        mode = "append"
        except BaseException as exc:  # raised in the import's thread
            self._error = exc
            while self._queue.get() is not None:
                pass

    def _raise_staging_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            failure = self._scratch_failed(error, self.staged)
            if failure is None:
                raise error
            raise failure from error

    def _scratch_failed(self, exc: BaseException, path: Path | None) -> StoreError | None:
        """The StoreError for a scratch file that could not be written (a full disk,
        mostly); None if ``exc`` is not the scratch's fault (a bug, raised as it is).

        ADBC's and the file system's errors are not the store driver's, so the
        import's caller would otherwise report them as a failure of folio's own.
        The scratch goes at once, not after the import: its disk is the store's
        (SQLite), where the failure is then recorded.
        """
        try:
            import adbc_driver_manager

            adbc_error: tuple[type, ...] = (adbc_driver_manager.Error,)
        except ImportError:
            adbc_error = ()
        if not isinstance(exc, (OSError, *adbc_error)) or path is None:
            return None
        remove_stage(path)
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                  else str(exc).strip().splitlines()[0])
        full = (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) or (
            "full" in reason.lower())  # SQLite's "database or disk is full"
        hint = (f"free disk space under {path.parent} and run the import again" if full
                else "run the import again once that is fixed")
        file = self._file_name()
        return StoreError(
            f"import {self.import_id}{f' of {file}' if file else ''} failed: its scratch file "
            f"{path} could not be written ({reason}); nothing was changed; {hint}",
            import_id=self.import_id, file=file, path=str(path), folder=str(path.parent),
            disk_full=full)

    def _file_name(self) -> str | None:
        """The name of the import's file, from its record (the sink is told only the id)."""
        try:
            with self.engine.connect() as conn:
                return conn.execute(select(imports.c.file_name)
                                    .where(imports.c.id == self.import_id)).scalar()
        except Exception:  # noqa: BLE001 - the message says less, the error stays the same
            return None

    def _stop_stager(self) -> None:
        if self._stager is not None:
            self._queue.put(None)
            self._stager.join()  # ADBC has closed the file before the store attaches it
            self._stager = None

    def _stage_ipc(self) -> None:
        import tempfile

        if self._ipc is None:
            fd, name = tempfile.mkstemp(prefix=STAGE_PREFIX, suffix=".arrow")
            sink = os.fdopen(fd, "wb")
            # The schema waits in the file's buffer: no disk is touched here.
            self._ipc = (Path(name), sink, pa.ipc.new_stream(sink, self._schema))
        frames, self._frames, self._held = self._frames, [], 0
        try:
            for frame in frames:
                if len(frame):
                    self._ipc[2].write_batch(frame_batch(frame, self.FIELDS))
        except OSError as exc:  # Arrow's I/O errors are OSErrors: a full disk, mostly
            raise self._ipc_failed(exc) from exc

    def close(self) -> None:
        """No more rows: finish the scratch file so the write can read it (or, when
        streaming, send the last rows; the write waits for them)."""
        if self.stream is not None and self._frames:
            self._stream_rows()
        if self._stager is not None:
            if self._frames:
                self._stage_sqlite()
            self._stop_stager()
            self._raise_staging_error()
        if self._ipc is not None:
            if self._frames:
                self._stage_ipc()
            try:
                self._ipc[2].close()
                self._ipc[1].close()  # the last bytes reach the disk here
            except OSError as exc:
                raise self._ipc_failed(exc) from exc

    def _ipc_failed(self, exc: OSError) -> StoreError:
        path, sink, writer = self._ipc
        for part in (writer, sink):  # an open file keeps its space after its removal
            try:
                part.close()
            except OSError:
                pass
        return self._scratch_failed(exc, path)

    def batches(self):
        """Every row as Arrow record batches of ``FIELDS``."""
        if self._ipc is not None:
            # Read, not mapped: a mapped file's pages stay resident as they are
            # read (10M issues: 1.9 GB RSS); read batches are freed as they go.
            with pa.OSFile(str(self._ipc[0])) as source:
                yield from pa.ipc.open_stream(source)
        for frame in self._frames:
            yield from _batches(frame, self.FIELDS)

    def base_currency(self) -> str | None:
        return max(self._value, key=self._value.get) if self._value else None

    def local_amounts(self) -> dict[str, float]:
        """Absolute local amounts per currency, unconverted (for choosing a base currency)."""
        return dict(self._value)

    def discard(self) -> None:
        """Remove the scratch files (after the write, or when the import failed); roll
        back the rows streamed if the write did not commit them."""
        if self.stream is not None:
            self.stream.abandon()  # after a commit: nothing left to roll back
        try:
            self._stop_stager()
            self.close()
        except Exception:  # noqa: BLE001 - the scratch goes whatever state it is in
            pass
        # Removing a scratch file of a million rows took 0.1-0.2 s (its pages
        # are still cached, and the checkpoint is writing): the import's
        # caller need not wait for it. Not a daemon: the process waits at exit.
        for path in (self.staged, self._ipc[0] if self._ipc else None):
            if path is not None:
                in_background(functools.partial(remove_stage, path), "folio-unstage",
                              daemon=False)
        self._frames = []


class IssueSink(PositionSink):
    """The issues of one import, as validation hands them out a block at a time.

    Held in memory while few; past ``STAGE_MIN_ROWS`` they wait in an Arrow IPC
    scratch file (on every database: the issues' write is an ``executemany`` or
    a COPY of its batches), so a file of millions of bad rows is not held whole.
    """

    FIELDS = ISSUE_FIELDS
    EMPTY = pd.DataFrame({"row": np.zeros(0, dtype=np.int64),
                          **{f: pd.Series(dtype=object) for f in ISSUE_FIELDS[1:]}})

    def _tally(self, frame: pd.DataFrame) -> None:
        pass  # issues name no currency

    def _spill(self) -> None:
        self._stage_ipc()


# ---------------------------------------------------------------- SQLite staging
#
# The scratch rows go to a file of their own, never to the store's file: ADBC
# carries its own SQLite library, and two SQLite libraries with the same file
# open in one process break each other's POSIX locks (SQLite's documentation
# warns of corruption; a worker saw "database disk image is malformed").
# ADBC closes its file before the store's connection attaches it.

STAGE_SCHEMA = "folio_stage"
STAGE_TABLE = "rows"


def stage_path(engine: Engine, import_id: str) -> Path:
    return Path(engine.url.database).parent / f"{STAGE_PREFIX}{import_id}.db"


def can_stage(engine: Engine, rows: int) -> bool:
    """Whether a frame of ``rows`` rows goes through an ADBC scratch file."""
    if engine.dialect.name != "sqlite" or rows < STAGE_MIN_ROWS:
        return False
    database = engine.url.database
    if not database or database == ":memory:":
        return False
    try:
        import adbc_driver_sqlite.dbapi  # noqa: F401
    except ImportError:  # an optional speed-up: executemany works without it
        return False
    return True


def arrow_column(frame: pd.DataFrame, name: str) -> pa.Array:
    """Column ``name`` of a positions or issues frame as the Arrow array every bulk
    path writes (dates as ISO text, NaN as NULL)."""
    series = frame[name]
    if name == "maturity_date":
        days = series.to_numpy(dtype="datetime64[D]")
        # SQLAlchemy keeps SQLite dates as ISO text; stage them the same way.
        return pa.array(days, type=pa.date32(), from_pandas=True).cast(pa.string())
    if name in _NUMBERS:
        return pa.array(series.to_numpy(dtype=np.float64), from_pandas=True)  # NaN -> NULL
    if name == "row":
        return pa.array(series.to_numpy(dtype=np.int64))
    arr = pa.array(series.astype(pd.StringDtype("pyarrow")).array)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def batch_size(total: int) -> int:
    """Rows per step: progress at least every 5% of the write, steps not too small."""
    return max(1000, min(STAGE_BATCH, total // 20))


def insert_staged(conn: Connection, table, fixed: Mapping[str, Any], fields: tuple[str, ...],
                  total: int, progress: Progress | None = None, *,
                  account: tuple[str | None] | None = None) -> None:
    """Copy the attached scratch rows into ``table``, inside the transaction.

    ``account``: copy only the rows of that one account (``(None,)``: those with none).
    """
    quote = conn.dialect.identifier_preparer.quote
    names = list(fixed) + list(fields)
    select_list = ", ".join([f":{k}" for k in fixed] + [quote(f) for f in fields])
    only = " AND account IS :account" if account is not None else ""
    sql = text(f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"SELECT {select_list} FROM {STAGE_SCHEMA}.{STAGE_TABLE} "
               f"WHERE rowid > :lo AND rowid <= :hi{only} ORDER BY rowid")
    values = {k: v.isoformat() if isinstance(v, date) else v for k, v in fixed.items()}
    if account is not None:
        values["account"] = account[0]
    # In steps, so progress keeps coming (an ADBC ingest numbers rows from 1).
    for start, stop in chunks(total, batch_size(total)):
        conn.execute(sql, {**values, "lo": start, "hi": stop})
        if progress:
            progress(stop, total, "writing")


def remove_stage(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.remove(f"{path}{suffix}")
        except OSError:  # not there, or in use (Windows): drop_orphans tries again later
            pass


def drop_orphans(engine: Engine) -> None:
    """Remove scratch files whose import is over (left by a process that was killed)."""
    folder = Path(engine.url.database).parent
    found = {p.name[len(STAGE_PREFIX):-3]: p for p in folder.glob(f"{STAGE_PREFIX}*.db")}
    if not found:
        return
    with engine.connect() as conn:
        live = set(conn.execute(select(imports.c.id).where(
            imports.c.id.in_(list(found)), imports.c.status.not_in(FINAL_STATUSES))).scalars())
    for import_id, path in found.items():
        if import_id not in live:
            remove_stage(path)
