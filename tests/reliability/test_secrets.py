"""Passwords in broker and database URLs never reach a message, a field, a
result, the store's records or ``--json`` output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import folio

from builders import TOTAL, english_csv
from faults import free_port

SECRET = "s3cret-Pa55"


@pytest.fixture
def holdings(tmp_path):
    return english_csv(tmp_path / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])


def _no_secret(*things) -> None:
    for thing in things:
        text = thing if isinstance(thing, str) else json.dumps(thing, default=str)
        assert SECRET not in text, text


@pytest.fixture
def dead_broker(monkeypatch):
    """A Redis URL with a password, where nothing listens."""
    url = f"redis://folio:{SECRET}@127.0.0.1:{free_port()}/0"
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


def test_cli_json_masks_passwords(holdings, dead_broker, monkeypatch):
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
                       f"postgresql://folio:{SECRET}@127.0.0.1:{free_port()}/folio")
    run = _cli("import", str(holdings), "--portfolio", "P", "--via", "local", "--json")
    assert run.returncode != 0
    _no_secret(run.stdout, run.stderr)
    payload = json.loads(run.stdout)
    assert payload["details"]["error"] == "StoreError" and "***" in payload["details"]["url"]
