"""How folio connects to a broker URL, client and worker alike.

Owns the connection options per transport (Redis: socket timeouts, so a dead
server is said in seconds) and the embedded broker: kombu's SQLAlchemy
transport, polling ten times a second. kombu polls SQL queues once a second
and passes every transport option on to ``create_engine`` (so
``polling_interval`` cannot be set as an option there); a subclass with a
shorter interval is the smallest way to a fast round trip. ``sqla+`` broker
URLs are routed here by ``celery_worker``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport.sqlalchemy import Transport as _SQLTransport

POLLING_INTERVAL_S = 0.1
ALIAS = "folio-sqla"


class Transport(_SQLTransport):
    polling_interval = POLLING_INTERVAL_S


TRANSPORT_ALIASES.setdefault(ALIAS, f"{__name__}:Transport")


def broker_url(url: str) -> str:
    """``sqla+sqlite:///x.db`` -> the same database through this transport."""
    for prefix in ("sqla+", "sqlalchemy+"):
        if url.startswith(prefix):
            return f"{ALIAS}+{url[len(prefix):]}"
    return url


def transport_options(url: str) -> dict[str, Any]:
    """Celery's and kombu's ``transport_options`` for a broker URL."""
    if url.startswith(("redis://", "rediss://")):
        return {"socket_connect_timeout": 2, "socket_timeout": 10}
    return {}
