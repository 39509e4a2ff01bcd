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
            self._sql = copy_sql(self.conn, table, list(self.fixed) + list(fields))
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


def copy_sql(conn: Connection, table, names: list[str], kind: str = "binary") -> str:
    quote = conn.dialect.identifier_preparer.quote
    return (f"COPY {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"FROM STDIN (FORMAT {kind})")


def copy_rows(raw, sql: str, table, fixed: Mapping[str, Any], batches,
              on_batch: Callable[[int], None] | None = None) -> int:
    """COPY record batches on a psycopg connection in the format ``sql`` names; return
    the rows. The COPY starts at the first batch: no batches, no statement."""
    from psycopg.copy import QueuedLibpqWriter

    binary = sql.endswith("(FORMAT binary)")
    done = 0
    with contextlib.ExitStack() as stack:
        copy = None
        for batch in batches:
            if copy is None:
                # Sent by psycopg's thread: the next batch's rows are made while
                # the server takes this one's (a plain write waits for the server).
                cursor = raw.cursor()
                copy = stack.enter_context(cursor.copy(sql, writer=QueuedLibpqWriter(cursor)))
                if binary:
                    copy.write(_HEADER)
            copy.write(_binary_rows(table, fixed, batch) if binary else _csv_rows(fixed, batch))
            done += len(batch)
            if on_batch:
                on_batch(done)
        if copy is not None and binary:
            copy.write(_TRAILER)
    return done


def _csv_rows(fixed: Mapping[str, Any], batch: pa.RecordBatch) -> memoryview:
    """Rows as CSV made by Arrow. Arrow quotes every string and leaves nulls unquoted
    and empty, which is exactly how PostgreSQL's CSV format tells NULL from ''."""
    import pyarrow.csv as pacsv

    constants = [pa.array([v.isoformat() if hasattr(v, "isoformat") else v] * len(batch))
                 for v in fixed.values()]
    out = pa.record_batch(constants + list(batch.columns),
                          names=list(fixed) + list(batch.schema.names))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(out, sink, pacsv.WriteOptions(include_header=False))
    return memoryview(sink.getvalue())


# ------------------------------------------------------------- binary COPY
#
# PostgreSQL's binary COPY: a header, then per row a 16-bit field count and per
# field a 32-bit length (-1: NULL) and the value in the type's binary form (big
# endian); a 16-bit -1 ends it. The server then parses no text (floats, dates,
# quoting): 1,000,000 positions went 1.3-1.4x faster than as CSV, about as fast
# as ADBC's driver (benchmarks/wire_formats.py), with no driver to add. Each column is made into one Arrow binary array
# of whole fields, by numpy and Arrow kernels, and the rows are the fields
# joined element-wise: no Python loop over rows.

_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
_TRAILER = b"\xff\xff"
_PG_EPOCH = 10957  # 2000-01-01, PostgreSQL's day 0, in days since 1970-01-01


def _binary_rows(table, fixed: Mapping[str, Any], batch: pa.RecordBatch) -> memoryview:
    n = len(batch)
    head = struct.pack(">h", len(fixed) + batch.num_columns) + b"".join(
        _constant_field(table.c[name].type, value) for name, value in fixed.items())
    fields = [part for name in batch.schema.names
              for part in _fields(table.c[name].type, batch.column(name))]
    rows = pc.binary_join_element_wise(pa.scalar(head, pa.binary()), *fields, b"")
    offsets = np.frombuffer(rows.buffers()[1], np.int32)[rows.offset:rows.offset + n + 1]
    return memoryview(rows.buffers()[2])[offsets[0]:offsets[n]]


def _constant_field(kind, value) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    if isinstance(kind, Date):
        return struct.pack(">ii", 4, value.toordinal() - date(2000, 1, 1).toordinal())
    if isinstance(kind, Float):
        return struct.pack(">id", 8, value)
    if isinstance(kind, Integer):
        return struct.pack(">ii", 4, value)
    data = str(value).encode()
    return struct.pack(">i", len(data)) + data


def _fields(kind, column: pa.Array) -> list[pa.Array]:
    """One column as whole binary COPY fields, one per row: one array, or for text
    the lengths and the values apart (joined with the rest of the row in one pass,
    not a copy of every text column first)."""
    if isinstance(kind, (Float, Integer, Date)):
        valid = column.is_valid().to_numpy(zero_copy_only=False)
        if isinstance(kind, Float):
            values = column.cast(pa.float64()).fill_null(0).to_numpy().astype(">f8")
        elif isinstance(kind, Integer):
            values = column.cast(pa.int32()).fill_null(0).to_numpy().astype(">i4")
        else:  # dates come as ISO text (as SQLite keeps them) or as dates
            days = column.cast(pa.date32()).cast(pa.int32()).fill_null(_PG_EPOCH).to_numpy()
            values = (days - _PG_EPOCH).astype(">i4")
        return [_fixed_width(values, valid)]
    text = column.cast(pa.binary())
    lengths = pc.binary_length(text).fill_null(-1).to_numpy().astype(">i4")
    return [_fixed_width(lengths, None, prefix=False), text.fill_null(b"")]


def _fixed_width(values: np.ndarray, valid: np.ndarray | None, prefix: bool = True) -> pa.Array:
    """Binary array of each value's bytes (after its 4-byte length when ``prefix``; a
    NULL where ``valid`` is False is the length -1 alone)."""
    n, width = len(values), values.dtype.itemsize
    size = width + 4 if prefix else width
    cells = np.empty((n, size), np.uint8)
    cells[:, size - width:] = values.view(np.uint8).reshape(n, width)
    if prefix:
        cells[:, :4] = np.frombuffer(struct.pack(">i", width), np.uint8)
    if valid is None or valid.all():
        data, lengths = cells.reshape(-1), None
    else:
        cells[~valid, :4] = 0xFF
        keep = np.ones((n, size), bool)
        keep[~valid, 4:] = False
        data, lengths = cells[keep], np.where(valid, size, 4)
    offsets = np.empty(n + 1, np.int32)
    offsets[0] = 0
    if lengths is None:
        offsets[1:] = np.arange(size, size * n + 1, size, dtype=np.int32)
    else:
        np.cumsum(lengths, out=offsets[1:])
    return pa.BinaryArray.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets),
                                                        pa.py_buffer(data)])
