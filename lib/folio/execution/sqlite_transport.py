"""The embedded broker: kombu's SQLAlchemy transport, polling ten times a second.

kombu polls SQL queues once a second and passes every transport option on to
``create_engine`` (so ``polling_interval`` cannot be set as an option there);
a subclass with a shorter interval is the smallest way to a fast round trip.
``sqla+`` broker URLs are routed here by ``celery_app``.
"""

from __future__ import annotations

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
