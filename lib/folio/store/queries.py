"""Reads and writes of the portfolio store, each in its own short transaction.

Owns the SQL: creating and claiming import records, writing one snapshot
atomically (positions, issues, snapshot pointer, import status), saved mappings,
reference data, and the frames analytics read.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

import pandas as pd
from sqlalchemy import Connection, Engine, delete, func, insert, literal, select, text, update

from folio import timing
from folio.errors import ClaimLost, NotFound, ValidationError
from folio.store import bulk
from folio.store.db import writing
from folio.store.schema import (
    FINAL_STATUSES,
    POSITION_COLUMNS,
    fx_rates,
    import_issues,
    imports,
    instruments,
    mappings,
    portfolios,
    positions,
    prices,
    snapshots,
    workers,
)


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------- the store's clock
#
# Heartbeats, claims and the age of a waiting import are written and compared
# with the database's clock, never with one machine's clock against another's:
# a worker 30 s behind the kernel must not look dead, a dead one ahead must not
# look alive. (An SQLite store is a file: its clock is the clock of the machine
# that opens it, the same for every process on that machine.)

# SQLite: the text SQLAlchemy itself writes for a DateTime (microseconds), so
# values written either way compare as text in time order.
_SQLITE_NOW = "%Y-%m-%d %H:%M:%f000"


def db_now(bind, seconds_ago: float = 0.0):
    """The store's clock (minus ``seconds_ago``) as an SQL expression."""
    if bind.dialect.name == "sqlite":
        return func.strftime(_SQLITE_NOW, "now", f"-{float(seconds_ago):.6f} seconds")
    # clock_timestamp(), not now(): now() is when the transaction began, and a
    # write that waited for a snapshot's lock must be stamped when it commits.
    if seconds_ago:
        return func.clock_timestamp() - text(f"interval '{float(seconds_ago):.6f} seconds'")
    return func.clock_timestamp()


def new_token() -> str:
    return uuid.uuid4().hex


def claimer() -> str:
    """Who is writing: host and process, recorded on the import they claim."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ----------------------------------------------------------------- import records


def create_import(engine: Engine, *, import_id: str, portfolio: str, file_name: str,
                  file_path: str | None, via: str, as_of: date | None = None,
                  status: str = "pending", task_id: str | None = None,
                  fallback_reason: str | None = None,
                  request: Mapping[str, Any] | None = None) -> None:
    """Record an import before it runs, so its id means something at once."""
    with writing(engine) as conn:
        conn.execute(insert(imports).values(
            id=import_id, portfolio=portfolio, file_name=file_name, file_path=file_path,
            via=via, as_of=as_of, status=status, task_id=task_id,
            fallback_reason=fallback_reason, request=dict(request) if request else None,
            rows_total=0, rows_imported=0,
            rows_rejected=0, warnings=0, created_at=db_now(conn),
        ))


def set_import(engine: Engine, import_id: str, *, token: str | None = None,
               **values: Any) -> bool:
    """Change an import record; with ``token``, only while that claim is current.
    Returns whether the record was changed."""
    stmt = update(imports).where(imports.c.id == import_id)
    if token is not None:
        stmt = stmt.where(imports.c.claim_token == token)
    with writing(engine) as conn:
        return conn.execute(stmt.values(**values)).rowcount == 1


def mark_failed(engine: Engine, import_id: str, message: str, *, token: str | None = None,
                claimer: str | None = None, finished_at: datetime | None = None) -> bool:
    """Record that an import failed: the one place an import record is failed.

    Parameters
    ----------
    token
        The claim the caller holds (the pipeline): the record changes only while
        that claim is current, so a worker that lost its claim never fails an
        import its successor runs.
    claimer
        Without a token, a process that may have claimed the import itself (a
        worker's task): it changes the record only if nobody else claimed it.
    finished_at
        When it failed; default now (a failure recorded late keeps its time).

    Without a token, the caller holds no claim (the submission, the client of a
    failed task) and only a record not yet final changes. Returns whether the
    record changed.
    """
    stmt = update(imports).where(imports.c.id == import_id)
    if token is not None:
        stmt = stmt.where(imports.c.claim_token == token)
    else:
        stmt = stmt.where(imports.c.status.not_in(FINAL_STATUSES))
        if claimer is not None:
            stmt = stmt.where(imports.c.claimed_by.is_(None) | (imports.c.claimed_by == claimer))
    with writing(engine) as conn:
        return conn.execute(stmt.values(status="failed", error=message,
                                        finished_at=finished_at or db_now(conn))).rowcount == 1


def finished_before(engine: Engine, import_id: str, seconds: float) -> bool:
    """Whether the import finished more than ``seconds`` ago, by the store's clock."""
    with engine.connect() as conn:
        return conn.execute(select(imports.c.id).where(
            imports.c.id == import_id, imports.c.finished_at < db_now(conn, seconds))
        ).first() is not None


class Claim(NamedTuple):
    """An import taken for running: the status it had, and this claim's token."""

    status: str
    token: str


def claim_import(engine: Engine, import_id: str, *, stale_running: bool = False,
                 within: float = 15.0) -> Claim | None:
    """Take an import for running; return None if taken, else the ``Claim``.

    The compare-and-set happens in one UPDATE, so two processes can never both
    run the same import. ``stale_running`` also takes one left ``running`` by a
    process that has died (a redelivered Celery task), never one still alive.
    Each claim gets a new token: the write commits only while it is current
    (``write_snapshot``).
    """
    with engine.connect() as conn:
        row = conn.execute(select(imports.c.status, imports.c.claimed_by)
                           .where(imports.c.id == import_id)).first()
    if row is None:
        raise NotFound(f"no import {import_id}", kind="import", key=import_id)
    condition = imports.c.status.in_(("pending", "queued"))
    if stale_running and row.status == "running":
        if claimer_alive(engine, row.claimed_by, within):
            return None
        condition = (imports.c.status == "running") & (imports.c.claimed_by == row.claimed_by)
    token = new_token()
    with writing(engine) as conn:
        result = conn.execute(
            update(imports).where(imports.c.id == import_id, condition)
            .values(status="running", started_at=db_now(conn), claimed_by=claimer(),
                    claim_token=token, error=None)
        )
        return Claim(row.status, token) if result.rowcount == 1 else None


def get_import(engine: Engine, import_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(imports).where(imports.c.id == import_id)).mappings().first()
    if row is None:
        raise NotFound(f"no import {import_id}", kind="import", key=import_id)
    return dict(row)


def _issues_query(import_id: str):
    return (select(import_issues.c.row, import_issues.c.column, import_issues.c.code,
                   import_issues.c.severity, import_issues.c.value, import_issues.c.message)
            .where(import_issues.c.import_id == import_id)
            .order_by(import_issues.c.row, import_issues.c.id))


def _issues_frame(rows) -> pd.DataFrame:
    # Plain tuples: pandas builds a frame from Row objects seven times slower
    # (0.07 s for 10,000 issues, paid at the end of every Celery import).
    frame = pd.DataFrame([tuple(row) for row in rows],
                         columns=["row", "column", "code", "severity", "value", "message"])
    frame["row"] = frame["row"].astype("Int64")
    return frame


def get_issues(engine: Engine, import_id: str, limit: int | None = None) -> pd.DataFrame:
    stmt = _issues_query(import_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return _issues_frame(conn.execute(stmt))


def issue_frames(engine: Engine, import_id: str, size: int = 100_000) -> Iterator[pd.DataFrame]:
    """Every issue of an import, ``size`` at a time (there may be millions; at least
    one frame, empty when there are none)."""
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(_issues_query(import_id))
        empty = True
        for part in result.partitions(size):
            empty = False
            yield _issues_frame(part)
        if empty:
            yield _issues_frame([])


def write_issues_csv(engine: Engine, import_id: str, out: IO[str], size: int = 100_000) -> int:
    """Stream every issue of an import into ``out`` as a spreadsheet-safe CSV,
    ``size`` rows at a time (never all in memory); return how many were written."""
    from folio.result import safe_csv

    written = 0
    for index, part in enumerate(issue_frames(engine, import_id, size)):
        out.write(safe_csv(part, header=index == 0))
        written += len(part)
    return written


def count_issues(engine: Engine, import_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(import_issues)
                            .where(import_issues.c.import_id == import_id)).scalar()


def list_imports(engine: Engine, portfolio: str | None = None) -> pd.DataFrame:
    stmt = select(imports).order_by(imports.c.created_at)
    if portfolio:
        stmt = stmt.where(imports.c.portfolio == portfolio)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).mappings().all())


# ----------------------------------------------------------------------- snapshot


@dataclass(frozen=True)
class SnapshotWrite:
    """Everything one import writes, handed to ``write_snapshot`` in one piece."""

    import_id: str
    portfolio: str
    as_of: date
    content_hash: str
    positions: bulk.PositionSink
    issues: pd.DataFrame | bulk.IssueSink
    status: str
    counts: Mapping[str, int]
    mapping: Mapping[str, str]
    mapping_name: str | None
    base_currency: str | None
    claim_token: str | None = None  # the import's claim; None: no claim to check
    # One portfolio per account: portfolio -> the account whose positions it takes
    # (None: the rows with no account). Every snapshot is written in the one
    # transaction, so the file goes in whole or not at all. None: ``portfolio``.
    accounts: Mapping[str, str | None] | None = None


class SnapshotMoved(Exception):
    """The snapshot changed after the import decided it need not stage its rows.

    ``prepare`` found the store already holding this file's snapshot and kept
    no rows; by the time the write held the snapshot's lock another import had
    replaced it. The import must read its rows after all (``run_import`` does).
    """


def write_snapshot(engine: Engine, write: SnapshotWrite,
                   progress: bulk.Progress | None = None,
                   before_commit: Callable[[Connection], None] | None = None) -> Written:
    """Write one import in a single transaction; return its final status and the
    portfolio's base currency with the reason for it (``Written``).

    One writer per (portfolio, as-of date): the transaction holds that
    snapshot's lock (SQLite's write lock; on PostgreSQL an advisory lock) from
    before it reads the current snapshot until it commits, so concurrent imports
    of one snapshot follow each other, never mix. Same content as the current
    snapshot -> ``unchanged`` and no positions are touched. A failed import
    writes its issues and status only. Any exception rolls everything back,
    leaving the store as it was. A large PostgreSQL import's transaction began
    at its first block, its rows COPYed into it as they were checked (see
    ``stream``): this finishes that transaction, lock and all, the same way.

    Raises
    ------
    ClaimLost
        The import's claim is no longer current (another worker took it over).
    SnapshotMoved
        The positions were not kept (``counting_only``) but the snapshot no
        longer holds this content.
    """
    # Chosen while the staging thread (SQLite) or the server (PostgreSQL) is
    # still taking the last block: the amounts are complete once every block
    # is checked, and the wait below is idle time for this thread.
    with timing.span("base currency"):
        write, reason = _with_base_currency(engine, write)
    with timing.span("stage"):
        write.positions.close()
        if isinstance(write.issues, bulk.PositionSink):
            write.issues.close()
    if write.positions.stream is not None:  # PostgreSQL: the last rows reach the server
        with timing.span("copy wait"):
            write.positions.stream.finish()
    staged = write.positions.staged if write.status != "failed" else None
    return _write_snapshot(engine, write, reason, progress, before_commit, staged)


class Written(NamedTuple):
    """What ``write_snapshot`` did: the final status, and the portfolio's base
    currency with why it is that one (both None for a failed import)."""

    status: str
    base_currency: str | None
    base_currency_reason: str | None


ASKED = "given with the import"  # the reason of a base currency the import asked for
HELD = "the portfolio's base currency"


def _other_base_currency(portfolio: str, current: str, asked: str, how: str) -> ValidationError:
    """The error for an import asking a base currency the portfolio does not have."""
    return ValidationError(
        f"portfolio {portfolio!r} has base currency {current}, not {asked}{how}; "
        f"change it first (folio portfolio set-base {portfolio} {asked}, or "
        f"folio.set_base_currency({portfolio!r}, {asked!r})), "
        "or leave the base currency out", column="base_currency", value=asked,
        portfolio=portfolio, current=current)


def _portfolio_base(conn: Connection, write: SnapshotWrite, reason: str | None, create: bool
                    ) -> tuple[str | None, str | None]:
    """Inside the write transaction: the portfolio's base currency after this
    import, and why; create the portfolio if ``create`` and it is missing.

    The check and the creation are one step under the transaction, so two
    imports of different dates that both create a new portfolio cannot both
    win: SQLite's write lock orders them; on PostgreSQL the second one's insert
    waits on the first one's uncommitted row and then reads it (read committed),
    and FOR SHARE keeps a concurrent ``set-base`` out until this commits. An
    import that asked for another base currency than the winner's fails (and
    rolls back); one that only had a currency chosen for it takes the winner's
    and says so.
    """
    query = select(portfolios.c.base_currency).where(portfolios.c.name == write.portfolio)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    held = conn.execute(query).scalar()
    if held is None and create:
        conn.execute(_insert_new(conn, portfolios).values(
            name=write.portfolio, created_at=now(),
            base_currency=write.base_currency or write.positions.base_currency() or "EUR"))
        held = conn.execute(query).scalar()
    if held is None or held == write.base_currency:
        return write.base_currency, reason
    if reason == ASKED:
        raise _other_base_currency(write.portfolio, held, write.base_currency,
                                   " (another import created it first, or changed it)")
    if reason == HELD:
        return held, HELD  # set-base changed it between the check and this write
    return held, (f"another import created the portfolio first, with {held} "
                  f"(this one would have taken {write.base_currency}: {reason})")


def _with_base_currency(engine: Engine, write: SnapshotWrite
                        ) -> tuple[SnapshotWrite, str | None]:
    """Before the write: refuse a base currency other than the portfolio's, and
    choose one for a new portfolio by value converted at rates and parities;
    return the write with it, and why it is that one.

    Outside the transaction on purpose: choosing reads the rates. The write
    transaction checks again (``_portfolio_base``): another import may create
    the portfolio in between.
    """
    if write.status == "failed":
        return write, None
    with engine.connect() as conn:
        current = conn.execute(select(portfolios.c.base_currency)
                               .where(portfolios.c.name == write.portfolio)).scalar()
    asked = (write.base_currency or "").strip().upper() or None
    if current is not None:
        if asked and asked != current:
            raise _other_base_currency(write.portfolio, current, asked, "")
        return replace(write, base_currency=current), HELD
    if asked:
        return replace(write, base_currency=asked), ASKED
    from folio.analytics.base import choose_base_currency  # analytics reads the store too

    chosen, reason = choose_base_currency(write.positions.local_amounts(), write.as_of,
                                          latest_rates(engine, write.as_of))
    if chosen is None:
        # Nothing converts: the largest amount in its own currency, said as such.
        chosen = write.positions.base_currency()
        reason += (f"; took {chosen}, the largest amount in its own currency" if chosen
                   else "; took EUR, the default")
        chosen = chosen or "EUR"
    return replace(write, base_currency=chosen), reason


def _hold_claim(conn: Connection, import_id: str, token: str) -> None:
    """Lock the import's record for this transaction, if its claim is still ``token``.

    The UPDATE takes the record's row lock on PostgreSQL (SQLite's write lock is
    already held), so a recovery cannot take the import over between this check
    and the commit; one that took it over before makes the check fail.
    """
    held = conn.execute(update(imports).where(
        imports.c.id == import_id, imports.c.status == "running",
        imports.c.claim_token == token).values(claim_token=token)).rowcount
    if held != 1:
        row = conn.execute(select(imports.c.status, imports.c.claimed_by)
                           .where(imports.c.id == import_id)).first()
        status, by = (row.status, row.claimed_by) if row else (None, None)
        raise ClaimLost(
            f"import {import_id} lost its claim before it could commit (it is now "
            f"{status or 'gone'}{f', claimed by {by}' if by else ''}): another worker took it "
            f"over while this one was stopped; nothing was written by this one",
            import_id=import_id, status=status, claimed_by=by)


def snapshot_lock_key(portfolio: str, as_of: date) -> int:
    """The PostgreSQL advisory-lock key of one snapshot: 64 bits of a hash of its key."""
    digest = hashlib.sha256(f"folio-snapshot\0{portfolio}\0{as_of.isoformat()}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def _lock_snapshot(conn: Connection, portfolio: str, as_of: date) -> None:
    """Hold the lock on one (portfolio, as-of) snapshot until the transaction ends.

    SQLite's write transaction (BEGIN IMMEDIATE) already holds the only write
    lock. PostgreSQL locks rows, and a snapshot that does not exist yet has no
    row to lock, so a transaction-scoped advisory lock keyed by the snapshot
    stands for it: two writers of one snapshot wait for each other, writers of
    different snapshots do not.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(
            literal(snapshot_lock_key(portfolio, as_of)))))


def current_hash(engine: Engine, portfolio: str, as_of: date) -> str | None:
    """The content hash of the snapshot in the store for ``portfolio`` on ``as_of``."""
    with engine.connect() as conn:
        return conn.execute(select(snapshots.c.content_hash).where(
            snapshots.c.portfolio == portfolio, snapshots.c.as_of == as_of)).scalar()


def account_hash(content_hash: str, account: str | None) -> str:
    """The content hash of one account's snapshot (a write of one portfolio per account)."""
    return hashlib.sha256(f"{content_hash}\0{account}".encode()).hexdigest()


def _write_snapshot(engine: Engine, write: SnapshotWrite, reason: str | None, progress,
                    before_commit, staged: Path | None) -> Written:
    begun = time.perf_counter()
    with bulk.write_transaction(engine, write.positions, staged) as conn:
        if write.claim_token is not None:
            _hold_claim(conn, write.import_id, write.claim_token)
        if write.accounts is None:
            status, currency, why = _put_snapshot(
                conn, write, reason, write.content_hash, write.positions, staged, progress,
                begun)
        else:
            # In the order of their names: two such writes lock snapshots alike
            # and so cannot each wait for the other.
            put = [_put_snapshot(conn, replace(write, portfolio=name), reason,
                                 account_hash(write.content_hash, account),
                                 bulk.AccountRows(write.positions, account), staged, progress,
                                 begun, account=(account,))
                   for name, account in sorted(write.accounts.items())]
            status = ("unchanged" if put and all(p[0] == "unchanged" for p in put)
                      else write.status)
            currency, why = put[0][1:] if put else (None, None)
        if len(write.issues):
            with timing.span("issues"):
                bulk.insert_rows(conn, import_issues, {"import_id": write.import_id},
                                 write.issues, bulk.ISSUE_FIELDS)
        counts = dict(write.counts)
        if status == "unchanged":
            counts["rows_imported"] = 0  # the snapshot already holds these rows
        conn.execute(update(imports).where(imports.c.id == write.import_id).values(
            status=status, as_of=write.as_of, content_hash=write.content_hash,
            mapping=dict(write.mapping), mapping_name=write.mapping_name,
            finished_at=db_now(conn), base_currency=currency, base_currency_reason=why,
            error=None if status != "failed" else "every row was rejected", **counts,
        ))
        if before_commit:
            before_commit(conn)
        committing = time.perf_counter()
    timing.add("commit", time.perf_counter() - committing)
    return Written(status, currency, why)


def _put_snapshot(conn: Connection, write: SnapshotWrite, reason: str | None,
                  content_hash: str, rows, staged: Path | None, progress, begun: float, *,
                  account: tuple[str | None] | None = None
                  ) -> tuple[str, str | None, str | None]:
    """Make ``rows`` the snapshot of ``write.portfolio`` on ``write.as_of`` inside the
    write's transaction, under that snapshot's lock; return its status (``unchanged``:
    the snapshot already holds this content, and is left as it is) and the
    portfolio's base currency and why (``_portfolio_base``)."""
    portfolio = write.portfolio
    _lock_snapshot(conn, portfolio, write.as_of)
    current = conn.execute(
        select(snapshots)
        .where(snapshots.c.portfolio == portfolio, snapshots.c.as_of == write.as_of)
    ).first()
    timing.add("lock", time.perf_counter() - begun)
    status = write.status
    if status != "failed" and current is not None and current.content_hash == content_hash:
        status = "unchanged"
    if status not in ("failed", "unchanged") and write.positions.counting_only:
        raise SnapshotMoved(write.import_id)
    if status in ("failed", "unchanged"):
        bulk.unsend(conn, write.positions)  # rows streamed before the lock showed it
    currency, why = (None, None) if status == "failed" else _portfolio_base(
        conn, write, reason, create=status != "unchanged")
    if status in ("failed", "unchanged"):
        return status, currency, why
    ranged = _ranged(conn)
    if current is not None:
        with timing.span("delete"):
            conn.execute(delete(positions).where(
                _rows_of(conn, current), *bulk.not_sent(write.positions)))
    fixed = {"import_id": write.import_id, "portfolio": portfolio, "as_of": write.as_of}
    # SQLite numbers new rows from the largest id + 1, and this transaction
    # holds the write lock: the rows written here are base + 1 .. top.
    base = _top_id(conn) if ranged else 0
    with timing.span("copy"):
        if staged:
            bulk.insert_staged(conn, positions, fixed, bulk.POSITION_FIELDS,
                               len(write.positions), progress, account=account)
        else:
            bulk.insert_rows(conn, positions, fixed, rows, bulk.POSITION_FIELDS, progress)
    span = {"first_id": base + 1, "last_id": _top_id(conn)} if ranged else {}
    row = {"import_id": write.import_id, "content_hash": content_hash, **span}
    if current is not None:
        conn.execute(update(snapshots).where(snapshots.c.portfolio == portfolio,
                                             snapshots.c.as_of == write.as_of)
                     .values(**row))
    else:
        conn.execute(insert(snapshots).values(portfolio=portfolio, as_of=write.as_of, **row))
    return status, currency, why


def snapshot_dates(engine: Engine, portfolio: str) -> list[date]:
    """The as-of dates of a portfolio's snapshots, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(snapshots.c.as_of).where(snapshots.c.portfolio == portfolio)
                            .order_by(snapshots.c.as_of)).scalars().all()
    return [d if isinstance(d, date) else date.fromisoformat(str(d)) for d in rows]


# ------------------------------------------------------------------- portfolios


def _insert_new(conn: Connection, table):
    """An INSERT that leaves an existing row with the same key as it is.

    Two imports of a new portfolio on two workers both find it missing; on
    PostgreSQL (read committed) both then insert it, and the second import
    failed on the primary key. SQLite's write lock serialises them anyway.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing()


def create_portfolio(engine: Engine, name: str, base_currency: str) -> None:
    with writing(engine) as conn:
        exists = conn.execute(select(portfolios.c.base_currency)
                              .where(portfolios.c.name == name)).scalar()
        if exists is None:
            conn.execute(_insert_new(conn, portfolios).values(
                name=name, base_currency=base_currency, created_at=now()))
        elif exists != base_currency:
            conn.execute(update(portfolios).where(portfolios.c.name == name)
                         .values(base_currency=base_currency))


def set_base_currency(engine: Engine, name: str, base_currency: str) -> str:
    """Change an existing portfolio's base currency; return the one it had.

    Positions are stored in their own currencies, so nothing else changes:
    reports value in the new base from now on.
    """
    with writing(engine) as conn:
        before = conn.execute(select(portfolios.c.base_currency)
                              .where(portfolios.c.name == name)).scalar()
        if before is None:
            raise NotFound(f"no portfolio {name!r}", kind="portfolio", key=name)
        conn.execute(update(portfolios).where(portfolios.c.name == name)
                     .values(base_currency=base_currency))
    return before


def list_portfolios(engine: Engine) -> pd.DataFrame:
    stmt = (select(portfolios.c.name, portfolios.c.base_currency,
                   func.count(snapshots.c.as_of).label("snapshots"),
                   func.max(snapshots.c.as_of).label("latest"))
            .select_from(portfolios.outerjoin(snapshots, snapshots.c.portfolio == portfolios.c.name))
            .group_by(portfolios.c.name, portfolios.c.base_currency).order_by(portfolios.c.name))
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(),
                            columns=["name", "base_currency", "snapshots", "latest"])


def _ranged(conn: Connection) -> bool:
    """Whether a snapshot's positions are found by its id range (SQLite, see ``snapshots``)."""
    return conn.dialect.name == "sqlite"


def _top_id(conn: Connection) -> int:
    return conn.execute(select(func.max(positions.c.id))).scalar() or 0


def _rows_of(conn: Connection, snapshot) -> Any:
    """The positions of one snapshots row: by id range where kept (SQLite), else
    those its import wrote for it (PostgreSQL's index is by import)."""
    if _ranged(conn) and snapshot.first_id is not None:
        return positions.c.id.between(snapshot.first_id, snapshot.last_id)
    return ((positions.c.import_id == snapshot.import_id)
            & (positions.c.portfolio == snapshot.portfolio) & (positions.c.as_of == snapshot.as_of))


def read_positions(engine: Engine, portfolio: str, as_of: date | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        on = ((positions.c.portfolio == snapshots.c.portfolio)
              & (positions.c.as_of == snapshots.c.as_of))
        if _ranged(conn):
            on = positions.c.id.between(snapshots.c.first_id, snapshots.c.last_id) & on
        else:  # the rows of a snapshot are its import's (the index is by import)
            on = (positions.c.import_id == snapshots.c.import_id) & on
        stmt = (select(*POSITION_COLUMNS).select_from(positions.join(snapshots, on))
                .where(snapshots.c.portfolio == portfolio))
        if as_of is not None:
            stmt = stmt.where(snapshots.c.as_of == as_of)
        return pd.read_sql(stmt.order_by(positions.c.as_of, positions.c.row), conn)


def snapshot_rejections(engine: Engine, portfolio: str,
                        as_of: date | None = None) -> dict[date, dict[str, Any]]:
    """Per snapshot date, what the rows its import rejected carried (``imports.rejected``).

    A store written before that was recorded knows only the count: ``value_local``
    is then missing, and ``unreadable`` is every row.
    """
    stmt = (select(snapshots.c.as_of, imports.c.rows_rejected, imports.c.rejected)
            .select_from(snapshots.join(imports, imports.c.id == snapshots.c.import_id))
            .where(snapshots.c.portfolio == portfolio))
    if as_of is not None:
        stmt = stmt.where(snapshots.c.as_of == as_of)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = {}
    for day, count, rejected in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        out[day] = dict(rejected) if rejected else {
            "rows": int(count or 0), "value_local": {}, "unreadable": int(count or 0),
            "identifiers": [], "unidentified": int(count or 0)}
    return out


# --------------------------------------------------------------------- mappings


def save_mapping(engine: Engine, name: str, columns: Mapping[str, str]) -> None:
    with writing(engine) as conn:
        conn.execute(delete(mappings).where(mappings.c.name == name))
        conn.execute(insert(mappings).values(name=name, columns=dict(columns), created_at=now()))


def load_mappings(engine: Engine) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(mappings.c.name, mappings.c.columns)
                            .order_by(mappings.c.created_at)).all()
    return {name: dict(columns) for name, columns in rows}


# -------------------------------------------------------------------- reference


REFERENCE_TABLES = {"instruments": instruments, "fx_rates": fx_rates, "prices": prices}


def read_reference(engine: Engine, kind: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(select(REFERENCE_TABLES[kind]), conn)


def latest_rates(engine: Engine, as_of: date) -> pd.DataFrame:
    """The rates a conversion on ``as_of`` can use: each quoted pair's latest on or
    before it (what ``lookup_fx`` takes from the whole table). A new portfolio's
    base currency read the whole table before: 0.6 s, and 0.3 s more to search it,
    with the ECB's history since 1999 loaded."""
    return _latest_on(engine, fx_rates, (fx_rates.c.base, fx_rates.c.quote), as_of)


def latest_prices(engine: Engine, as_of: date) -> pd.DataFrame:
    """Each instrument's latest reference price on or before ``as_of`` (what a
    valuation on that date takes from the whole table)."""
    return _latest_on(engine, prices, (prices.c.identifier,), as_of)


def _latest_on(engine: Engine, table, keys: tuple, as_of: date) -> pd.DataFrame:
    """The rows of a dated reference table that are their key's latest on or before
    ``as_of``."""
    latest = (select(*keys, func.max(table.c.date).label("day"))
              .where(table.c.date <= as_of).group_by(*keys).subquery())
    on = table.c.date == latest.c.day
    for key in keys:
        on = on & (key == latest.c[key.name])
    with engine.connect() as conn:
        return pd.read_sql(select(table).join(latest, on), conn)


def instrument_ids(engine: Engine, limit: int) -> list[str] | None:
    """Every identifier of the instrument reference, or None if it has more than ``limit``."""
    with engine.connect() as conn:
        found = conn.execute(select(instruments.c.identifier).limit(limit + 1)).scalars().all()
    return None if len(found) > limit else list(found)


def known_instruments(engine: Engine, identifiers: list[str]) -> set[str]:
    found: set[str] = set()
    with engine.connect() as conn:
        for start, stop in bulk.chunks(len(identifiers), 500):
            found.update(conn.execute(select(instruments.c.identifier).where(
                instruments.c.identifier.in_(identifiers[start:stop]))).scalars())
    return found


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


# ---------------------------------------------------------------------- workers


def beat(engine: Engine, worker: str, queue: str, pool: str) -> None:
    """Record that ``worker`` (host:pid) is alive and consuming ``queue`` (store's clock)."""
    with writing(engine) as conn:
        stamp = db_now(conn)
        done = conn.execute(update(workers).where(workers.c.hostname == worker)
                            .values(heartbeat_at=stamp, queue=queue, pool=pool)).rowcount
        if not done:
            conn.execute(insert(workers).values(hostname=worker, queue=queue, pool=pool,
                                                pid=os.getpid(), started_at=stamp,
                                                heartbeat_at=stamp))


def forget_worker(engine: Engine, worker: str) -> None:
    with writing(engine) as conn:
        conn.execute(delete(workers).where(workers.c.hostname == worker))


def live_workers(engine: Engine, queue: str | None, within: float) -> list[str]:
    """Workers (on ``queue``, or any) whose last heartbeat is under ``within`` seconds
    old by the store's clock."""
    with engine.connect() as conn:
        stmt = select(workers.c.hostname).where(workers.c.heartbeat_at >= db_now(conn, within))
        if queue is not None:
            stmt = stmt.where(workers.c.queue == queue)
        return list(conn.execute(stmt).scalars())


def _has_heartbeat(engine: Engine, worker: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(workers.c.hostname)
                            .where(workers.c.hostname == worker)).first() is not None


def claimer_alive(engine: Engine, claimed_by: str | None, within: float) -> bool:
    """Whether the process that claimed an import may still be running it.

    A worker keeps a heartbeat: it is alive while that is fresh, and on this
    host only while its process exists too (a SIGKILLed worker's heartbeat is
    still fresh for a few seconds). A stopped or hung worker (SIGSTOP, a VM
    pause) has a stale heartbeat: it counts as gone, and if it wakes its write
    fails the claim check. A claimer with no heartbeat (a kernel, a prefork
    child) is judged by its process on this host.
    """
    if not claimed_by:
        return False
    host, _, pid = claimed_by.rpartition(":")
    local = host == socket.gethostname() and pid.isdigit()
    if local and not _pid_alive(int(pid)):
        return False
    if claimed_by in live_workers(engine, None, within):
        return True
    return local and not _has_heartbeat(engine, claimed_by)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)
        if handle:
            ctypes.windll.kernel32.CloseHandle(handle)
        return bool(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned_imports(engine: Engine, within: float) -> list[dict[str, Any]]:
    """Imports left ``running`` on Celery by a process that is gone."""
    with engine.connect() as conn:
        rows = conn.execute(select(imports).where(imports.c.status == "running",
                                                  imports.c.via == "celery")).mappings().all()
    return [dict(r) for r in rows if not claimer_alive(engine, r["claimed_by"], within)]


def waiting_imports(engine: Engine, older_than: float) -> list[dict[str, Any]]:
    """Celery imports ``queued`` for more than ``older_than`` seconds (store's clock)."""
    with engine.connect() as conn:
        rows = conn.execute(select(imports).where(
            imports.c.status == "queued", imports.c.via == "celery",
            imports.c.created_at < db_now(conn, older_than))).mappings().all()
    return [dict(r) for r in rows]


def release_import(engine: Engine, import_id: str, claimed_by: str | None) -> bool:
    """Put an orphaned ``running`` import back to ``queued`` (compare-and-set)."""
    with writing(engine) as conn:
        return conn.execute(update(imports).where(
            imports.c.id == import_id, imports.c.status == "running",
            imports.c.claimed_by == claimed_by).values(status="queued", claimed_by=None,
                                                       claim_token=new_token())
        ).rowcount == 1


def take_resend(engine: Engine, import_id: str, token: str | None) -> bool:
    """Win the right to send a ``queued`` import's task again (compare-and-set on
    its token), so that of several workers recovering at once only one sends it."""
    with writing(engine) as conn:
        same = (imports.c.claim_token.is_(None) if token is None
                else imports.c.claim_token == token)
        return conn.execute(update(imports).where(
            imports.c.id == import_id, imports.c.status == "queued", same)
            .values(claim_token=new_token())).rowcount == 1
