"""PostgreSQL: a large import's positions sent by COPY while its later blocks are checked.

Owns the write transaction of a large PostgreSQL import from its first staged
block to its commit. The transaction opens when the first block of positions is
ready, and a thread holds one COPY into ``positions`` open in it, adding each
block as validation goes on (the server stores and indexes one block's rows
while this thread makes the next's binary rows and the import checks the one
after), and ``write_snapshot`` finishes the same transaction: the claim check,
the snapshot's advisory lock, the read of the current snapshot, the delete of
its rows, issues and the import record, then one commit.

Why this is safe:

- rows of an open transaction are invisible to every other session, so a
  reader never sees part of a snapshot, and a failure anywhere (a bad COPY, a
  killed process, a lost connection) rolls them back with the rest: there is no
  staging table to leave behind;
- positions have no unique key, so rows inserted early take no lock another
  writer of the snapshot waits for; the snapshot's lock is still taken, by the
  same transaction, before the current snapshot is read (read committed: that
  read sees every commit made before the lock was granted);
- the old rows are deleted by key *except this import's own* (``streamed``).
"""

from __future__ import annotations

import contextlib
import queue
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Date, Engine, Float, Integer
from sqlalchemy.exc import DBAPIError

from folio import timing


class PositionStream:
    """One import's open transaction and the thread that COPYs its blocks into it.

    ``put`` hands over a block (waiting while two are queued, so memory stays
    bounded); ``transaction`` joins the thread and yields the connection for the
    rest of the write, committing at the end; ``abandon`` rolls everything back.
    """

    def __init__(self, engine: Engine, table, fixed: Mapping[str, Any],
                 fields: tuple[str, ...], name: str) -> None:
        self.fixed = dict(fixed)
        self.rows = 0  # rows handed over (sent, or about to be)
        self._error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._told_to_stop = False
        self.conn = engine.connect()
        try:
            self._tx = self.conn.begin()
            self._raw = self.conn.connection.driver_connection
            self._table = table
            self._sql = copy_sql(self.conn, table, self.fixed, fields)
        except BaseException:
            self.conn.close()
            raise
        self._thread: threading.Thread | None = threading.Thread(
            target=self._send, daemon=True, name=f"folio-copy-{name}")
        self._thread.start()

    def put(self, batches: list[pa.RecordBatch]) -> None:
        self.raise_error()
        self.rows += sum(len(b) for b in batches)
        self._queue.put(batches)

    def _send(self) -> None:
        # One COPY for every block: the server takes a block's rows while this
        # thread makes the next's (and waits for the import to check it).
        try:
            with timing.span("stage copy (bg)"):
                copy_rows(self._raw, self._sql, self._table, self.fixed, self._blocks())
        except BaseException as exc:  # raised in the import's thread
            self._error = exc
            while not self._told_to_stop and self._queue.get() is not None:  # drain
                pass

    def _blocks(self) -> Iterator[pa.RecordBatch]:
        """The batches handed over, as they come, until ``finish``."""
        while True:
            with timing.span("copy idle (bg)"):  # waiting for the import's next block
                batches = self._queue.get()
            if batches is None:
                self._told_to_stop = True  # the COPY may still fail as it ends
                return
            yield from batches

    def raise_error(self) -> None:
        """Raise what the COPY thread met, as the store's error (the import says that
        the store refused the write, and that nothing was changed)."""
        if self._error is None:
            return
        error, self._error = self._error, None
        import psycopg

        if isinstance(error, psycopg.Error):
            raise DBAPIError.instance("COPY positions", None, error, psycopg.Error) from error
        raise error

    def finish(self) -> None:
        """Wait until every block handed over is in the transaction."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self.raise_error()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """The rest of the write, in the transaction that holds the rows: committed
        at the end of the block, rolled back on any error."""
        try:
            self.finish()
            yield self.conn
            self._tx.commit()
        except BaseException:
            self.abandon()
            raise
        finally:
            self.conn.close()

    def abandon(self) -> None:
        """Roll back every row sent (a failed import, or one that never wrote)."""
        with contextlib.suppress(BaseException):
            self.finish()
        with contextlib.suppress(Exception):  # a dead connection rolled back already
            if self._tx.is_active:
                self._tx.rollback()
        with contextlib.suppress(Exception):
            self.conn.close()


def copy_sql(conn: Connection, table, fixed: Mapping[str, Any], fields) -> str:
    """The binary COPY of ``fixed``'s columns (one value for every row) and ``fields``,
    in the order ``copy_rows`` sends them (``wire_order``)."""
    quote = conn.dialect.identifier_preparer.quote
    names = wire_order(table, fixed, fields)
    return (f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            "FROM STDIN (FORMAT binary)")


def wire_order(table, fixed: Mapping[str, Any], fields) -> list[str]:
    """Columns in the order a row is sent: the constants, then the fixed-width
    columns (numbers, dates), then text. Fixed-width fields side by side are made
    as one array, and how many arrays a row is joined from is most of its cost."""
    return [*fixed, *sorted(fields, key=lambda name: not _fixed_width_type(table.c[name].type))]


def copy_rows(raw, sql: str, table, fixed: Mapping[str, Any], batches,
              on_batch: Callable[[int], None] | None = None) -> int:
    """COPY record batches on a psycopg connection (``sql`` from ``copy_sql``); return
    the rows. The COPY starts at the first batch: no batches, no statement."""
    from psycopg.copy import QueuedLibpqWriter

    done = 0
    with contextlib.ExitStack() as stack:
        copy = None
        for batch in batches:
            if copy is None:
                # Sent by psycopg's thread: the next batch's rows are made while
                # the server takes this one's (a plain write waits for the server).
                cursor = raw.cursor()
                copy = stack.enter_context(cursor.copy(sql, writer=QueuedLibpqWriter(cursor)))
                copy.write(_HEADER)
            copy.write(binary_rows(table, fixed, batch))
            done += len(batch)
            if on_batch:
                on_batch(done)
        if copy is not None:
            copy.write(_TRAILER)
    return done


# ------------------------------------------------------------- binary COPY
#
# PostgreSQL's binary COPY: a header, then per row a 16-bit field count and per
# field a 32-bit length (-1: NULL) and the value in the type's binary form (big
# endian); a 16-bit -1 ends it. The server then parses no text (floats, dates,
# quoting): 1,000,000 positions went 1.3-1.4x faster than as CSV, about as fast
# as ADBC's driver (benchmarks/wire_formats.py), with no driver to add. The rows
# are made by numpy and Arrow kernels, no Python loop over rows: the fields are
# Arrow binary arrays joined element-wise, as few as the columns allow (see
# ``_Row``: one array per field made the rows cost 0.65 s of CPU per 1,000,000,
# a third of what the server spends storing them).

_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
_TRAILER = b"\xff\xff"
_PG_EPOCH = 10957  # 2000-01-01, PostgreSQL's day 0, in days since 1970-01-01


def binary_rows(table, fixed: Mapping[str, Any], batch: pa.RecordBatch) -> memoryview:
    """The batch's rows in binary COPY form, columns in ``wire_order``."""
    n = len(batch)
    row = _Row(n)
    row.add(struct.pack(">h", len(fixed) + batch.num_columns) + b"".join(
        _constant_field(table.c[name].type, value) for name, value in fixed.items()))
    for name in wire_order(table, {}, batch.schema.names):
        kind, column = table.c[name].type, batch.column(name)
        if column.null_count == n:
            row.add(_NULL)
        elif _fixed_width_type(kind):
            values = _values(kind, column)
            if column.null_count:
                row.add_array(_fixed_width(values, column.is_valid().to_numpy(zero_copy_only=False)))
            else:
                row.add(struct.pack(">i", values.dtype.itemsize), values)
        else:
            text = column.cast(pa.binary())
            row.add(pc.binary_length(text).fill_null(-1).to_numpy().astype(">i4"))
            row.add_array(text.fill_null(b""))
    rows = row.join()
    offsets = np.frombuffer(rows.buffers()[1], np.int32)[rows.offset:rows.offset + n + 1]
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[n]]


class _Row:
    """A row's fields as the arrays ``binary_join_element_wise`` joins: runs of
    fields of one width on every row (constants, numbers with no NULL, lengths)
    go into one array, made as an (n, width) byte matrix; the rest (text, numbers
    with some NULLs) are arrays of their own."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.arrays: list[pa.Array] = []
        self._run: list[bytes | np.ndarray] = []  # bytes: the same on every row

    def add(self, *parts: bytes | np.ndarray) -> None:
        self._run.extend(parts)

    def add_array(self, array: pa.Array) -> None:
        self._close_run()
        self.arrays.append(array)

    def join(self) -> pa.Array:
        self._close_run()
        if all(isinstance(a, pa.Scalar) for a in self.arrays):  # every field a constant
            self.arrays = [_same_width(np.frombuffer(b"".join(a.as_py() for a in self.arrays),
                                                     np.uint8)[None, :].repeat(self.n, 0))]
        if len(self.arrays) == 1:
            return self.arrays[0]
        return pc.binary_join_element_wise(*self.arrays, b"")

    def _close_run(self) -> None:
        if not self._run:
            return
        if all(isinstance(p, bytes) for p in self._run):  # the join repeats a scalar
            self.arrays.append(pa.scalar(b"".join(self._run), pa.binary()))
            self._run = []
            return
        widths = [len(p) if isinstance(p, bytes) else p.dtype.itemsize for p in self._run]
        cells = np.empty((self.n, sum(widths)), np.uint8)
        at = 0
        for part, width in zip(self._run, widths, strict=True):
            if isinstance(part, bytes):
                cells[:, at:at + width] = np.frombuffer(part, np.uint8)
            else:
                cells[:, at:at + width] = part.view(np.uint8).reshape(self.n, width)
            at += width
        self._run = []
        self.arrays.append(_same_width(cells))


_NULL = struct.pack(">i", -1)  # a NULL field: the length -1 and no value


def _constant_field(kind, value) -> bytes:
    if value is None:
        return _NULL
    if isinstance(kind, Date):
        return struct.pack(">ii", 4, value.toordinal() - date(2000, 1, 1).toordinal())
    if isinstance(kind, Float):
        return struct.pack(">id", 8, value)
    if isinstance(kind, Integer):
        return struct.pack(">ii", 4, value)
    data = str(value).encode()
    return struct.pack(">i", len(data)) + data


def _fixed_width_type(kind) -> bool:
    return isinstance(kind, (Float, Integer, Date))


def _values(kind, column: pa.Array) -> np.ndarray:
    """A number or date column's values in their binary COPY form (big endian)."""
    if isinstance(kind, Float):
        return column.cast(pa.float64()).fill_null(0).to_numpy().astype(">f8")
    if isinstance(kind, Integer):
        return column.cast(pa.int32()).fill_null(0).to_numpy().astype(">i4")
    # dates come as ISO text (as SQLite keeps them) or as dates
    days = column.cast(pa.date32()).cast(pa.int32()).fill_null(_PG_EPOCH).to_numpy()
    return (days - _PG_EPOCH).astype(">i4")


def _same_width(cells: np.ndarray) -> pa.Array:
    """A binary array of the rows of a byte matrix."""
    n, width = cells.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(cells.reshape(-1))])


def _fixed_width(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Binary array of each value's field: its 4-byte length and its bytes, or where
    ``valid`` is False a NULL (the length -1 alone)."""
    n, width = len(values), values.dtype.itemsize
    cells = np.empty((n, width + 4), np.uint8)
    cells[:, 4:] = values.view(np.uint8).reshape(n, width)
    cells[:, :4] = np.frombuffer(struct.pack(">i", width), np.uint8)
    cells[~valid, :4] = 0xFF
    keep = np.ones((n, width + 4), bool)
    keep[~valid, 4:] = False
    offsets = np.empty(n + 1, np.int32)
    offsets[0] = 0
    np.cumsum(np.where(valid, width + 4, 4), out=offsets[1:])
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(cells[keep])])
