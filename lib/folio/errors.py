"""Typed errors: every failure a user can meet, with the fields that explain it.

Owns the exception hierarchy. Each error carries its facts as attributes (file,
row, column, value, import id, remote traceback...) so that notebooks, the CLI and
widgets can show or test them without parsing messages. ``to_dict`` gives the
fields for ``--json`` output.
"""

from __future__ import annotations

from typing import Any


class FolioError(Exception):
    """Base of every error folio raises on purpose.

    Parameters
    ----------
    message
        One readable sentence naming what went wrong and where.
    **fields
        Facts about the failure (``file``, ``row``, ``column``, ``value``...), kept
        as attributes.
    """

    code = "folio_error"

    def __init__(self, message: str, wire_fields: dict[str, Any] | None = None, /,
                 **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        # ``wire_fields``: the fields as ``for_the_wire`` sent them, from which
        # Celery's result backend rebuilds the error as ``cls(*args)``.
        fields = {**(wire_fields or {}), **fields}
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """The error as plain JSON-friendly data."""
        out: dict[str, Any] = {"error": type(self).__name__, "code": self.code}
        out["message"] = self.message
        for key, value in self.fields.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def for_the_wire(self) -> FolioError:
        """This error with ``args`` of plain JSON, ``(message, fields)``, raised by a
        Celery task: the JSON result backend keeps an exception as its type,
        module and args, and the client's ``cls(*args)`` is then this error
        again, fields and all."""
        import json

        fields = json.loads(json.dumps(self.to_dict(), default=str))
        for key in ("error", "code", "message"):
            fields.pop(key, None)
        self.args = (self.message, fields)
        return self

    def __reduce__(self):  # keep fields across pickling (threads, processes)
        return (_rebuild, (type(self), self.message, self.fields))


def _rebuild(cls: type[FolioError], message: str, fields: dict[str, Any]) -> FolioError:
    return cls(message, **fields)


class ConfigError(FolioError):
    """A setting has a value folio cannot use."""

    code = "config"


class ReadError(FolioError):
    """A file cannot be read as a holdings table (fields: file, row, column, value)."""

    code = "read"


class FileTooLarge(ReadError):
    """A file is over the configured size limit (fields: file, size, limit)."""

    code = "too_large"


class MappingError(FolioError):
    """The header cannot be mapped to the required fields (fields: file, found, missing)."""

    code = "mapping"


class ValidationError(FolioError):
    """A whole-file rule is broken, such as several as-of dates (fields: file, column)."""

    code = "validation"


class Unvalued(FolioError):
    """``strict=True`` and some positions have no value (fields: positions, reasons,
    identifiers: the count, the count per reason, the first identifiers)."""

    code = "unvalued"


class StoreError(FolioError):
    """The portfolio store refused or failed a write (fields: import_id, url)."""

    code = "store"


class NotFound(FolioError):
    """An import, portfolio or mapping does not exist (fields: kind, key)."""

    code = "not_found"


class PathNotAllowed(FolioError):
    """A path lies outside the import roots (fields: path, roots)."""

    code = "path_not_allowed"


class ExecutionError(FolioError):
    """Running an import failed where it ran (fields: import_id, remote_traceback)."""

    code = "execution"


class ClaimLost(ExecutionError):
    """An import's claim was taken over before its write committed, which rolled back
    (fields: import_id, status, claimed_by: the record as it is now)."""

    code = "claim_lost"


class WorkerUnavailable(ExecutionError):
    """No broker or no worker answered in time (fields: broker, timeout)."""

    code = "worker_unavailable"


class JobTimeout(FolioError, TimeoutError):
    """A wait ran out before the job finished (fields: import_id, timeout)."""

    code = "timeout"
