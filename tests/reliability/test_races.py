"""Imports of one snapshot racing each other in real processes: nothing lost, mixed or doubled.

Each import runs ``run_import`` in a process of its own (the way two kernels
or two workers do). The race is set up with the pipeline's own progress
callback: it reports ``writing`` once the file is read and checked, just before
the write transaction, and there the test holds one process with an event or a
barrier until the other has done what the race needs. Expected rows are the
files' own rows, written out by the test.
"""

from __future__ import annotations

import multiprocessing
import queue as queue_module

import pytest
import sqlalchemy as sa

from folio.config import get_settings
from folio.ingest.pipeline import ImportRequest, run_import
from folio.store.db import get_engine
from folio.store.schema import imports, portfolios, positions, snapshots

from builders import BNP, ORANGE, TOTAL, english_csv

AS_OF = "2024-01-31"
BOUND_S = 90  # no process of a race may take longer than this
ROUNDS = 3

FILE_X = [(TOTAL, "Total", 10, 60.0, 600.0, "EUR", AS_OF),
          (ORANGE, "Orange", 20, 10.0, 200.0, "EUR", AS_OF)]
FILE_Y = [(BNP, "BNP", 5, 70.0, 350.0, "EUR", AS_OF),
          (TOTAL, "Total", 1, 60.0, 60.0, "EUR", AS_OF),
          (ORANGE, "Orange", 3, 10.0, 30.0, "EUR", AS_OF)]


def expected(rows: list[tuple]) -> list[tuple]:
    """(identifier, quantity) of a file's rows, sorted: what its snapshot must hold."""
    return sorted((r[0], float(r[2])) for r in rows)


def held(portfolio: str) -> list[tuple]:
    with get_engine(get_settings()).connect() as conn:
        return sorted(tuple(r) for r in conn.execute(
            sa.select(positions.c.identifier, positions.c.quantity)
            .where(positions.c.portfolio == portfolio)).all())


def racer(path: str, portfolio: str, wait_for, then_set, barrier, out,
          base_currency: str | None = None) -> None:
    """Import ``path`` (asking ``base_currency`` if given); at the first ``writing``
    report, set ``then_set``, wait for ``wait_for`` and meet ``barrier`` (any of
    them may be None)."""
    reached = []

    def progress(done, total, stage):
        if stage == "writing" and not reached:
            reached.append(True)
            if then_set is not None:
                then_set.set()
            if wait_for is not None and not wait_for.wait(BOUND_S):
                raise TimeoutError("the other import never got there")
            if barrier is not None:
                barrier.wait(BOUND_S)

    try:
        result = run_import(ImportRequest(path=path, portfolio=portfolio, import_id=None,
                                          via="local", base_currency=base_currency),
                            progress=progress)
        out.put(("ok", result.import_id, result.status, result.rows_imported))
    except Exception as exc:  # reported to the test, which fails with it (or expects it)
        out.put(("error", type(exc).__name__, str(exc), getattr(exc, "fields", None)))


def race(specs: list[dict], *, all_ok: bool = True) -> list[tuple]:
    """Run one racer per spec in its own process; return their outcomes in spec order."""
    context = multiprocessing.get_context("spawn")
    outs = [context.Queue() for _ in specs]
    procs = [context.Process(target=racer, kwargs=dict(spec, out=out))
             for spec, out in zip(specs, outs, strict=True)]
    for proc in procs:
        proc.start()
    return collect(procs, outs, all_ok=all_ok)


def collect(procs, outs, *, all_ok: bool = True) -> list[tuple]:
    """Each process's outcome, within the bound; every process ended afterwards."""
    outcomes = []
    try:
        for out in outs:
            outcomes.append(out.get(timeout=BOUND_S))
    except queue_module.Empty:
        pytest.fail(f"a racing import did not finish in time; the others said {outcomes}")
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    for outcome in outcomes:
        assert outcome[0] == "ok" or not all_ok, outcome
    return outcomes


def history(portfolio: str) -> list[tuple]:
    """(import id, status, rows imported) of each import of the snapshot, in commit order."""
    with get_engine(get_settings()).connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(imports.c.id, imports.c.status, imports.c.rows_imported)
            .where(imports.c.portfolio == portfolio)
            .order_by(imports.c.finished_at)).all()]


def current_import(portfolio: str) -> str:
    with get_engine(get_settings()).connect() as conn:
        return conn.execute(sa.select(snapshots.c.import_id)
                            .where(snapshots.c.portfolio == portfolio)).scalar_one()


def test_a_reimport_racing_another_file_never_empties_the_snapshot(tmp_path, store):
    """Kernel A re-imports the file that is the snapshot; B imports another file
    and commits between A's check of the store and A's write. A must write its
    rows (its file is the latest now), not delete B's and insert none."""
    x = str(english_csv(tmp_path / "x.csv", FILE_X))
    y = str(english_csv(tmp_path / "y.csv", FILE_Y))
    context = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        portfolio = f"R{round_}"
        first = run_import(ImportRequest(path=x, portfolio=portfolio, via="local"))
        assert first.status == "succeeded" and held(portfolio) == expected(FILE_X)
        # B starts once A has found its file already in the store; A writes once B committed.
        outcomes = _sequenced(x, y, portfolio, context.Event(), context.Event())
        (_, a_id, a_status, a_rows), (_, b_id, b_status, _) = outcomes
        assert b_status == "succeeded"
        assert a_status == "succeeded" and a_rows == len(FILE_X), outcomes
        assert held(portfolio) == expected(FILE_X)  # A's file, whole: it committed last
        assert current_import(portfolio) == a_id
        assert history(portfolio) == [(first.import_id, "succeeded", 2), (b_id, "succeeded", 3),
                                      (a_id, "succeeded", 2)]


def _sequenced(x: str, y: str, portfolio: str, a_checked, b_done) -> list[tuple]:
    """A checks, then B imports and commits, then A writes."""
    context = multiprocessing.get_context("spawn")
    out_a, out_b = context.Queue(), context.Queue()
    proc_a = context.Process(target=racer, kwargs=dict(
        path=x, portfolio=portfolio, wait_for=b_done, then_set=a_checked, barrier=None,
        out=out_a))
    proc_b = context.Process(target=_then_signal, args=(y, portfolio, b_done, out_b))
    proc_a.start()
    if not a_checked.wait(BOUND_S):
        proc_a.kill()
        pytest.fail("A never reached its write")
    proc_b.start()
    return collect([proc_a, proc_b], [out_a, out_b])


def _then_signal(path: str, portfolio: str, done, out) -> None:
    racer(path, portfolio, None, None, None, out)
    done.set()


@pytest.mark.parametrize("same_file", [False, True], ids=["two-files", "same-file"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-snapshot", "replacing"])
def test_imports_of_one_snapshot_at_the_same_moment_never_mix_or_double(tmp_path, store,
                                                                        same_file, existing):
    """Two imports of one (portfolio, date) meet at a barrier just before their
    writes, then write at once: the snapshot holds exactly one file's rows, the
    file of the import that committed last, and both are in the history."""
    x = str(english_csv(tmp_path / "x.csv", FILE_X))
    y = str(english_csv(tmp_path / "y.csv", FILE_Y))
    older = str(english_csv(tmp_path / "old.csv", FILE_X[:1]))
    files = {x: FILE_X, y: FILE_Y}
    second = x if same_file else y
    context = multiprocessing.get_context("spawn")
    for round_ in range(ROUNDS):
        portfolio = f"S{round_}"
        if existing:
            run_import(ImportRequest(path=older, portfolio=portfolio, via="local"))
        barrier = context.Barrier(2)
        outcomes = race([dict(path=x, portfolio=portfolio, wait_for=None, then_set=None,
                              barrier=barrier),
                         dict(path=second, portfolio=portfolio, wait_for=None, then_set=None,
                              barrier=barrier)])
        statuses = sorted(o[2] for o in outcomes)
        if same_file:
            # The first to commit writes the file; the second finds it there.
            assert statuses == ["succeeded", "unchanged"], outcomes
        else:
            assert statuses == ["succeeded", "succeeded"], outcomes
        raced = history(portfolio)[-2:]
        assert {r[0] for r in raced} == {o[1] for o in outcomes}
        last_id = raced[-1][0]
        last_path = next(p for (_, i, _, _), p in zip(outcomes, [x, second], strict=True)
                         if i == last_id)
        winner = raced[-1] if not same_file else next(r for r in raced if r[1] == "succeeded")
        assert current_import(portfolio) == winner[0]
        assert held(portfolio) == expected(files[last_path])  # one file's rows, once


def opener(barrier, out) -> None:
    """Open the store (creating its tables if it is new) the moment the others do."""
    from folio.store.db import get_engine as engine_now

    barrier.wait(BOUND_S)
    try:
        engine_now(get_settings())
        out.put(("ok", None, None, None))
    except Exception as exc:  # reported to the test, which fails with it
        out.put(("error", type(exc).__name__, str(exc), None))


def test_processes_opening_a_new_store_at_once_all_get_it(store):
    """Two workers and two kernels start on an empty store at the same moment: each
    must open it (one creates the tables, the others find them), none fail."""
    context = multiprocessing.get_context("spawn")
    for _ in range(ROUNDS):
        if store == "sqlite":
            get_settings().home.mkdir(parents=True, exist_ok=True)
            for leftover in get_settings().home.glob("folio.db*"):
                leftover.unlink()
        else:  # an empty database again: drop what the last round made
            with get_engine(get_settings()).begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        from folio.store.db import dispose_all

        dispose_all()
        barrier = context.Barrier(4)
        outs = [context.Queue() for _ in range(4)]
        procs = [context.Process(target=opener, args=(barrier, out)) for out in outs]
        for proc in procs:
            proc.start()
        collect(procs, outs)


def _two_dates(tmp_path, portfolio: str, rows_x: list[tuple], rows_y: list[tuple],
               asked: tuple[str | None, str | None]) -> list[tuple]:
    """Import two files (of two dates) into ``portfolio`` at once, each asking its
    base currency in ``asked``; they meet at a barrier just before their writes."""
    x = str(english_csv(tmp_path / "x.csv", rows_x))
    y = str(english_csv(tmp_path / "y.csv", rows_y))
    barrier = multiprocessing.get_context("spawn").Barrier(2)
    return race([dict(path=path, portfolio=portfolio, wait_for=None, then_set=None,
                      barrier=barrier, base_currency=ccy)
                 for path, ccy in zip((x, y), asked, strict=True)], all_ok=False)


def test_two_dates_creating_one_portfolio_with_two_base_currencies_one_wins(tmp_path, store):
    """Two imports of different dates (two snapshot locks) both create a new
    portfolio, one asking EUR and one XOF, and meet at a barrier just before
    their writes: exactly one succeeds, the other fails with a typed error
    naming both currencies, and the store holds one portfolio in the winner's
    currency and only the winner's snapshot."""
    later = "2024-02-29"
    file_y = [(*row[:-1], later) for row in FILE_Y]
    for round_ in range(ROUNDS):
        portfolio = f"B{round_}"
        outcomes = _two_dates(tmp_path, portfolio, FILE_X, file_y, ("EUR", "XOF"))
        won = [i for i, o in enumerate(outcomes) if o[0] == "ok"]
        assert len(won) == 1, outcomes
        winner, loser = won[0], 1 - won[0]
        asked = ("EUR", "XOF")
        kind, name, message, fields = outcomes[loser]
        assert (kind, name) == ("error", "ValidationError"), outcomes
        assert asked[winner] in message and asked[loser] in message, message
        assert fields["current"] == asked[winner] and fields["value"] == asked[loser]
        assert outcomes[winner][2] == "succeeded"
        with get_engine(get_settings()).connect() as conn:
            bases = conn.execute(sa.select(portfolios.c.base_currency)
                                 .where(portfolios.c.name == portfolio)).scalars().all()
            dates = conn.execute(sa.select(snapshots.c.as_of)
                                 .where(snapshots.c.portfolio == portfolio)).scalars().all()
            statuses = dict(conn.execute(sa.select(imports.c.base_currency, imports.c.status)
                                         .where(imports.c.portfolio == portfolio)
                                         .where(imports.c.status == "succeeded")).all())
        assert bases == [asked[winner]]
        assert [str(d) for d in dates] == [(AS_OF, later)[winner]]
        assert held(portfolio) == expected((FILE_X, file_y)[winner])
        assert statuses == {asked[winner]: "succeeded"}  # the record says the base it took


def test_two_dates_creating_one_portfolio_by_value_take_the_winners_currency(tmp_path, store):
    """The same race with no base currency asked: one file is all EUR, the other
    all XOF, so each would choose its own. Both succeed; the portfolio has the
    first writer's currency, and the other import's record says it took that
    one and why (another import created the portfolio first)."""
    file_y = [(r[0], r[1], r[2], r[3], r[4], "XOF", "2024-02-29") for r in FILE_Y]
    for round_ in range(ROUNDS):
        portfolio = f"V{round_}"
        outcomes = _two_dates(tmp_path, portfolio, FILE_X, file_y, (None, None))
        assert [o[:1] + o[2:3] for o in outcomes] == [("ok", "succeeded")] * 2, outcomes
        with get_engine(get_settings()).connect() as conn:
            base = conn.execute(sa.select(portfolios.c.base_currency)
                                .where(portfolios.c.name == portfolio)).scalar_one()
            records = {r.id: r for r in conn.execute(
                sa.select(imports.c.id, imports.c.base_currency, imports.c.base_currency_reason)
                .where(imports.c.portfolio == portfolio)).all()}
        assert base in ("EUR", "XOF")
        loser = "XOF" if base == "EUR" else "EUR"
        assert {r.base_currency for r in records.values()} == {base}
        reasons = sorted((r.base_currency_reason for r in records.values()),
                         key=lambda why: not why.startswith("another"))
        assert reasons[0].startswith(
            f"another import created the portfolio first, with {base} (this one would have "
            f"taken {loser}: {loser} holds the most value"), reasons
        assert reasons[1].startswith(f"{base} holds the most value"), reasons
