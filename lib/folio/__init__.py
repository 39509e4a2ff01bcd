"""folio: import portfolio holdings files and analyse them from a notebook.

The whole public surface, grouped::

    # import
    job = folio.submit_import("holdings.csv", portfolio="TRESO-SN")   # an ImportJob, at once
    result = folio.import_file("holdings.csv", portfolio="TRESO-SN")  # wait for the result
    folio.save_mapping("custodian-x", {"Code valeur": "identifier", ...})
    folio.load_reference("rates/")       # instruments, FX rates, prices: CSV, XLSX, ECB files
    folio.add_fx_rate("EUR", "USD", 1.0837, "2024-01-31"); folio.add_price(isin, 99.5, day)

    # the store
    folio.portfolios(); folio.positions("TRESO-SN"); folio.imports(); folio.get_import(id)
    folio.create_portfolio("TRESO-SN", base_currency="XOF")
    folio.set_base_currency("TRESO-SN", "EUR")      # change an existing one's

    # settings
    folio.configure(home="/tmp/folio")   # or FOLIO_HOME, FOLIO_DATABASE_URL, ...
"""

import sys

from folio import analytics
from folio.catalog import (
    create_portfolio,
    get_import,
    imports,
    mappings,
    portfolios,
    positions,
    presets,
    save_mapping,
    set_base_currency,
)
from folio.config import Settings, configure, get_settings, reset_configuration
from folio.errors import (
    ConfigError,
    ExecutionError,
    FolioError,
    JobTimeout,
    MappingError,
    NotFound,
    ReadError,
    StoreError,
    ValidationError,
    WorkerUnavailable,
)
from folio.execution.jobs import ImportJob
from folio.execution.submit import import_file, submit_import
from folio.result import ImportResult
from folio.store.reference import add_fx_rate, add_price, load_reference


def progress(job, **options):
    """Show an import's progress: a live widget in a kernel, a text bar elsewhere."""
    from folio.widgets.progress import progress as show

    return show(job, **options)


def _show_job(job) -> None:
    # In a kernel a job displays as its live bar. Registered with IPython here,
    # so execution/ never imports the widgets (loaded at the first display).
    progress(job, notebook=True)


def _register_display() -> None:
    ipython = sys.modules.get("IPython")  # a kernel has imported it before folio
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is not None:
        shell.display_formatter.ipython_display_formatter.for_type(ImportJob, _show_job)


_register_display()


def start_worker(**options):
    """Start a solo Celery worker tied to this process; returns a handle (``.stop()``)."""
    from folio.execution.worker import start_worker as start

    return start(**options)


__version__ = "0.1.0"

__all__ = [
    # import
    "submit_import", "import_file", "ImportJob", "ImportResult", "save_mapping", "mappings",
    "presets", "load_reference", "add_fx_rate", "add_price", "progress", "start_worker",
    # analysis (folio.analytics: value_snapshot, exposure, stress, report, ...)
    "analytics",
    # the store
    "portfolios", "positions", "imports", "get_import", "create_portfolio",
    "set_base_currency",
    # settings
    "configure", "get_settings", "reset_configuration", "Settings",
    # errors
    "FolioError", "ConfigError", "ReadError", "MappingError", "ValidationError", "StoreError",
    "NotFound", "ExecutionError", "WorkerUnavailable", "JobTimeout",
]
