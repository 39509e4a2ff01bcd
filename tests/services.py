"""The real services tests may use, and how a test asks for one.

When the variable naming a service is unset, the test skips and says which
variable to set; when it is set (CI sets them all), an unreachable service
fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

SERVICES = {
    "postgresql": ("FOLIO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    "redis": ("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
    "rabbitmq": ("FOLIO_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


def service_url(name: str) -> str:
    """The URL of a real service for this test, or skip/fail as explained above."""
    variable, example = SERVICES[name]
    url = os.environ.get(variable)
    if not url:
        pytest.skip(f"{name} tests need a server: set {variable} (e.g. {example})")
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{variable}={url} is set but {name} is unreachable: {exc}")
    return url
