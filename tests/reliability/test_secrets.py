"""Passwords in broker and database URLs never reach a message, a field, a
result, the store's records, a repr, the worker's banner or ``--json`` output,
whatever characters they hold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

import folio
from folio.config import mask_url, redact

from builders import TOTAL, english_csv
from faults import free_port

SECRET = "s3cret-Pa55"
# Passwords as people write them in a URL, unencoded; each piece between the
# characters that end a host, port or path is distinctive, so none may show.
HOSTILE = ["Zk9@Qx7", "Zk9:Qx7", "Zk9/Qx7", "Zk9#Qx7", "Zk9?Qx7", "Zk9%40Qx7",
           "Zk9@Qx7:Wm4/Yh6#Rt5%40Pq3?Lb2", "Zk9 Qx7", "@Zk9@", "Zk9[Qx7]"]
PIECES = ("Zk9", "Qx7", "Wm4", "Yh6", "Rt5", "Pq3", "Lb2", "s3cret", "Pa55")


@pytest.fixture
def holdings(tmp_path):
    return english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])


def _no_secret(*things) -> None:
    for thing in things:
        text = thing if isinstance(thing, str) else json.dumps(thing, default=str)
        for piece in PIECES:
            assert piece not in text, text


@pytest.mark.parametrize("scheme", ["redis", "postgresql+psycopg", "amqp", "sqla+redis"])
@pytest.mark.parametrize("password", HOSTILE, ids=range(len(HOSTILE)))
def test_mask_url_hides_every_password_whole(scheme, password):
    url = f"{scheme}://folio:{password}@db.example:6379/0"
    expected = f"{scheme}://folio:***@db.example:6379/0"
    assert mask_url(url) == expected
    _no_secret(mask_url(url))
    # Whatever the parsers libraries use read as the password is gone too.
    with_parsers = []
    for parse in (lambda: urlsplit(url).password, lambda: make_url(url).password):
        try:
            with_parsers.append(parse())
        except ValueError:  # this parser cannot read the URL at all
            pass
    for reading in filter(None, with_parsers):
        assert str(reading) not in mask_url(url)
    if " " not in password:  # a sentence is split at spaces; see redact for the rest
        sentence = f"Error 111 connecting to {url}. Connection refused."
        assert mask_url(sentence) == f"Error 111 connecting to {expected}. Connection refused."


@pytest.mark.parametrize("text", [
    "", "plain words", "C:\\Users\\a@b\\h.csv", "sqlite:////home/a@b:c/folio.db",
    "sqla+sqlite:////tmp/broker.db", "mail me at a@b.c: soon", "redis://127.0.0.1:6379/0",
    "postgresql://folio@db.example/folio", "redis://db.example/0?note=a:b@c",
    "see https://example.com/x:y@z", "::@//"])
def test_text_without_a_password_is_unchanged(text):
    assert mask_url(text) == text


def test_settings_repr_str_and_describe_mask_every_url():
    urls = {"database_url": "postgresql://folio:Zk9@Qx7@db.example:5432/folio",
            "broker_url": "redis://:Wm4@Yh6#x@broker.example:6379/0",
            "result_backend": "redis://folio:Rt5/Pq3@broker.example:6379/1"}
    settings = folio.get_settings(**urls)
    for shown in (repr(settings), str(settings), settings.describe()):
        _no_secret(shown)
    assert repr(settings).count("***") == 3
    assert "db.example:5432/folio" in repr(settings) and "import_roots=" in repr(settings)


def test_redact_masks_a_password_a_library_quotes_outside_its_url():
    url = "postgresql://folio:Zk9@Qx7:Wm4 Yh6@db.example:5432/folio"
    messages = ["failed to resolve host 'Qx7:Wm4 Yh6@db.example'",
                f"invalid port 'Wm4' in {url}", "password Zk9@Qx7:Wm4 Yh6 refused",
                "authentication failed for Zk9%40Qx7"]
    for message in messages:
        _no_secret(redact(message, url, "redis://folio:Zk9%40Qx7@h/0"))
    assert redact("nothing secret here", url) == "nothing secret here"


@pytest.fixture(params=[SECRET, "s3cret@Pa55", "s3cret@Pa55:Zk9/Qx7#Wm4"],
                ids=["plain", "at", "reserved"])
def password(request):
    return request.param


@pytest.fixture
def dead_broker(monkeypatch, password):
    """A Redis URL with a password, where nothing listens."""
    url = f"redis://folio:{password}@127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("FOLIO_BROKER_URL", url)
    monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    monkeypatch.setenv("FOLIO_AUTO_TIMEOUT", "1")
    folio.reset_configuration()
    return url


def test_broker_password_is_masked_in_errors_results_and_records(holdings, dead_broker):
    with pytest.raises(folio.WorkerUnavailable) as failure:
        folio.submit_import(holdings, "P", via="celery")
    _no_secret(failure.value.message, failure.value.to_dict(), str(failure.value))
    assert "***" in failure.value.broker

    result = folio.import_file(holdings, "P", via="auto")
    assert result.via == "local" and result.fallback_reason
    _no_secret(result.fallback_reason, result.to_dict(), result.summary(), result._repr_html_())
    _no_secret(folio.imports().to_dict("records"))
    _no_secret(folio.get_settings().describe())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "folio.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_json_masks_passwords(holdings, dead_broker, monkeypatch, password):
    from folio.store import queries
    from folio.store.db import get_engine

    # A worker's heartbeat is fresh, so the (dead) broker is probed and named.
    settings = folio.get_settings()
    queries.beat(get_engine(settings), "elsewhere:1", settings.queue, "solo")
    for via in ("celery", "auto"):
        run = _cli("import", str(holdings), "--portfolio", "P", "--via", via, "--json")
        _no_secret(run.stdout, run.stderr)
        payload = json.loads(run.stdout)
        if via == "celery":
            assert payload["details"]["error"] == "WorkerUnavailable"
            assert "***" in payload["details"]["broker"]
        else:
            assert payload["via"] == "local" and "***" in payload["fallback_reason"]

    monkeypatch.setenv("FOLIO_DATABASE_URL",
                       f"postgresql://folio:{password}@127.0.0.1:{free_port()}/folio")
    run = _cli("import", str(holdings), "--portfolio", "P", "--via", "local", "--json")
    assert run.returncode != 0
    _no_secret(run.stdout, run.stderr)
    payload = json.loads(run.stdout)
    # SQLAlchemy cannot parse a password holding ":" then "/": a ConfigError, masked.
    assert payload["details"]["error"] in ("StoreError", "ConfigError")
    assert "***" in (payload["details"].get("url") or payload["details"]["value"])


def test_the_worker_banner_and_its_failure_mask_passwords(dead_broker, password, monkeypatch):
    monkeypatch.setenv("FOLIO_DATABASE_URL",
                       f"postgresql://folio:{password}@127.0.0.1:{free_port()}/folio")
    worker = subprocess.Popen([sys.executable, "-m", "folio.cli", "worker", "--pool", "solo"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        out, err = worker.communicate(timeout=90)  # the store cannot open: it stops
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        out, err = worker.communicate()
    _no_secret(out, err)
    assert "broker: redis://folio:***@127.0.0.1" in out
    assert "store: postgresql://folio:***@127.0.0.1" in out
    assert worker.returncode != 0
