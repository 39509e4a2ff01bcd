"""``submit_import``: turn a call into an import record and a running job.

Owns what every submission does whichever way it runs: check arguments, ask
the backend named by ``via`` which backend runs the import (``auto`` chooses,
and says why), create the import record so its id is valid at once, and wrap
the running backend's handle in an ``ImportJob``. The built-in backends are
registered here (``BACKENDS``, ``register_backend``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from folio.catalog import check_portfolio_name
from folio.config import Settings, get_settings
from folio.errors import ConfigError, ExecutionError, ReadError, WorkerUnavailable
from folio.execution.backends import BACKENDS, Backend, Choice, get_backend, register_backend
from folio.execution.celery_backend import CeleryBackend, find_worker
from folio.execution.jobs import ImportJob
from folio.execution.local import LocalBackend
from folio.execution.staging import stage
from folio.ingest.parse import check_mark
from folio.ingest.pipeline import ImportRequest, new_import_id
from folio.store import queries
from folio.store.db import get_engine, unreachable
from folio.store.schema import portfolios

__all__ = ["BACKENDS", "import_file", "register_backend", "submit_import"]


class AutoBackend(Backend):
    """``via="auto"``: Celery if a worker is live, else this process, saying why."""

    name = "auto"

    def choose(self, settings: Settings, *, dry_run: bool) -> Choice:
        if dry_run:
            return Choice("local")  # a dry run writes nothing: no worker needed
        problem = find_worker(settings)
        return Choice("celery") if problem is None else Choice("local", problem)

    def start(self, request: ImportRequest, settings: Settings):
        raise ExecutionError("via='auto' only chooses; the backend it chose runs the import")


register_backend("local", LocalBackend())
register_backend("celery", CeleryBackend())
register_backend("auto", AutoBackend())


def _as_of(value: str | date | datetime | None) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise ConfigError(f"as_of={value!r} is not a date (use YYYY-MM-DD)",
                          setting="as_of", value=str(value)) from None


def submit_import(
    path: str | os.PathLike,
    portfolio: str,
    as_of: str | date | None = None,
    via: str | None = None,
    mapping: Mapping[str, str] | str | None = None,
    *,
    sheet: str | None = None,
    preset: str | None = None,
    constants: Mapping[str, str] | None = None,
    dry_run: bool = False,
    base_currency: str | None = None,
    missing_csv: str | os.PathLike | None = None,
    file_name: str | None = None,
    new_portfolio: bool = False,
    portfolio_per_account: bool = False,
    decimal: str | None = None,
    settings: Settings | None = None,
) -> ImportJob:
    """Start importing a holdings file; return an ``ImportJob`` at once.

    Parameters
    ----------
    path
        A CSV or XLSX holdings file.
    portfolio
        The portfolio the file's positions belong to.
    as_of
        The snapshot date; optional when the file has a single as-of date column.
    via
        ``"celery"`` (a worker; fails at once if none is live), ``"local"`` (a
        thread of this process), ``"auto"`` (celery if a worker has a fresh
        heartbeat, decided at once, else local, and the job says why) or any
        name given to ``register_backend``; default ``FOLIO_EXECUTION``, itself
        ``auto`` by default.
    mapping
        ``{"file column": "field"}`` overriding the automatic match, or the name of
        a mapping saved with ``folio.save_mapping``.
    sheet
        XLSX sheet name; default the first sheet with a recognisable header.
    preset
        The name of a preset (``folio.presets()``, or a saved mapping) to read the
        file with: to choose one when the file's header matches several, or to
        force one whose signature the header does not match.
    constants
        With a ``mapping`` dict: ``{"field": "value"}`` for what the file does not
        say (``{"currency": "XOF"}``).
    dry_run
        Read, map and validate only; the result previews what would be written.
    base_currency
        For a new portfolio; default the currency holding the largest value.
    missing_csv
        With ``dry_run``: write every instrument missing from the reference to
        this CSV (the result holds the first 100,000 and ``missing_total``).
    file_name
        The file's name as the user knows it, for messages and the import's
        record (default the name of ``path``): an upload is kept under a
        hashed name the user never chose.
    new_portfolio
        Create ``portfolio`` even though it differs from an existing one only by
        case or accents (refused otherwise: ``did you mean TRESO-SN?``).
    portfolio_per_account
        Write each account the file names (an account column, or the title line
        above each account's block) to a portfolio of its own, ``PORTFOLIO-ACCOUNT``
        (rows with no account go to ``portfolio``), all in one transaction; the
        result's ``portfolios`` says which.
    decimal
        The file's decimal mark, ``","`` or ``"."``, over the one folio detects (and
        a preset's). Needed only where nothing in the file tells: every number a
        ``655.957`` or a ``1,500``, which the delimiter's convention then reads
        (an ``ambiguous_decimal`` warning says so).
    """
    settings = settings or get_settings()
    via = via or settings.execution
    if not str(portfolio or "").strip():
        raise ConfigError("portfolio must be a non-empty name", setting="portfolio", value=portfolio)
    limit = portfolios.c.name.type.length  # the store's: PostgreSQL refuses a longer name
    if len(str(portfolio).strip()) > limit:
        raise ConfigError(f"portfolio name is {len(str(portfolio).strip()):,} characters, over "
                          f"the limit of {limit}", setting="portfolio",
                          value=str(portfolio).strip()[:limit] + "...", limit=limit)
    check_mark(decimal)
    file = Path(path).expanduser()
    if not file.is_file():
        raise ReadError(f"{file}: no such file", file=str(file))
    try:
        check_portfolio_name(portfolio, new_portfolio=new_portfolio, settings=settings)
    except DBAPIError as exc:
        raise unreachable(exc, settings.database_url, file=file.name) from None
    choice = get_backend(via).choose(settings, dry_run=dry_run)
    via, reason = choice.via, choice.reason
    runner = get_backend(via)
    source = stage(file, settings) if runner.remote else file.resolve()
    if base_currency:
        base_currency = base_currency.strip().upper()
    import_id = new_import_id()
    request = ImportRequest(
        path=str(source), portfolio=str(portfolio).strip(), as_of=_as_of(as_of),
        mapping=dict(mapping) if isinstance(mapping, Mapping) else mapping, sheet=sheet,
        preset=str(preset).strip() if preset else None,
        constants=dict(constants) if constants else None,
        dry_run=dry_run, import_id=import_id, via=via, base_currency=base_currency,
        file_name=file_name or file.name, task_id=import_id if runner.remote else None,
        fallback_reason=reason,
        missing_csv=str(Path(missing_csv).expanduser().resolve()) if missing_csv else None,
        portfolio_per_account=bool(portfolio_per_account), decimal=decimal,
    )
    if not dry_run:
        try:
            queries.create_import(get_engine(settings), import_id=request.import_id,
                                  portfolio=request.portfolio, file_name=request.file_name,
                                  file_path=request.path, via=via, task_id=request.task_id,
                                  fallback_reason=reason, request=request.to_json(),
                                  status="queued" if runner.remote else "pending")
        except DBAPIError as exc:
            raise unreachable(exc, settings.database_url, file=request.file_name) from None
    try:
        handle = runner.start(request, settings)
    except WorkerUnavailable as exc:
        if not dry_run:
            queries.mark_failed(get_engine(settings), import_id, exc.message)
        raise
    job = ImportJob(request.import_id, handle, file=request.file_name, portfolio=request.portfolio,
                    via=via, dry_run=dry_run, task_id=request.task_id, fallback_reason=reason)
    handle.on_finish(job._fire)
    return job


def import_file(path: str | os.PathLike, portfolio: str, as_of: str | date | None = None,
                via: str | None = None, mapping: Mapping[str, str] | str | None = None,
                *, timeout: float | None = None, **options):
    """Import a file and wait for the ``ImportResult`` (``submit_import`` + ``result``)."""
    return submit_import(path, portfolio, as_of, via, mapping, **options).result(timeout)
