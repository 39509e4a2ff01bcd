"""How folio connects to a broker URL, client and worker alike.

Owns the connection options per transport (Redis: socket timeouts, so a dead
server is said in seconds) and the embedded broker: kombu's SQLAlchemy
transport, polling ten times a second. kombu polls SQL queues once a second
and passes every transport option on to ``create_engine`` (so
``polling_interval`` cannot be set as an option there); a subclass with a
shorter interval is the smallest way to a fast round trip. Also ``unsynced``:
SQLite commits that do not wait for the disk (the result backend's, in
``results``). ``sqla+`` broker URLs are routed here by ``celery_worker``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as _SQLTransport
from sqlalchemy import event
from sqlalchemy.engine import Engine

POLLING_INTERVAL_S = 0.1
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


class Transport(_SQLTransport):
    polling_interval = POLLING_INTERVAL_S


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
