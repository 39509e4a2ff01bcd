"""How folio reaches a database result backend (``db+`` URLs, the embedded one included).

Owns ``ResultBackend``: Celery's database backend with one engine per database,
kept. Celery's own makes a new engine (a new connection, an empty statement
cache) for every read and write unless its process was forked: a client
waiting on a task read its state in 3 ms of CPU each time, a worker sent each
progress report in 7 ms (0.3 and 0.8 ms with the engine kept). An SQLite
result file's commits do not wait for the disk (``transports.unsynced``).
``db+`` result URLs are routed here by ``celery_worker``, as broker URLs are to
``transports``.
"""

from __future__ import annotations

from typing import Any

from celery.app.backends import BACKEND_ALIASES
from celery.backends.database import DatabaseBackend
from celery.backends.database.session import SessionManager
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from folio.execution.transports import routed, unsynced

ALIAS = "folio-db"


class KeptSessions(SessionManager):
    """Celery's session manager, keeping each database's engine and session
    factory in every process (Celery keeps them only in a forked child)."""

    def get_engine(self, dburi, **kwargs):
        engine = self._engines.get(dburi)
        if engine is None:
            engine = unsynced(create_engine(dburi, **kwargs))
            if self.engine_callback is not None:
                self.engine_callback(engine)
            self._engines[dburi] = engine
        return engine

    def create_session(self, dburi, short_lived_sessions=False, **kwargs):
        engine = self.get_engine(dburi, **kwargs)
        if short_lived_sessions or dburi not in self._sessions:
            self._sessions[dburi] = sessionmaker(bind=engine)
        return engine, self._sessions[dburi]

    def _after_fork(self) -> None:
        # A forked child (a prefork pool's) must not share its parent's connections.
        for engine in self._engines.values():
            engine.dispose(close=False)
        self._engines.clear()
        self._sessions.clear()


class ResultBackend(DatabaseBackend):
    """Celery's database result backend, its engines kept (``KeptSessions``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_manager = KeptSessions(engine_callback=self.session_manager.engine_callback)


BACKEND_ALIASES.setdefault(ALIAS, f"{__name__}:ResultBackend")


def backend_url(url: str) -> str:
    """``db+sqlite:///x.db`` -> the same database through ``ResultBackend``."""
    return routed(url, ("db+", "database+"), ALIAS)
