"""``via="celery"`` before any message is sent: is there a worker, is there a broker.

Owns the backend that sends imports to Celery workers and the question it asks
first, ``find_worker``. A worker's heartbeat in the store is the answer to "is
a worker live" (on any transport, the embedded one included, which cannot
answer a remote ping), read at once; only when one is live is a networked
broker probed, within ``auto_timeout``. Celery itself loads only when an
import is really sent (``celery_client``), so ``import folio`` and an ``auto``
that runs locally never pay for it.
"""

from __future__ import annotations

import threading

from folio.config import Settings, mask_url
from folio.errors import WorkerUnavailable
from folio.execution.backends import Backend, Choice, Handle
from folio.ingest.pipeline import ImportRequest
from folio.store import queries
from folio.store.db import get_engine

START_HINT = "start one with `folio worker` or folio.start_worker()"


def find_worker(settings: Settings) -> str | None:
    """None if a worker with a fresh heartbeat serves the queue and its broker
    answers; else why not.

    With no live worker the answer is at once (one read of the store): there is
    nothing to wait for, since a worker writes its first heartbeat before it
    says it is ready. Only a networked broker is probed, within ``auto_timeout``.
    """
    from folio.execution.recovery import FRESH_S

    if not queries.live_workers(get_engine(settings), settings.queue, FRESH_S):
        return f"no worker live on queue {settings.queue!r}"
    return broker_problem(settings, settings.auto_timeout)


def broker_problem(settings: Settings, timeout: float) -> str | None:
    """Why the broker cannot be reached within ``timeout`` seconds, or None if it can."""
    url = settings.broker_url
    if url.startswith("sqla+sqlite"):
        return None  # a file under FOLIO_HOME: there whenever the store is
    # Loaded before the clock starts: the bound is the broker's, not an import's.
    from kombu import Connection

    from folio.execution.transports import transport_options

    outcome: list[str | None] = []

    def probe() -> None:
        try:
            with Connection(url, connect_timeout=timeout,
                            transport_options=transport_options(url)) as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                       timeout=timeout)
            outcome.append(None)
        except Exception as exc:
            outcome.append(settings.redact(f"{type(exc).__name__}: {exc}"))

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)  # the bound holds even if a client library ignores its timeout
    if not outcome:
        return f"no broker at {mask_url(url)} (no answer in {timeout:g} s)"
    return f"no broker at {mask_url(url)} ({outcome[0]})" if outcome[0] else None


class CeleryBackend(Backend):
    """``via="celery"``: a worker runs the import; fails at once if none is live."""

    name = "celery"
    remote = True

    def choose(self, settings: Settings, *, dry_run: bool) -> Choice:
        # A dry run asked of Celery needs a worker as a write does.
        problem = find_worker(settings)
        if problem:
            raise WorkerUnavailable(f"cannot run the import on Celery: {problem}; {START_HINT}, "
                                    f"or use via='local'", broker=mask_url(settings.broker_url),
                                    timeout=settings.auto_timeout)
        return Choice(self.name)

    def start(self, request: ImportRequest, settings: Settings) -> Handle:
        from folio.execution.celery_client import send  # Celery loads only when used

        return send(request, settings)
