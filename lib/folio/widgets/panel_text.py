"""The import panel's words: what a file states, the workers.

Owns the sentences the panel shows that are worked out from folio's state (not
from the widgets): what a file states before it is imported (its sheets, its
as-of date) and how many workers are live. An import's outcome is said by
``ImportResult.headline``, the one source of those words.
"""

from __future__ import annotations

from pathlib import Path

from folio.config import Settings
from folio.errors import FolioError, ReadError


def worker_text(settings: Settings) -> str:
    from folio.execution.recovery import FRESH_S
    from folio.store import queries
    from folio.store.db import get_engine

    try:
        live = queries.live_workers(get_engine(settings), settings.queue, FRESH_S)
    except FolioError as exc:
        return f"store unavailable: {exc.message}"
    return f"{len(live)} worker(s) live on queue {settings.queue!r}" if live else "no worker live"


def file_facts(path: Path, file_name: str, sheet: str | None) -> tuple[list[str], str]:
    """(sheets, what the file states) for a file about to be imported: an XLSX
    file's sheets, and the as-of date a title line or the name gives, else the
    first one of an as-of column. Reads the first block of the file only."""
    from folio.ingest.columns import ALIASES, normalise
    from folio.ingest.layout import file_as_of
    from folio.ingest.pipeline import ImportRequest, _preamble
    from folio.ingest.readers import read_blocks

    sheets: list[str] = []
    if path.suffix.lower() == ".xlsx":
        from python_calamine import CalamineWorkbook

        try:
            sheets = list(CalamineWorkbook.from_path(str(path)).sheet_names)
        except Exception as exc:  # calamine raises its own error types
            raise ReadError(f"{file_name}: cannot open the workbook: {exc}",
                            file=file_name) from None
    blocks = read_blocks(path, sheet=sheet or None, display_name=file_name)
    try:
        first = next(blocks)
    finally:
        blocks.close()
    preamble = first.preamble if first.preamble is not None else _preamble(
        ImportRequest(path=str(path), portfolio="", file_name=file_name), first)
    stated, where = file_as_of(preamble, file_name, None)
    if stated:
        return sheets, f"the file states as of {stated.isoformat()} ({where})"
    column = next((c for c in first.header if ALIASES.get(normalise(c)) == "as_of"), None)
    values = first.frame[column].dropna() if column is not None else ()
    values = [v for v in values if str(v).strip()][:1]
    if values:  # the text as the file has it: its day-month order is judged on import
        return sheets, (f"the rows state their as-of date in column {column!r} (the first: "
                        f"{str(values[0]).strip()})")
    return sheets, "the file states no as-of date: give one above"
