"""How folio connects to a broker URL, client and worker alike.

Owns the connection options per transport (Redis: socket timeouts, so a dead
server is said in seconds) and the embedded broker: kombu's SQLAlchemy
transport, looking for a message every POLLING_INTERVAL_S. kombu polls SQL
queues once a second and passes every transport option on to
``create_engine`` (so ``polling_interval`` cannot be set as an option there);
a subclass is the smallest way to a fast round trip. On SQLite it asks the
database whether anyone wrote since its last empty look (``Channel._get``)
before it queries the queue, so a short interval costs an idle worker less
than kombu's query ten times a second did. Its SQLite commits, as the
result backend's (``results``), do not wait for the disk (``unsynced``).

``sqla+`` broker URLs are routed here by ``celery_worker``.
"""

from __future__ import annotations

import sqlite3
import time
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Channel as _SQLChannel
from kombu.transport.sqlalchemy import Transport as _SQLTransport
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

# A message sent to an idle worker waited half of this on average before it
# was taken (at 0.1 s: 0.05 s added to every import through the embedded broker).
POLLING_INTERVAL_S = 0.02
# Another database's queue (no data version to watch) is queried at every look.
UNWATCHED_POLLING_S = 0.1
# However quiet the database says it is, each queue is queried at least this
# often (kombu's own interval): the broker file may be replaced under a worker.
FULL_POLL_S = 1.0
ALIAS = "folio-sqla"


def unsynced(engine: Engine) -> Engine:
    """``engine``, its SQLite commits not waiting for the disk (``synchronous=NORMAL``
    in WAL, as the store's): sending a task or a progress report then takes no
    fsync, which queued behind an import's writes. A crash of the machine may
    lose the last commits, never corrupt the file; the store stays the truth,
    and recovery sends again an import whose message was lost."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _normal_sync)
    return engine


def _normal_sync(dbapi_connection, _record) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class Channel(_SQLChannel):
    """kombu's SQL channel, skipping the query of a queue found empty while the
    SQLite database says nobody has written to it since (``PRAGMA data_version``,
    one read of shared memory on a connection kept open: the query takes
    SQLite's write lock and a transaction)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch: sqlite3.Connection | None = None
        self._empty: dict[str, tuple[int, float]] = {}  # queue: (data_version, when) found empty

    def _engine_from_config(self) -> Engine:
        return unsynced(super()._engine_from_config())

    def _data_version(self) -> int | None:
        """The database's data version, or None where it cannot be watched."""
        if self._watch is None:
            path = sqlite_file(self.connection.client.hostname)
            if path is None:
                return None
            self._watch = sqlite3.connect(path, timeout=30, check_same_thread=False)
        return self._watch.execute("PRAGMA data_version").fetchone()[0]

    def _get(self, queue: str) -> Any:
        version = self._data_version()  # before the query: a write during it is news
        empty = self._empty.get(queue)
        if (version is not None and empty is not None and empty[0] == version
                and time.monotonic() - empty[1] < FULL_POLL_S):
            raise Empty()
        try:
            return super()._get(queue)
        except Empty:
            self._empty[queue] = (version, time.monotonic())
            raise

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        super().close()


class Transport(_SQLTransport):
    Channel = Channel
    polling_interval = POLLING_INTERVAL_S

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        if sqlite_file(client.hostname) is None:
            self.polling_interval = UNWATCHED_POLLING_S


def sqlite_file(url: str) -> str | None:
    """The file of an SQLite database URL, else None (another database, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")


def routed(url: str, prefixes: tuple[str, ...], alias: str) -> str:
    """``url`` with the first of ``prefixes`` it starts with replaced by ``alias+``."""
    for prefix in prefixes:
        if url.startswith(prefix):
            return f"{alias}+{url[len(prefix):]}"
    return url


def broker_url(url: str) -> str:
    """``sqla+sqlite:///x.db`` -> the same database through this transport."""
    return routed(url, ("sqla+", "sqlalchemy+"), ALIAS)


def transport_options(url: str) -> dict[str, Any]:
    """Celery's and kombu's ``transport_options`` for a broker URL."""
    if url.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": 2, "socket_timeout": 10}
    return {}
