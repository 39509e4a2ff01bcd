"""``submit_import``: turn a call into an import record and a running job.

Owns the choice of backend (a small registry by name, as joblib does it) and
what every submission does first whichever way it runs: check arguments,
create the import record so its id is valid at once, and wrap the backend's
handle in an ``ImportJob``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from folio.config import Settings, get_settings, mask_url
from folio.errors import ConfigError, ReadError, WorkerUnavailable
from folio.execution.jobs import Handle, ImportJob
from folio.execution.local import submit_local
from folio.execution.staging import stage
from folio.ingest.pipeline import ImportRequest, new_import_id
from folio.store import queries
from folio.store.db import get_engine, unreachable
from folio.store.schema import portfolios

# name -> function(request, settings) -> Handle. Running in-process is a backend
# like any other, not a flag.
Backend = Callable[[ImportRequest, Settings], Handle]


def submit_celery(request: ImportRequest, settings: Settings) -> Handle:
    from folio.execution.celery_app import send  # Celery loads only when used

    return send(request, settings)


BACKENDS: dict[str, Backend] = {"local": submit_local, "celery": submit_celery}
START_HINT = "start one with `folio worker` or folio.start_worker()"


def find_worker(settings: Settings) -> str | None:
    """None if a live worker serves the queue; else why not, within ``auto_timeout``."""
    import time

    from folio.execution.celery_app import broker_problem
    from folio.execution.worker import FRESH_S

    timeout = settings.auto_timeout
    # Stop looking a little before the bound, so the whole decision stays within it.
    deadline = time.monotonic() + timeout * 0.95
    problem = broker_problem(settings, timeout)
    if problem:
        return problem
    engine = get_engine(settings)
    while True:
        if queries.live_workers(engine, settings.queue, FRESH_S):
            return None
        if time.monotonic() >= deadline:
            return f"no worker answered in {timeout:.1f} s"
        time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


def register_backend(name: str, backend: Backend) -> None:
    BACKENDS[name] = backend


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
    dry_run: bool = False,
    base_currency: str | None = None,
    missing_csv: str | os.PathLike | None = None,
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
        ``"celery"`` (a worker; fails at once if none answers), ``"local"`` (a
        thread of this process) or ``"auto"`` (celery if a worker answers within
        ``auto_timeout``, else local, and the job says why); default
        ``FOLIO_EXECUTION``, itself ``auto`` by default.
    mapping
        ``{"file column": "field"}`` overriding the automatic match, or the name of
        a mapping saved with ``folio.save_mapping``.
    sheet
        XLSX sheet name; default the first sheet with a recognisable header.
    dry_run
        Read, map and validate only; the result previews what would be written.
    base_currency
        For a new portfolio; default the currency holding the largest value.
    missing_csv
        With ``dry_run``: write every instrument missing from the reference to
        this CSV (the result holds the first 100,000 and ``missing_total``).
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
    file = Path(path).expanduser()
    if not file.is_file():
        raise ReadError(f"{file}: no such file", file=str(file))
    if via not in (*BACKENDS, "auto"):
        raise ConfigError(f"via={via!r}: choose one of auto, {', '.join(sorted(BACKENDS))}",
                          setting="via", value=via)
    reason = None
    # A dry run asked of Celery needs a worker as a write does; ``auto`` runs one
    # here, since it writes nothing.
    if via == "celery" or (via == "auto" and not dry_run):
        problem = find_worker(settings)
        if via == "celery" and problem:
            raise WorkerUnavailable(f"cannot run the import on Celery: {problem}; {START_HINT}, "
                                    f"or use via='local'", broker=mask_url(settings.broker_url),
                                    timeout=settings.auto_timeout)
        via, reason = ("celery", None) if problem is None else ("local", problem)
    elif via == "auto":
        via = "local"  # a dry run writes nothing: no worker needed
    source = stage(file, settings) if via == "celery" else file.resolve()
    if base_currency:
        base_currency = base_currency.strip().upper()
    import_id = new_import_id()
    request = ImportRequest(
        path=str(source), portfolio=str(portfolio).strip(), as_of=_as_of(as_of),
        mapping=dict(mapping) if isinstance(mapping, Mapping) else mapping, sheet=sheet,
        dry_run=dry_run, import_id=import_id, via=via, base_currency=base_currency,
        file_name=file.name, task_id=import_id if via == "celery" else None,
        fallback_reason=reason,
        missing_csv=str(Path(missing_csv).expanduser().resolve()) if missing_csv else None,
    )
    if not dry_run:
        try:
            queries.create_import(get_engine(settings), import_id=request.import_id,
                                  portfolio=request.portfolio, file_name=request.file_name,
                                  file_path=request.path, via=via, task_id=request.task_id,
                                  fallback_reason=reason, request=request.to_json(),
                                  status="queued" if via == "celery" else "pending")
        except DBAPIError as exc:
            raise unreachable(exc, settings.database_url, file=file.name) from None
    try:
        handle = BACKENDS[via](request, settings)
    except WorkerUnavailable as exc:
        if not dry_run:
            queries.set_import(get_engine(settings), import_id, status="failed", error=exc.message,
                               finished_at=queries.now())
        raise
    job = ImportJob(request.import_id, handle, file=file.name, portfolio=request.portfolio,
                    via=via, dry_run=dry_run, task_id=request.task_id, fallback_reason=reason)
    if hasattr(handle, "on_finish"):
        handle.on_finish(job._fire)
    return job


def import_file(path: str | os.PathLike, portfolio: str, as_of: str | date | None = None,
                via: str | None = None, mapping: Mapping[str, str] | str | None = None,
                *, timeout: float | None = None, **options):
    """Import a file and wait for the ``ImportResult`` (``submit_import`` + ``result``)."""
    return submit_import(path, portfolio, as_of, via, mapping, **options).result(timeout)
