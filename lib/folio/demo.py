"""``folio demo``: the sample data end to end, as a newcomer first sees folio.

Owns the demo run: load the reference data, create the sample portfolios with
their base currencies, import every file listed in ``data/holdings/manifest.csv``
in date order, and print what happened. Running it again shows idempotency:
every import reports ``unchanged``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from folio import catalog
from folio.config import get_settings
from folio.errors import FolioError
from folio.execution.celery_backend import find_worker
from folio.execution.submit import submit_import
from folio.store.reference import load_reference


def read_manifest(data: Path) -> list[dict[str, str]]:
    """The sample files: file, portfolio, as_of (may be blank), base_currency."""
    with open(data / "holdings" / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return sorted(rows, key=lambda r: (r["as_of"], r["portfolio"]))


def run_demo(data: Path, via: str | None = None) -> int:
    settings = get_settings()
    print(f"folio demo: store {settings.describe()['store']}")
    if (via or settings.execution) == "auto":
        # Decide once for the whole demo rather than waiting for a worker per file.
        reason = find_worker(settings)
        via = "celery" if reason is None else "local"
        print(f"execution: {via}" + (f" ({reason}; start `folio worker` to use Celery)"
                                     if reason else " (a worker is running)"))
    loaded = load_reference(data / "reference")
    print("reference: " + ", ".join(f"{c['added'] + c['replaced'] + c['skipped']} {table}"
                                    for table, c in loaded.counts.items()))
    failures = 0
    for row in read_manifest(data):
        if row.get("base_currency"):
            catalog.create_portfolio(row["portfolio"], row["base_currency"])
        try:
            result = submit_import(data / "holdings" / row["file"], row["portfolio"],
                                   as_of=row.get("as_of") or None, via=via).result()
        except FolioError as exc:
            failures += 1
            print(f"{row['file']}: FAILED: {exc.message}")
            continue
        failures += not result.ok
        print(result.summary())
    print()
    print(catalog.portfolios().to_string(index=False))
    print("\nNext: folio imports  |  folio issues IMPORT_ID --csv  |  folio status IMPORT_ID --json")
    return 0 if failures == 0 else 1
