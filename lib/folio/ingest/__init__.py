"""The import pipeline: read, map, validate, store. Knows nothing of Celery."""

from folio.ingest.pipeline import ImportRequest, preflight, run_import

__all__ = ["ImportRequest", "preflight", "run_import"]
