"""The import contract every hostile-input test checks, in one place.

An import of any file either succeeds (possibly with row issues) or raises a
FolioError that names the file; a refusal, a failed import and an unchanged one
leave the store exactly as it was.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.store.db import get_engine
from folio.store.schema import POSITION_COLUMNS, portfolios, positions, snapshots


def table_rows(table) -> list[tuple]:
    """Every row of ``table``, sorted, comparable with ``==`` (positions without the
    id only SQLite has)."""
    columns = POSITION_COLUMNS if table is positions else table.columns
    with get_engine(get_settings()).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(*columns)).all())


def store_state() -> dict[str, list[tuple]]:
    """Every portfolio, snapshot and position row: what an import may write."""
    return {t.name: table_rows(t) for t in (portfolios, snapshots, positions)}


def import_under_contract(path: Path, portfolio: str = "P", **options):
    """Import ``path``; return the ImportResult or the FolioError, having checked the contract."""
    before = store_state()
    try:
        result = folio.import_file(path, portfolio, **options)
    except folio.FolioError as exc:
        # ExecutionError wraps an unexpected exception: a bug, not a clean refusal.
        assert not isinstance(exc, folio.ExecutionError), exc.fields.get("remote_traceback")
        assert exc.message
        assert exc.fields.get("file") == path.name, (exc.message, exc.fields)
        assert store_state() == before
        return exc
    assert result.status in ("succeeded", "partially_succeeded", "unchanged", "failed")
    if result.status in ("failed", "unchanged"):
        assert store_state() == before
    issues = result.issues
    if not issues.empty:
        assert issues["message"].map(bool).all()
        assert (issues["row"] >= 1).all()
    return result
