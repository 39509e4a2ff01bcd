"""Settings precedence: argument > configure() > FOLIO_* variable > default."""

from pathlib import Path

import pytest

import folio
from folio.config import get_settings, mask_url


def test_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("FOLIO_HOME", str(tmp_path / "env"))
    assert get_settings().home == tmp_path / "env"
    with folio.configure(home=tmp_path / "ctx"):
        assert get_settings().home == tmp_path / "ctx"
        assert get_settings(home=tmp_path / "arg").home == tmp_path / "arg"
    assert get_settings().home == tmp_path / "env"


def test_defaults_live_under_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FOLIO_HOME", str(tmp_path))
    s = get_settings()
    assert s.database_url == f"sqlite:///{(tmp_path / 'folio.db').as_posix()}"
    assert str(tmp_path) in s.broker_url and str(tmp_path) in s.result_backend
    assert s.uploads in s.import_roots


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("FOLIO_AUTO_TIMEOUT", "soon")
    with pytest.raises(folio.ConfigError, match="FOLIO_AUTO_TIMEOUT") as info:
        get_settings()
    assert info.value.setting == "auto_timeout"
    with pytest.raises(folio.ConfigError, match="unknown setting"):
        folio.configure(colour="blue")


def test_password_is_masked():
    assert mask_url("redis://u:secret@h:6379/0") == "redis://u:***@h:6379/0"
    assert "secret" not in str(get_settings(broker_url="amqp://g:secret@h//").describe())


def test_home_default_is_per_user(monkeypatch):
    monkeypatch.delenv("FOLIO_HOME")
    assert "folio" in Path(get_settings().home).parts[-1]


def test_every_setting_reaches_a_child_worker(tmp_path, monkeypatch):
    """``configure`` in a kernel changes what a worker it starts sees: every field,
    each set here to a value that is not its default."""
    import dataclasses
    import os

    from folio.execution.worker import worker_environment

    defaults = get_settings()
    changed = {}
    for i, field in enumerate(dataclasses.fields(folio.Settings)):
        value = getattr(defaults, field.name)
        if isinstance(value, Path):
            changed[field.name] = tmp_path / "changed" / field.name
        elif isinstance(value, tuple):
            changed[field.name] = (tmp_path / f"{field.name}-a", tmp_path / f"{field.name}-b")
        elif isinstance(value, float):
            changed[field.name] = value + 0.123456789  # every digit must arrive
        elif isinstance(value, int):
            changed[field.name] = value + 3
        elif field.name == "execution":
            changed[field.name] = "celery"
        else:  # URLs and the queue: text
            changed[field.name] = f"redis://127.0.0.1:6379/{i}"
    assert all(getattr(defaults, k) != v for k, v in changed.items())
    with folio.configure(**changed):
        env = worker_environment(get_settings())
    for key in list(os.environ):
        if key.startswith("FOLIO_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("FOLIO_"):
            monkeypatch.setenv(key, value)
    child = get_settings()  # what the worker's get_settings() builds from its environment
    assert {k: getattr(child, k) for k in changed} == changed
