"""Settings: the only module that reads ``os.environ``.

Precedence, highest first: an explicit argument (``get_settings(home=...)``), the
innermost ``configure(...)`` context, a ``FOLIO_*`` environment variable, the
default. Everything else in folio asks ``get_settings()`` and never the
environment, so a notebook can point folio elsewhere with one call.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from folio.errors import ConfigError

PROJECT_DATA = Path(__file__).resolve().parents[2] / "data"
EXECUTION_MODES = ("auto", "celery", "local")


@dataclass(frozen=True)
class Settings:
    """Where folio keeps its data and how it runs imports.

    Attributes
    ----------
    home
        Folder for the embedded store, broker, uploads and logs (``FOLIO_HOME``).
    database_url
        SQLAlchemy URL of the store (``FOLIO_DATABASE_URL``); default a SQLite file
        under ``home``.
    broker_url, result_backend
        Celery broker and result backend (``FOLIO_BROKER_URL``,
        ``FOLIO_RESULT_BACKEND``); default SQLite files under ``home``.
    execution
        Default ``via`` of ``submit_import``: auto, celery or local (``FOLIO_EXECUTION``).
    import_roots
        Folders a worker may read files from (``FOLIO_IMPORT_ROOTS``, separated by
        ``os.pathsep``); default ``home/uploads`` and the project's ``data/``.
    output_roots
        Folders a worker may write files a task names, such as a dry run's
        ``missing_csv`` (``FOLIO_OUTPUT_ROOTS``, separated by ``os.pathsep``);
        default ``home/exports`` alone. Not the import roots: a worker must not
        write where it reads (uploads) nor into the project's samples. An
        import run in the user's own process writes wherever the user asks.
    max_file_mb
        Files larger than this are refused before reading (``FOLIO_MAX_FILE_MB``).
    auto_timeout
        Seconds ``via="auto"`` waits for a live worker (``FOLIO_AUTO_TIMEOUT``).
    queue_timeout
        Seconds a queued job may wait before it says no worker has taken it
        (``FOLIO_QUEUE_TIMEOUT``).
    queue
        Celery queue name (``FOLIO_QUEUE``).
    mv_tolerance
        Relative gap between market value and quantity x price before a warning
        (``FOLIO_MV_TOLERANCE``).
    stale_fx_days
        An FX rate older than this many days is flagged stale (``FOLIO_STALE_FX_DAYS``).
    stale_price_days
        A reference price older than this many days before the as-of date is
        flagged ``stale_price`` (``FOLIO_STALE_PRICE_DAYS``; default 31, so last
        month-end's price is not stale at this month-end, one older is).
    max_unvalued_share
        Above this share of positions without a value, concentration figures
        and limit checks are marked untrusted and no breach is reported
        (``FOLIO_MAX_UNVALUED_SHARE``, a fraction from 0 to 1).
    """

    home: Path
    database_url: str
    broker_url: str
    result_backend: str
    execution: str = "auto"
    import_roots: tuple[Path, ...] = ()
    output_roots: tuple[Path, ...] = ()
    max_file_mb: float = 1536.0
    auto_timeout: float = 1.0
    queue_timeout: float = 10.0
    queue: str = "folio"
    mv_tolerance: float = 0.01
    stale_fx_days: int = 7
    stale_price_days: int = 31
    max_unvalued_share: float = 0.05

    @property
    def uploads(self) -> Path:
        """Where files from outside the import roots are staged."""
        return self.home / "uploads"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    def describe(self) -> dict[str, str]:
        """The settings with every password masked, for logs and reprs."""
        return {
            "home": str(self.home),
            "store": mask_url(self.database_url),
            "broker": mask_url(self.broker_url),
            "result_backend": mask_url(self.result_backend),
            "execution": self.execution,
            "queue": self.queue,
        }

    def __repr__(self) -> str:
        # The dataclass repr would show every URL whole, password and all.
        shown = (f"{f.name}={mask_url(getattr(self, f.name))!r}" if f.name in _URL_FIELDS
                 else f"{f.name}={getattr(self, f.name)!r}" for f in fields(self))
        return f"Settings({', '.join(shown)})"

    def redact(self, text: str) -> str:
        """``text`` with every password masked: see ``redact``, for these settings' URLs."""
        return redact(text, *(getattr(self, name) for name in _URL_FIELDS))


_ENV = {
    "home": "FOLIO_HOME",
    "database_url": "FOLIO_DATABASE_URL",
    "broker_url": "FOLIO_BROKER_URL",
    "result_backend": "FOLIO_RESULT_BACKEND",
    "execution": "FOLIO_EXECUTION",
    "import_roots": "FOLIO_IMPORT_ROOTS",
    "output_roots": "FOLIO_OUTPUT_ROOTS",
    "max_file_mb": "FOLIO_MAX_FILE_MB",
    "auto_timeout": "FOLIO_AUTO_TIMEOUT",
    "queue_timeout": "FOLIO_QUEUE_TIMEOUT",
    "queue": "FOLIO_QUEUE",
    "mv_tolerance": "FOLIO_MV_TOLERANCE",
    "stale_fx_days": "FOLIO_STALE_FX_DAYS",
    "stale_price_days": "FOLIO_STALE_PRICE_DAYS",
    "max_unvalued_share": "FOLIO_MAX_UNVALUED_SHARE",
}
_NAMES = {f.name for f in fields(Settings)}
assert set(_ENV) == _NAMES, "every setting has its FOLIO_* variable"
_overrides: list[dict[str, Any]] = []
_lock = threading.Lock()


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("folio", appauthor=False))


def _coerce(name: str, value: Any) -> Any:
    try:
        if name == "home":
            return Path(value).expanduser().resolve()
        if name in ("import_roots", "output_roots"):
            if isinstance(value, str):
                value = [p for p in value.split(os.pathsep) if p]
            return tuple(Path(p).expanduser().resolve() for p in value)
        if name in ("max_file_mb", "auto_timeout", "queue_timeout", "mv_tolerance"):
            out = float(value)
            if out < 0:
                raise ValueError("must not be negative")
            return out
        if name in ("stale_fx_days", "stale_price_days"):
            return int(value)
        if name == "max_unvalued_share":
            out = float(value)
            if not 0 <= out <= 1:
                raise ValueError("must be a share from 0 to 1")
            return out
        if name == "execution":
            if value not in EXECUTION_MODES:
                raise ValueError(f"must be one of {', '.join(EXECUTION_MODES)}")
        return value
    except (TypeError, ValueError) as exc:
        env = _ENV.get(name, name)
        raise ConfigError(
            f"setting {name} ({env}) = {value!r}: {exc}", setting=name, value=str(value)
        ) from None


def embedded_urls(home: Path) -> dict[str, str]:
    """The store, broker and result backend under ``home``: SQLite files, no server."""
    return {"database_url": f"sqlite:///{(home / 'folio.db').as_posix()}",
            "broker_url": f"sqla+sqlite:///{(home / 'broker.db').as_posix()}",
            "result_backend": f"db+sqlite:///{(home / 'results.db').as_posix()}"}


def _render(value: Any) -> str:
    if isinstance(value, tuple):  # folders, as FOLIO_IMPORT_ROOTS lists them
        return os.pathsep.join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)  # repr: every digit


def as_environment(settings: Settings) -> dict[str, str]:
    """Every setting as its ``FOLIO_*`` variable: the environment in which
    ``get_settings()`` gives these very settings (how a child worker gets them)."""
    return {env: _render(getattr(settings, name)) for name, env in _ENV.items()}


def get_settings(**arguments: Any) -> Settings:
    """The settings in force: arguments > configure() > FOLIO_* variables > defaults."""
    unknown = set(arguments) - _NAMES
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}", setting=None)
    raw: dict[str, Any] = {}
    for name, env in _ENV.items():
        if os.environ.get(env):
            raw[name] = os.environ[env]
    with _lock:
        for layer in _overrides:
            raw.update(layer)
    raw.update({k: v for k, v in arguments.items() if v is not None})
    values = {name: _coerce(name, value) for name, value in raw.items()}
    home = values.setdefault("home", _default_home())
    for name, url in embedded_urls(home).items():
        values.setdefault(name, url)
    if "import_roots" not in values:
        roots = [home / "uploads"]
        if PROJECT_DATA.is_dir():
            roots.append(PROJECT_DATA)
        values["import_roots"] = tuple(roots)
    values.setdefault("output_roots", (home / "exports",))
    return Settings(**values)


@contextlib.contextmanager
def _popping(layer: dict[str, Any]) -> Iterator[Settings]:
    try:
        yield get_settings()
    finally:
        with _lock:
            if layer in _overrides:
                _overrides.remove(layer)


def configure(**overrides: Any):
    """Override settings for this process, e.g. ``folio.configure(home="/tmp/x")``.

    Takes effect at once. Used as ``with folio.configure(...):`` the overrides last
    until the block ends; otherwise until ``reset_configuration()``.
    """
    unknown = set(overrides) - _NAMES
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}", setting=None)
    for name, value in overrides.items():
        _coerce(name, value)  # fail now, not at first use
    layer = {k: v for k, v in overrides.items() if v is not None}
    with _lock:
        _overrides.append(layer)
    return _popping(layer)


def reset_configuration() -> None:
    """Drop every ``configure`` override."""
    with _lock:
        _overrides.clear()


def with_settings(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with some fields changed (coerced as usual)."""
    return replace(settings, **{k: _coerce(k, v) for k, v in changes.items()})


_URL_FIELDS = ("database_url", "broker_url", "result_backend")
MASK = "***"


def _url_scheme(text: str) -> str | None:
    """The scheme if ``text`` starts as a URL with an authority (``scheme://``), else None."""
    try:
        scheme = urlsplit(text).scheme
    except ValueError:  # urllib refuses some malformed hosts ("[" unclosed): judge by hand
        scheme = text.partition(":")[0].lower()
    head = text[:len(scheme)]
    if (scheme and head.lower() == scheme and text[len(scheme):].startswith("://")
            and head[0].isalpha() and all(c.isalnum() or c in "+-." for c in head)):
        return head
    return None


def _password_span(url: str) -> tuple[int, int] | None:
    """Where the password of a ``scheme://`` URL lies (start, end), or None if it has none.

    A password with an unencoded ``@``, ``/``, ``#`` or ``?`` is read differently
    by every parser: SQLAlchemy's ``make_url`` ends it at the first ``@``,
    urllib ends the whole authority at the first ``/``, ``?`` or ``#``, and
    kombu and redis-py follow urllib. Any of them starts the password after the
    first ``:`` of the user info (no parser lets a user name hold ``:``) and
    ends it at some ``@``; so the span from that ``:`` to the URL's last ``@``
    holds every reading. Masking it may hide more than the password (an ``@``
    in a query string), never less.
    """
    scheme = _url_scheme(url)
    if scheme is None:
        return None
    start = len(scheme) + 3
    at = url.rfind("@", start)
    if at < 0:
        return None  # no user info, so no password
    user, colon, _ = url[start:at].partition(":")
    if not colon or "/" in user:
        # No ":" before the last "@": a user name alone. A "/" before the ":":
        # the authority ended there for every parser, so what follows is a path.
        return None
    begin = start + len(user) + 1
    return begin, at


def _password(url: str) -> str | None:
    span = _password_span(str(url))
    return None if span is None else str(url)[span[0]:span[1]]


def mask_url(text: str) -> str:
    """Passwords masked: ``redis://user:secret@host`` -> ``redis://user:***@host``.

    ``text`` is a URL (masked whole, even if its password holds spaces), or a
    message that may name URLs among its words (each word that holds a URL is
    masked). Text without a URL is returned unchanged. See ``Settings.redact``
    for messages that may quote a known password outside a URL.
    """
    text = str(text)
    if _url_scheme(text) is not None:
        return _mask_one(text)
    if "://" not in text:
        return text
    words = text.split(" ")
    for index, word in enumerate(words):
        marker = word.find("://")
        if marker < 0:
            continue
        start = marker  # back from "://" over the scheme's characters
        while start > 0 and (word[start - 1].isalnum() or word[start - 1] in "+-."):
            start -= 1
        words[index] = word[:start] + _mask_one(word[start:])
    return " ".join(words)


def _mask_one(url: str) -> str:
    span = _password_span(url)
    if span is None:
        return url
    return url[:span[0]] + MASK + url[span[1]:]


# A library that misreads a URL (an unencoded "@" in the password) prints part
# of the password as a host, port or path: "failed to resolve host 'Qx7@db'".
_RESERVED = "@:/#?[] "
MIN_PIECE = 3  # shorter pieces of a password cannot be told from ordinary text


def redact(text: str, *urls: str) -> str:
    """``text`` (a library's error message, say) with the passwords of ``urls`` masked.

    Every URL in ``text`` is masked (``mask_url``); then each of these URLs'
    passwords is masked wherever it appears, whole, percent-decoded, or as a
    piece between the characters that end a host, port or path (pieces of at
    least ``MIN_PIECE`` characters), since a library that misread the URL may
    quote just such a piece.
    """
    text = mask_url(text)
    secrets: set[str] = set()
    for url in urls:
        password = _password(str(url))
        if not password:
            continue
        for whole in (password, unquote(password)):
            secrets.add(whole)
            pieces = [whole]
            for mark in _RESERVED:
                pieces = [part for piece in pieces for part in piece.split(mark)]
            secrets.update(p for p in pieces if len(p) >= MIN_PIECE)
    for secret in sorted(secrets, key=len, reverse=True):  # the longest first
        text = text.replace(secret, MASK)
    return text

