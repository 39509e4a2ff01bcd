"""``run_import``: the one import pipeline, identical wherever it runs.

Owns the sequence read -> map -> validate -> store for one file (a large CSV is
read, checked and staged a block at a time, then written in one transaction),
the import record's life (claimed, then final), idempotency by content hash,
and dry runs.
It knows nothing of threads or Celery: a backend calls it with a request and a
progress callback.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import secrets
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from folio.config import Settings, get_settings, mask_url
from folio.errors import ClaimLost, ExecutionError, FolioError, MappingError, StoreError
from folio.ingest.accounts import account_portfolio, accounts_into
from folio.ingest.columns import IGNORE, ColumnMapping, resolve
from folio.ingest.layout import (
    ACCOUNT_COLUMN,
    SECTION_CLASS_COLUMN,
    TOTAL_TOLERANCE,
    KeptRows,
    Layout,
    check_totals,
    file_as_of,
    preset_mapping,
    with_constant,
)
from folio.ingest.presets import (
    Preset,
    choose,
    find,
    load_presets,
    saved_columns,
    saved_preset,
)
from folio.ingest.preview import Preview
from folio.ingest.progress import Monotone
from folio.ingest.readers import RawTable, read_blocks
from folio.ingest.validate import Checker, Validated
from folio.result import MAX_RESULT_ISSUES, ImportResult
from folio.store import queries
from folio.store.bulk import IssueSink, PositionSink, Progress
from folio.store.db import get_engine, unreachable
from folio.timing import span


@dataclass(frozen=True)
class ImportRequest:
    """One import, as plain JSON-friendly data (it travels to Celery workers)."""

    path: str
    portfolio: str
    as_of: str | None = None  # ISO date
    mapping: dict[str, str] | str | None = None  # explicit columns or a saved name
    preset: str | None = None  # a preset's name: chosen among several, or forced
    constants: dict[str, str] | None = None  # with an explicit mapping: fields the file lacks
    sheet: str | None = None
    dry_run: bool = False
    import_id: str | None = None
    via: str = "local"
    task_id: str | None = None
    fallback_reason: str | None = None
    base_currency: str | None = None
    file_name: str | None = None  # as the user named it, before any staging
    missing_csv: str | None = None  # dry run: write every missing instrument here
    # One portfolio per account the file names (``account_portfolio``), all
    # written in one transaction; the import's record keeps ``portfolio``.
    portfolio_per_account: bool = False
    decimal: str | None = None  # the file's decimal mark, over the detected one and a preset's

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def display_name(self) -> str:
        return self.file_name or Path(self.path).name

    @property
    def as_of_date(self) -> date | None:
        return date.fromisoformat(self.as_of) if self.as_of else None


def new_import_id() -> str:
    """A new import's id: 32 hex digits, time-ordered as a UUIDv7 is (the
    milliseconds since 1970, then 80 random bits), so a new import's positions
    go to the right end of PostgreSQL's index by import (see ``schema.positions``)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def file_hash(path: str | Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass
class Prepared:
    table: RawTable  # the first block: header and reader facts (its rows are consumed)
    mapping: ColumnMapping
    checked: Validated
    content_hash: str | None  # None for a dry run, which writes nothing
    layout: Layout | None = None
    totals: list | None = None  # the file's totals that disagree with what was kept
    as_of_source: str | None = None

    @property
    def mapping_name(self) -> str | None:
        """The saved mapping the file was read with, if one was (a shipped preset is not)."""
        preset = self.layout.preset if self.layout else None
        if preset is not None and (preset.name == GIVEN
                                   or not preset.source.startswith("saved mapping")):
            return None
        return self.mapping.name

    @property
    def totals_off(self) -> bool:
        """Whether a file total differs from folio's by more than ``TOTAL_TOLERANCE``."""
        return any(t["gap"] > TOTAL_TOLERANCE for t in self.totals or ())


GIVEN = "(mapping given)"
# ISO 4217's "no currency": a dry run given it as the currency constant (a guessed
# mapping of a file naming none) shows the positions and says the currency is
# missing; an import rejects it as ever.
PLACEHOLDER_CURRENCY = "XXX"  # the preset a one-off mapping with constants reads as


def _saved_mappings(engine) -> dict[str, dict]:
    return queries.load_mappings(engine)


def all_presets(settings: Settings, saved: Mapping[str, dict] | None = None) -> list[Preset]:
    """folio's presets, the user's preset files, then the saved mappings (a later one
    of the same name replaces an earlier)."""
    if saved is None:
        saved = _saved_mappings(get_engine(settings))
    found = {p.name: p for p in load_presets(settings.home / "presets")}
    found.update({name: saved_preset(name, doc) for name, doc in saved.items()})
    return list(found.values())


def _forced(request: ImportRequest, saved: Mapping[str, dict],
            presets: list[Preset]) -> Preset | None:
    """The preset the request names (``preset=``, or a saved mapping by name), read
    wherever its columns are: a preset chosen by name needs no exact signature."""
    forced = None
    if isinstance(request.mapping, str):
        if request.mapping not in saved:
            raise MappingError(
                f"no saved mapping named {request.mapping!r}; saved: "
                f"{', '.join(saved) or '(none)'}", file=request.display_name, found=(),
                missing=(request.mapping,))
        forced = saved_preset(request.mapping, saved[request.mapping])
    if request.preset:
        forced = find(presets, request.preset, file=request.display_name)
    return replace(forced, exact=False) if forced is not None else None


def prepare(request: ImportRequest, settings: Settings, sink,
            progress: Progress | None = None, issues: IssueSink | None = None,
            *, skip_current: bool = True) -> Prepared:
    """Read, map and validate: everything an import does before it writes.

    The file is read and checked a block at a time; each block's positions go
    to ``sink.add`` (a ``PositionSink``, or a dry run's preview) and its issues
    to ``issues.add`` (a dry run keeps only the first ones and the counts), so
    a large file is never whole in memory. With ``skip_current``, a write whose
    content is already the store's snapshot keeps no rows (the write checks
    again under the snapshot's lock, see ``queries.SnapshotMoved``).
    """
    if progress:
        progress(0, 0, "reading")
    engine = get_engine(settings)
    saved = _saved_mappings(engine)
    explicit: Mapping[str, str] | None = None
    if request.mapping and not isinstance(request.mapping, str):
        explicit = request.mapping
    forced = None
    presets: list[Preset] = []
    if explicit is not None and request.constants:
        # A one-off mapping with constants reads as the preset it would be saved as.
        # A preset's mapping is whole: the columns it leaves out are ignored already.
        forced = replace(saved_preset(GIVEN, {
            "columns": {c: f for c, f in explicit.items() if f != IGNORE},
            "constants": dict(request.constants)}), exact=False)
        explicit, presets = None, [forced]
    elif explicit is None:
        presets = all_presets(settings, saved)
        forced = _forced(request, saved, presets)
        presets = [forced] if forced is not None else presets
    known = (list(explicit or {}) or [c for alts in forced.columns.values() for c in alts]
             if forced is not None or explicit else
             [c for doc in saved.values() for c in saved_columns(doc)])
    writing = isinstance(sink, PositionSink)
    # Idempotency is for writes: a dry run need not read the whole file a second
    # time. A write hashes it on a thread while its first block is read and checked.
    digest = None
    if writing:
        # An executor per write, not one for the process: a forked worker would
        # inherit a pool whose thread it does not have, and wait for ever.
        hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="folio-hash")
        digest = hashing.submit(file_hash, request.path)
        hashing.shutdown(wait=False)  # the thread ends with the hash
    blocks = read_blocks(request.path, sheet=request.sheet, max_bytes=settings.max_file_bytes,
                         display_name=request.display_name, known=known, presets=presets)
    kept = KeptRows()  # for the file's totals, folded block by block
    try:
        with span("read"):
            first = next(blocks)
        preamble = first.preamble if first.preamble is not None else _preamble(request, first)
        # A saved mapping is a preset: it applies where the header is its
        # signature, never because the file merely holds its columns.
        preset = forced or choose(presets, first.header, preamble, first.sheet,
                                  file=request.display_name)
        derived: dict = {}
        if preset is not None:
            mapping, derived = preset_mapping(preset, first.header, request.display_name)
        else:
            mapping = resolve(first.header, explicit, file=request.display_name)
            if mapping.header_currency:  # no currency column: the money headers name it
                mapping = with_constant(mapping, derived, "currency", mapping.header_currency[0])
        decimal = request.decimal or (preset.decimal if preset else None)
        layout = Layout(mapping, preset, derived, decimal=decimal)
        layout.start_account(preamble, first.delimiter)
        layout.start_titles(first.titles)
        as_of, source = request.as_of_date, None
        stated, where = file_as_of(preamble, request.display_name, preset)
        if as_of is None and "as_of" not in mapping.fields and stated is not None:
            as_of, source = stated, where
        content_hash = None
        checker = Checker(mapping, portfolio=request.portfolio, as_of=as_of,
                          mv_tolerance=settings.mv_tolerance, progress=progress,
                          decimal=decimal,
                          date_order=preset.date_order if preset else None,
                          mv_dirty=(preset.values.get("market_value") == "dirty") if preset
                          and "market_value" in preset.values else None,
                          base_currency=request.base_currency,
                          price_per_100=bool(preset and preset.values.get("price") == "per_100"),
                          placeholder_currency=PLACEHOLDER_CURRENCY if not writing and preset
                          and preset.constants.get("currency") == PLACEHOLDER_CURRENCY else None)
        if request.as_of_date and stated and stated != request.as_of_date:
            checker.add_file_issues(
                [{"row": first.header_row, "file": stated.isoformat()}], "as_of_mismatch",
                lambda item: f"the file states {item['file']} ({where}); imported as of "
                f"{request.as_of_date.isoformat()} (as_of=)")
        if first.other_sheets:
            checker.add_file_issues(
                [{"row": first.header_row, "file": ", ".join(first.other_sheets)}],
                "other_sheets", lambda item: (
                    f"sheet {first.sheet!r} was imported; the workbook's "
                    f"{' and '.join(repr(s) for s in first.other_sheets)} also "
                    f"{'holds' if len(first.other_sheets) == 1 else 'hold'} a holdings table, "
                    f"not imported: import one with sheet='NAME' (--sheet NAME), into another "
                    f"portfolio or date (an import replaces its portfolio's snapshot of the "
                    f"date), or put the rows in one sheet"),
                column=mapping.fields.get("identifier"))
        if mapping.header_currency:
            code, priced = mapping.header_currency
            checker.add_file_issues(
                [{"row": first.header_row, "file": code}], "currency_resolved",
                lambda item: f"no currency column: every row read as {item['file']}, which "
                f"{' and '.join(repr(c) for c in priced)} name", column=priced[0])
        encoding = first.encoding
        for index, block in enumerate(itertools.chain([first], _waited(blocks))):
            with span("check"):
                block = layout.apply(block)
                if layout.account_seen:
                    checker.add_field("account", ACCOUNT_COLUMN)
                if layout.section_class_seen:
                    checker.add_field("asset_class", SECTION_CLASS_COLUMN)
                positions = checker.check(block)
            kept.add(positions["row"].to_numpy(), positions["market_value"].to_numpy(), layout)
            encoding = block.encoding  # a later block may show the file is not UTF-8
            if index == 0 and writing:
                content_hash = _content_hash(digest.result(), mapping, first.sheet)
                if skip_current and checker.as_of is not None and content_hash == queries.current_hash(
                        engine, request.portfolio, checker.as_of):
                    sink.counting_only = True  # the store has this snapshot: nothing to stage
            if writing and checker.as_of is not None and not request.portfolio_per_account:
                sink.snapshot = (request.portfolio, checker.as_of)  # rows may stream now
            with span("stage"):
                sink.add(positions)
                drained = checker.drain_issues()
                if issues is not None:
                    issues.add(drained)
        lost = checker.rejected_values
        rows, values, counts = kept.arrays()
        totals = check_totals(layout, rows, values, layout.cash_rows,
                              (np.concatenate([r for r, _ in lost]),
                               np.concatenate([v for _, v in lost])) if lost else None,
                              counts=counts)
        del rows, values, counts
        checker.add_file_issues(totals, "total_mismatch", lambda t: (
            f"the file's {t['label']!r} says {t['file']:,}; folio kept {t['folio']:,} "
            f"({t['gap']:.2%} apart)"))
        if issues is not None:
            issues.add(checker.drain_issues())
    finally:
        blocks.close()  # closes the file now, not when the generator is collected
    first.encoding = encoding
    return Prepared(table=first, mapping=mapping, checked=checker.finish(),
                    content_hash=content_hash, layout=layout, totals=totals,
                    as_of_source=source)


def _waited(blocks):
    """``blocks``, the time spent waiting for each counted as reading (the reader
    parses a block ahead, on its own thread: what shows is what it did not hide)."""
    while True:
        with span("read"):
            block = next(blocks, None)
        if block is None:
            return
        yield block


def _preamble(request: ImportRequest, first: RawTable) -> list[str]:
    """The lines above a CSV's header (title lines that may state the date)."""
    if first.kind != "csv" or first.header_row <= 1:
        return []
    with open(request.path, "rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode(first.encoding or "utf-8", errors="replace")
    # A lone CR ends a line too, as it does for the readers that found the header.
    return re.split(r"\r\n|\r|\n", text)[:first.header_row - 1]


def _content_hash(file_digest: str, mapping: ColumnMapping, sheet: str | None) -> str:
    digest = hashlib.sha256(file_digest.encode())
    digest.update(json.dumps(mapping.columns, sort_keys=True).encode())
    digest.update(str(sheet).encode())
    return digest.hexdigest()


def _status(checked: Validated, prepared: Prepared | None = None) -> str:
    if checked.rows_total and checked.rows_rejected == checked.rows_total:
        return "failed"
    if prepared is not None and prepared.totals_off:
        return "partially_succeeded"  # the file's own totals say something is missing
    return "partially_succeeded" if checked.rows_rejected else "succeeded"


def _result(request: ImportRequest, prepared: Prepared, *, import_id: str | None,
            status: str, error: str | None = None) -> ImportResult:
    checked = prepared.checked
    return ImportResult(
        import_id=import_id, file=request.display_name, portfolio=request.portfolio,
        as_of=checked.as_of, status=status, via=request.via,
        rows_total=checked.rows_total,
        rows_imported=(0 if status in ("failed", "unchanged")
                       else checked.rows_total - checked.rows_rejected),
        rows_rejected=checked.rows_rejected, warnings=checked.warnings, issues=checked.issues,
        issues_total=checked.issues_total,
        mapping=dict(prepared.mapping.columns), mapping_name=prepared.mapping_name,
        reader=dict(prepared.table.describe(), decimal=checked.decimal),
        task_id=request.task_id, fallback_reason=request.fallback_reason, error=error,
        preset=prepared.layout.preset.name if prepared.layout and prepared.layout.preset
        and prepared.layout.preset.name != GIVEN else None, row_roles=prepared.layout.roles if prepared.layout else {},
        cash=dict(prepared.layout.cash) if prepared.layout else {},
        totals=list(prepared.totals or []), as_of_source=prepared.as_of_source,
    )


def result_from_store(import_id: str, settings: Settings | None = None) -> ImportResult:
    """Rebuild the result of a finished import from its record."""
    engine = get_engine(settings or get_settings())
    rec = queries.get_import(engine, import_id)
    return ImportResult(
        import_id=import_id, file=rec["file_name"], portfolio=rec["portfolio"],
        as_of=rec["as_of"], status=rec["status"], via=rec["via"],
        rows_total=rec["rows_total"], rows_imported=rec["rows_imported"],
        rows_rejected=rec["rows_rejected"], warnings=rec["warnings"],
        issues=queries.get_issues(engine, import_id, limit=MAX_RESULT_ISSUES),
        issues_total=queries.count_issues(engine, import_id), mapping=rec["mapping"] or {},
        mapping_name=rec["mapping_name"], task_id=rec["task_id"],
        fallback_reason=rec["fallback_reason"], error=rec["error"],
        base_currency=rec.get("base_currency"),
        base_currency_reason=rec.get("base_currency_reason"),
    )


def preflight(request: ImportRequest, settings: Settings | None = None,
              progress: Progress | None = None) -> ImportResult:
    """A dry run: what the import would do, writing nothing (but ``request.missing_csv``).

    ``progress`` follows ``run_import``'s contract: rows read, then checked; a
    dry run writes nothing, so each row checked is done and the count reaches
    its total as the last row is checked.
    """
    settings = settings or get_settings()
    preview = Preview(get_engine(settings))
    report = Monotone(progress or (lambda done, total, stage: None), dry_run=True)
    try:
        prepared = prepare(request, settings, preview, progress=report)
        report.rows_known(prepared.checked.rows_total)
        report.finish("checking")
        result = _result(request, prepared, import_id=None, status="dry_run")
        result.rows_imported = preview.rows
        result.preview = pd.concat(preview.head, ignore_index=True).head(10)
        result.missing_instruments = preview.missing
        result.missing_total = preview.missing_total
        accounts_into(result, request.portfolio, request.portfolio_per_account,
                      preview.accounts, request.display_name)
        if request.missing_csv:
            preview.write_csv(request.missing_csv)
    finally:
        preview.discard()
    return result


def run_import(
    request: ImportRequest,
    *,
    progress: Progress | None = None,
    settings: Settings | None = None,
    redelivered: bool = False,
    before_commit: Callable[[Connection], None] | None = None,
) -> ImportResult:
    """Import one file into the store, atomically.

    Parameters
    ----------
    request
        What to import. With ``import_id`` set, the record must exist (created at
        submission) and is claimed; without, one is created.
    progress
        Called as ``progress(done, total, stage)`` in ``ingest.progress``'s
        contract: row steps (each row checked, then written), monotone, the
        total fixed once known; stage ``reading``, ``checking`` (as validation
        goes), then ``writing``, at least every 10% of each.
    redelivered
        The task was delivered again after its worker died: a record left
        ``running`` may be taken over.
    before_commit
        Called inside the write transaction just before it commits (tests inject
        failures here).

    Returns
    -------
    ImportResult
        With status succeeded, partially_succeeded, unchanged or failed (every
        row rejected).

    Raises
    ------
    FolioError
        The file cannot be read, mapped or validated as a whole, or the store
        failed; the import record is marked failed with the message and the
        portfolio data is left as it was.
    """
    if request.dry_run:
        return preflight(request, settings, progress)
    settings = settings or get_settings()
    engine = get_engine(settings)
    # Stages report their own counts; the caller sees one that only goes up.
    report = Monotone(progress or (lambda done, total, stage: None))
    import_id = request.import_id or new_import_id()
    try:
        _record_earlier_failures(engine)
        if request.import_id is None:
            queries.create_import(engine, import_id=import_id, portfolio=request.portfolio,
                                  file_name=request.display_name, file_path=request.path,
                                  via=request.via, task_id=request.task_id,
                                  fallback_reason=request.fallback_reason)
        claimed = queries.claim_import(engine, import_id, stale_running=redelivered)
    except DBAPIError as exc:
        raise unreachable(exc, settings.database_url, import_id=import_id,
                          file=request.display_name) from None
    if claimed is None:
        record = queries.get_import(engine, import_id)
        if queries.is_final(record["status"]):
            return result_from_store(import_id, settings)  # delivered twice: same answer
        # Another delivery of this import's task holds the claim: this one must
        # leave the import, and its task's state, to that one.
        raise ClaimLost(
            f"import {import_id} is already being run by {record['claimed_by']}",
            import_id=import_id, status=record["status"], claimed_by=record["claimed_by"])
    skip_current = True
    try:
        while True:
            sink = PositionSink(engine, import_id)
            issues = IssueSink(engine, import_id)
            try:
                return _write(request, settings, engine, import_id, claimed.token, sink, issues,
                              report, before_commit, skip_current)
            except queries.SnapshotMoved:
                # Another import replaced the snapshot after this one found its
                # content there and kept no rows: read them after all.
                skip_current = False
            finally:
                sink.discard()
                issues.discard()
    except ClaimLost:
        raise  # the record belongs to the worker that took the import over: leave it
    except FolioError as exc:
        _mark_failed(engine, import_id, exc.message, claimed.token)
        if not getattr(exc, "import_id", None):
            exc.import_id = import_id
            exc.fields["import_id"] = import_id
        raise
    except DBAPIError as exc:
        # The database refused (disk full, server gone, lock timeout): the
        # transaction rolled back, so say what the store said and that nothing changed.
        reason = settings.redact(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
        message = (f"import {import_id} of {request.display_name} failed: the store at "
                   f"{mask_url(settings.database_url)} refused the write ({reason}); nothing "
                   f"was changed, and the import can be run again")
        _mark_failed(engine, import_id, message, claimed.token)
        raise StoreError(message, import_id=import_id, file=request.display_name,
                         url=mask_url(settings.database_url),
                         remote_traceback=traceback.format_exc()) from None
    except Exception as exc:
        _mark_failed(engine, import_id, f"{type(exc).__name__}: {exc}", claimed.token)
        raise ExecutionError(
            f"import {import_id} of {request.display_name} failed: {type(exc).__name__}: {exc}",
            import_id=import_id, file=request.display_name,
            remote_traceback=traceback.format_exc(),
        ) from exc


def _write(request: ImportRequest, settings: Settings, engine, import_id: str, token: str,
           sink: PositionSink, issues: IssueSink, report: Monotone, before_commit,
           skip_current: bool) -> ImportResult:
    """Read, check and write one claimed import (``run_import``'s body)."""
    prepared = prepare(request, settings, sink, progress=report, issues=issues,
                       skip_current=skip_current and not request.portfolio_per_account)
    checked = prepared.checked
    report.rows_known(checked.rows_total)
    accounts = None
    if request.portfolio_per_account:
        accounts = {account_portfolio(request.portfolio, a, request.display_name): a
                    for a in sink.accounts}
    report(0, len(sink), "writing")
    status = _status(checked, prepared)
    write = queries.SnapshotWrite(
        import_id=import_id, portfolio=request.portfolio, as_of=checked.as_of,
        content_hash=prepared.content_hash, positions=sink,
        issues=issues, status=status,
        counts={"rows_total": checked.rows_total,
                "rows_imported": 0 if status == "failed" else len(sink),
                "rows_rejected": checked.rows_rejected, "warnings": checked.warnings,
                "rejected": checked.rejected},
        mapping=prepared.mapping.columns, mapping_name=prepared.mapping_name,
        base_currency=request.base_currency, claim_token=token, accounts=accounts,
    )
    written = queries.write_snapshot(engine, write, progress=report, before_commit=before_commit)
    status = written.status
    report(len(sink), len(sink), "writing")
    error = "every row was rejected" if status == "failed" else None
    result = _result(request, prepared, import_id=import_id, status=status, error=error)
    result.base_currency = written.base_currency
    result.base_currency_reason = written.base_currency_reason
    if status != "failed":
        accounts_into(result, request.portfolio, request.portfolio_per_account,
                      sink.accounts, request.display_name)
    return result


# Failures that could not be recorded because the store itself was down, by
# store URL: written by this process's next import to that store, so no record
# stays "running" for ever behind a live process.
_unrecorded: dict[str, dict[str, tuple[str, object, str | None]]] = {}


def _mark_failed(engine, import_id: str, message: str, token: str | None = None) -> None:
    """Record a failure, only while this process's claim (``token``) is current:
    a worker that lost its claim must not fail an import its successor runs."""
    try:
        queries.mark_failed(engine, import_id, message, token=token)  # the store's clock
    except Exception:  # the store itself may be what failed; the caller gets the error
        # Written later, it keeps this moment, by this process's clock (the
        # store's is out of reach now).
        _unrecorded.setdefault(str(engine.url), {})[import_id] = (message, queries.now(), token)


def _record_earlier_failures(engine) -> None:
    pending = _unrecorded.get(str(engine.url), {})
    for import_id, (message, finished, token) in list(pending.items()):
        queries.mark_failed(engine, import_id, message, token=token, finished_at=finished)
        del pending[import_id]


def positions_frame(result: ImportResult, settings: Settings | None = None) -> pd.DataFrame:
    """The positions an import wrote (empty for one that wrote none)."""
    engine = get_engine(settings or get_settings())
    rec = queries.get_import(engine, result.import_id) if result.import_id else None
    if not rec or rec["as_of"] is None:
        return pd.DataFrame()
    return queries.read_positions(engine, rec["portfolio"], rec["as_of"])
