"""Shared fixtures: a fresh FOLIO_HOME per test, and the real services.

A test that needs PostgreSQL, Redis or RabbitMQ asks for it through
``service_url``. When the variable naming the service is unset, the test skips
and says which variable to set; when it is set (CI sets them all), an
unreachable service fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

import folio
from folio.store.db import dispose_all

from services import service_url

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
HOLDINGS = DATA / "holdings"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Every test gets its own FOLIO_HOME and none of the caller's FOLIO_* settings."""
    for key in list(os.environ):
        if key.startswith("FOLIO_") and not key.startswith("FOLIO_TEST_"):
            monkeypatch.delenv(key)
    path = tmp_path / "home"
    monkeypatch.setenv("FOLIO_HOME", str(path))
    # Tests of other things run in-process; the Celery suite asks for its modes.
    monkeypatch.setenv("FOLIO_EXECUTION", "local")
    folio.reset_configuration()
    yield path
    folio.reset_configuration()
    dispose_all()


@pytest.fixture(scope="session")
def postgres_admin_url():
    return service_url("postgresql")


@pytest.fixture
def postgres_url(postgres_admin_url):
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy as sa

    url = sa.engine.make_url(postgres_admin_url).set(drivername="postgresql+psycopg")
    name = f"folio_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_all()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, home, monkeypatch):
    """Run a test against the embedded SQLite store and against PostgreSQL."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("FOLIO_DATABASE_URL", url)
    return request.param


@pytest.fixture(params=["embedded+sqlite", "redis+postgresql"])
def celery_stack(request, monkeypatch):
    """A Celery stack with a queue of the test's own: the embedded broker and store,
    and Redis with PostgreSQL (what a team deploys). Returns its name."""
    monkeypatch.setenv("FOLIO_QUEUE", f"{request.node.name[:20]}-{uuid.uuid4().hex[:8]}")
    if request.param == "redis+postgresql":
        url = service_url("redis").rstrip("/") + "/0"
        monkeypatch.setenv("FOLIO_BROKER_URL", url)
        monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
        monkeypatch.setenv("FOLIO_DATABASE_URL", request.getfixturevalue("postgres_url"))
    return request.param


@pytest.fixture
def private_redis(tmp_path, monkeypatch):
    """A redis-server of the test's own (``faults.PrivateRedis``) as broker and backend."""
    from faults import PrivateRedis

    service_url("redis")  # CI sets FOLIO_TEST_REDIS_URL: Redis is there to test with
    server = PrivateRedis(tmp_path)
    monkeypatch.setenv("FOLIO_BROKER_URL", server.url)
    monkeypatch.setenv("FOLIO_RESULT_BACKEND", server.url)
    monkeypatch.setenv("FOLIO_QUEUE", f"private-{uuid.uuid4().hex[:8]}")
    folio.reset_configuration()
    yield server
    server.kill()


@pytest.fixture
def samples(tmp_path):
    """A private copy of data/ (tests may not change the checked-in samples)."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target)
    return target
