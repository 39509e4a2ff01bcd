"""Imports on real Celery workers: the same behaviour as local, and what only
a worker can get wrong (no worker, no broker, a killed worker, hostile messages).

Every Celery test starts a real ``folio worker`` process; nothing runs eagerly.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

import folio
from folio.config import get_settings
from folio.execution.worker import choose_pool, start_worker
from folio.store import queries
from folio.store.db import get_engine
from folio.store.schema import imports, positions, snapshots

from builders import ORANGE, TOTAL, big_english_csv, fr_row, french_csv, french_statement
from services import service_url

MODES = ["local", "celery-embedded", "celery-redis", "celery-rabbitmq"]


def use_broker(monkeypatch, mode: str) -> None:
    monkeypatch.setenv("FOLIO_QUEUE", f"folio-test-{uuid.uuid4().hex[:8]}")
    if mode == "celery-redis":
        url = service_url("redis").rstrip("/") + "/0"
        monkeypatch.setenv("FOLIO_BROKER_URL", url)
        monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    elif mode == "celery-rabbitmq":
        monkeypatch.setenv("FOLIO_BROKER_URL", service_url("rabbitmq"))


@pytest.fixture
def workers():
    """Start workers on demand; every one is stopped at the end of the test."""
    started = []

    def start(**kwargs):
        handle = start_worker(**kwargs)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture(params=MODES)
def mode(request, monkeypatch, workers):
    """An execution mode with what it needs running; returns the ``via`` to use."""
    if request.param == "local":
        return "local"
    use_broker(monkeypatch, request.param)
    workers()
    return "celery"


def french_file(tmp_path):
    return french_statement(tmp_path / "releve.csv")


# --------------------------------------------------------------- conformance


def test_import_same_result_every_way(tmp_path, mode):
    job = folio.submit_import(french_file(tmp_path), "TRESO-SN", via=mode)
    result = job.result(timeout=60)
    assert job.via == result.via == mode
    assert result.status == "partially_succeeded"
    assert (result.rows_total, result.rows_imported, result.rows_rejected) == (3, 2, 1)
    assert result.issues[["row", "code"]].values.tolist() == [[8, "invalid_isin"]]
    assert (result.task_id == job.id) if mode == "celery" else result.task_id is None
    assert sorted(folio.positions("TRESO-SN")["identifier"]) == sorted([TOTAL, ORANGE])
    again = folio.submit_import(french_file(tmp_path), "TRESO-SN", via=mode).result(60)
    assert again.status == "unchanged"
    assert len(folio.positions("TRESO-SN")) == 2


def test_errors_arrive_typed_with_fields(tmp_path, mode):
    path = tmp_path / "cols.csv"
    path.write_text("ISIN;Libellé\nFR0000120271;Total\n", encoding="utf-8")
    job = folio.submit_import(path, "P", as_of="2024-01-31", via=mode)
    error = job.exception(timeout=60)
    assert isinstance(error, folio.MappingError)
    assert "quantity" in error.missing and "ISIN" in error.found
    assert error.import_id == job.id
    if mode == "celery":
        assert "MappingError" in error.remote_traceback
    assert job.status == "failed"
    assert folio.get_import(job.id).status == "failed"


def test_progress_reaches_the_job(tmp_path, mode):
    n = 600_000  # long enough (a second or two) for several reports
    path = big_english_csv(tmp_path / "big.csv", n, lots=False)
    job = folio.submit_import(path, "BIG", as_of="2024-01-31", via=mode)
    seen, said = set(), set()
    while not job.wait(0.02):
        seen.add(job.progress)
        said.add(job.status_message)
    assert job.result().rows_imported == n
    assert job.progress == (2 * n, 2 * n)  # each row checked, then written
    assert any(0 < done < 2 * n for done, _ in seen), seen
    assert said & {"running: checking", "running: writing"}, said  # what it is doing


# ------------------------------------------------------------ worker choice


def test_the_embedded_broker_and_results_let_readers_in_while_a_worker_writes():
    """WAL mode: a client polling a task's state never waits for the worker's commit."""
    import sqlite3

    from folio.execution.celery_worker import get_app

    get_app(get_settings())
    for name in ("broker.db", "results.db"):
        with sqlite3.connect(get_settings().home / name) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal", name


def test_the_embedded_broker_takes_a_message_sent_after_it_found_its_queue_empty(tmp_path):
    """An empty look at a queue is not queried again until someone writes to the
    broker's database: a message sent then (by another connection, as a client's)
    is taken at the next look, and one sent meanwhile is not missed."""
    from queue import Empty

    from kombu import Connection

    from folio.execution import transports

    url = transports.broker_url(f"sqla+sqlite:///{tmp_path / 'broker.db'}")
    with Connection(url) as worker, Connection(url) as client:
        queue, sender = worker.SimpleQueue("imports"), client.SimpleQueue("imports")
        for n in range(3):
            for _ in range(2):  # the second look is the one the database answers
                with pytest.raises(Empty):
                    queue.get(block=False)
            sender.put({"n": n})
            message = queue.get(timeout=1)
            assert message.payload == {"n": n}
            message.ack()


def test_the_embedded_results_keep_their_engine_and_do_not_wait_for_the_disk():
    """Celery's database backend made an engine (a connection, a statement cache)
    for every read of a task's state; folio's keeps one, and an SQLite commit
    does not wait for the disk (the store's setting)."""
    from folio.execution.celery_worker import get_app

    backend = get_app(get_settings()).backend
    backend.store_result("some-task", {"done": 1, "total": 4, "stage": "checking"}, "PROGRESS")
    meta = backend.get_task_meta("some-task")
    assert (meta["status"], meta["result"]["done"]) == ("PROGRESS", 1)
    first, second = backend.ResultSession(), backend.ResultSession()
    try:
        assert first.get_bind() is second.get_bind()
        with first.get_bind().connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    finally:
        first.close()
        second.close()


def test_a_held_heartbeat_is_held_until_released_and_never_for_long(monkeypatch):
    """An import writing to an SQLite store holds the worker's heartbeat (a beat
    would wait for its lock, then checkpoint its rows while the result is stored);
    a hold never released lets the heartbeat write again within HOLD_MAX_S."""
    from folio.execution import recovery

    assert not recovery.beats_held()
    recovery.hold_beats("task-1")
    assert recovery.beats_held()
    recovery.release_beats("task-1")
    assert not recovery.beats_held()
    monkeypatch.setattr(recovery, "HOLD_MAX_S", 0.05)
    recovery.hold_beats("task-2")  # never released
    time.sleep(0.1)
    assert not recovery.beats_held()
    recovery.release_beats("task-2")


def test_once_the_worker_writes_a_commit_without_a_task_result_is_taken_from_the_store(
        tmp_path, monkeypatch):
    """The import record is final before the task's result is stored: the client
    then waits for that result (it carries the whole result) a short while, and
    takes the store's word only if it never comes (a worker killed in between).
    An import that failed is left to the task's own result (its typed error)."""
    from folio.execution import celery_client
    from folio.execution.celery_client import CeleryHandle
    from folio.execution.celery_worker import get_app

    monkeypatch.setattr(celery_client, "COMMITTED_WAIT_S", 0.3)
    done = folio.import_file(french_file(tmp_path), "P", via="local")
    bad = french_csv(tmp_path / "unmapped.csv", [fr_row(TOTAL, "TotalEnergies SE", "1", "1", "1")])
    with pytest.raises(folio.FolioError) as caught:
        folio.import_file(bad, "Q", via="local", mapping={"ISIN": "nothing"})
    failed = caught.value.import_id
    # Tasks nobody sent: their state stays PENDING, as while a worker still runs them.
    ok = CeleryHandle(get_app(get_settings()), uuid.uuid4().hex, done.import_id, get_settings())
    error = CeleryHandle(get_app(get_settings()), uuid.uuid4().hex, failed, get_settings())
    for handle in (ok, error):
        assert handle.poll().state == "queued"  # before the worker writes: the task's word
        handle._stage = "writing"  # what the worker's last progress said
    assert ok.poll().state == "queued"  # committed: the task's result is awaited
    time.sleep(0.35)
    assert ok.poll().state == "done"
    result = ok.outcome()
    assert (result.import_id, result.status, result.rows_imported, result.rows_rejected) == (
        done.import_id, done.status, done.rows_imported, done.rows_rejected)
    assert list(zip(result.issues["row"], result.issues["code"], strict=True)) == list(
        zip(done.issues["row"], done.issues["code"], strict=True))
    assert error.poll().state != "done"  # waits for the task's typed error (or the grace)


def test_pool_choice_per_platform():
    assert choose_pool(platform="linux")[0] == "solo"
    assert choose_pool(platform="darwin")[0] == "solo"
    assert choose_pool(platform="win32")[0] == "solo"
    assert choose_pool("prefork", 4, platform="linux")[0] == "prefork"
    assert choose_pool(None, 4, platform="darwin")[0] == "prefork"
    pool, why = choose_pool("prefork", 4, platform="win32")
    assert pool == "solo" and "Windows" in why
    assert choose_pool("threads", platform="linux")[0] == "threads"


def test_worker_from_a_notebook(tmp_path, workers):
    handle = workers()
    assert handle.alive
    log = handle.log_tail(50)
    assert "pool: solo" in log and "ready" in log and "queues: folio" in log
    assert "store: sqlite" in log
    assert f"output roots: {get_settings().home / 'exports'}" in log
    assert queries.live_workers(get_engine(get_settings()), "folio", 6)
    result = folio.import_file(french_file(tmp_path), "P", via="auto")
    assert result.via == "celery" and result.fallback_reason is None
    handle.stop()
    assert not handle.alive
    assert not queries.live_workers(get_engine(get_settings()), "folio", 6)
    fallback = folio.import_file(french_file(tmp_path), "Q", via="auto")
    assert fallback.via == "local" and fallback.fallback_reason == "no worker live on queue 'folio'"


def test_worker_banner_masks_the_password(tmp_path):
    url = service_url("redis")
    secret = url.replace("redis://", "redis://folio:s3cret@", 1)
    env = {"FOLIO_HOME": str(tmp_path / "h"), "FOLIO_BROKER_URL": secret,
           "FOLIO_RESULT_BACKEND": secret, "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([sys.executable, "-m", "folio.cli", "worker"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
    finally:
        proc.kill()
        proc.wait()
    banner = "".join(lines)
    assert "folio:***@" in banner and "s3cret" not in banner


# ------------------------------------------------------------ no worker, no broker


def test_auto_without_worker_falls_back_at_once(tmp_path):
    """No fresh heartbeat in the store is the answer: no wait for ``auto_timeout``
    (1 s), no broker probed. (Loose bound; the bench prints the figure.)"""
    from folio.execution.celery_backend import find_worker

    find_worker(get_settings())  # the store's tables and connection exist from here
    start = time.monotonic()
    job = folio.submit_import(french_file(tmp_path), "P", via="auto")
    decided = time.monotonic() - start
    assert job.via == "local" and job.fallback_reason == "no worker live on queue 'folio'"
    assert decided < 0.5, decided
    result = job.result(60)
    assert result.fallback_reason == "no worker live on queue 'folio'"
    assert folio.imports().iloc[0]["fallback_reason"] == "no worker live on queue 'folio'"


def test_no_worker_means_no_broker_probe(tmp_path, monkeypatch):
    from folio.execution import celery_backend

    def probe(*_args):
        raise AssertionError("the broker was probed with no live worker")

    monkeypatch.setattr(celery_backend, "broker_problem", probe)
    monkeypatch.setenv("FOLIO_BROKER_URL", "redis://127.0.0.1:1/0")
    job = folio.submit_import(french_file(tmp_path), "P", via="auto")
    assert job.fallback_reason == "no worker live on queue 'folio'"
    assert job.result(60).status == "partially_succeeded"


def test_no_broker_is_said_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("FOLIO_BROKER_URL", "redis://user:pw@127.0.0.1:1/0")
    # A worker's heartbeat is fresh (it lost its broker since): the broker is probed.
    queries.beat(get_engine(get_settings()), "elsewhere:1", "folio", "solo")
    start = time.monotonic()
    job = folio.submit_import(french_file(tmp_path), "P", via="auto")
    assert time.monotonic() - start < 1.5
    assert job.fallback_reason.startswith("no broker at redis://user:***@127.0.0.1:1/0")
    assert job.result(60).status == "partially_succeeded"
    start = time.monotonic()
    with pytest.raises(folio.WorkerUnavailable, match="no broker at"):
        folio.submit_import(french_file(tmp_path), "P2", via="celery")
    assert time.monotonic() - start < 1.5


def test_celery_without_worker_fails_fast(tmp_path):
    start = time.monotonic()
    with pytest.raises(folio.WorkerUnavailable, match="no worker live on queue 'folio'"):
        folio.submit_import(french_file(tmp_path), "P", via="celery")
    assert time.monotonic() - start < 1.5


def test_queued_job_says_no_worker_has_taken_it(tmp_path, workers, monkeypatch):
    monkeypatch.setenv("FOLIO_QUEUE_TIMEOUT", "0.5")
    handle = workers()
    handle.process.kill()  # its heartbeat still looks fresh for a few seconds
    handle.process.wait()
    job = folio.submit_import(french_file(tmp_path), "P", via="celery")
    time.sleep(1.0)
    assert job.status == "queued"
    assert job.status_message.startswith("queued, no worker has taken it")
    assert "no worker has taken it" in repr(job)
    workers()  # a worker comes: the waiting task runs
    assert job.result(60).status == "partially_succeeded"


# ------------------------------------------------------------------ crash safety


def store_rows(table, portfolio):
    with get_engine(get_settings()).connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)
                            .where(table.c.portfolio == portfolio)).scalar()


@pytest.mark.parametrize("broker", ["celery-embedded", "celery-redis"])
def test_killed_worker_leaves_store_unchanged_and_import_completes_once(
        tmp_path, workers, monkeypatch, broker):
    use_broker(monkeypatch, broker)
    n = 1_000_000  # a second or two of work (imports got faster): room to kill it mid-way
    path = big_english_csv(tmp_path / "big.csv", n, lots=False)
    handle = workers()
    job = folio.submit_import(path, "CRASH", as_of="2024-01-31", via="celery")
    deadline = time.monotonic() + 60
    while job.progress[0] == 0 and time.monotonic() < deadline:  # checking or writing
        time.sleep(0.01)
    assert job.progress[0] > 0 and not job.done(), (job.progress, job.status_message)
    handle.process.kill()  # SIGKILL: no cleanup of any kind
    handle.process.wait()
    assert store_rows(positions, "CRASH") == 0 and store_rows(snapshots, "CRASH") == 0
    assert folio.get_import(job.id).status == "running"

    workers()  # back: the interrupted import is found and run again
    result = job.result(timeout=120)
    assert result.status == "succeeded" and result.rows_imported == n
    assert store_rows(positions, "CRASH") == n
    frame = folio.positions("CRASH")
    assert frame["identifier"].is_unique and set(frame["import_id"]) == {job.id}
    with get_engine(get_settings()).connect() as conn:
        records = conn.execute(sa.select(imports.c.id, imports.c.status)
                               .where(imports.c.portfolio == "CRASH")).all()
    assert [tuple(r) for r in records] == [(job.id, "succeeded")]


def test_two_claims_cannot_both_run(tmp_path):
    engine = get_engine(get_settings())
    queries.create_import(engine, import_id="a" * 32, portfolio="P", file_name="f",
                          file_path=None, via="celery", status="queued")
    results = []
    barrier = threading.Barrier(4)

    def claim():
        barrier.wait()
        results.append(queries.claim_import(engine, "a" * 32, stale_running=True))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 3
    claim = next(r for r in results if r is not None)
    assert claim.status == "queued"
    assert queries.get_import(engine, "a" * 32)["claim_token"] == claim.token


# ------------------------------------------------------------------------ security


@pytest.mark.parametrize("kind", ["pickle", "yaml"])
def test_pickle_or_yaml_message_is_refused(tmp_path, workers, kind):
    from kombu import Exchange, Queue

    from folio.execution.celery_worker import get_app

    handle = workers()
    settings = get_settings()
    marker = tmp_path / "pwned"
    if kind == "pickle":
        body, options = ((Exploit(str(marker)),), {}, {}), {"serializer": "pickle"}
    else:  # a YAML loader that builds Python objects would run this
        body = f"- !!python/object/apply:os.system ['touch {marker}']\n- {{}}\n- {{}}\n"
        options = {"content_type": "application/x-yaml", "content_encoding": "utf-8"}
    app = get_app(settings)
    queue = Queue(settings.queue, Exchange(settings.queue), routing_key=settings.queue)
    with app.connection_for_write() as conn:
        conn.Producer().publish(
            body, exchange=queue.exchange, routing_key=settings.queue, declare=[queue],
            headers={"task": "folio.import", "id": uuid.uuid4().hex, "lang": "py"}, **options)
    deadline = time.monotonic() + 20
    while "Refusing" not in handle.log_tail(100) and time.monotonic() < deadline:
        time.sleep(0.1)
    log = handle.log_tail(100)
    assert f"Refusing to deserialize untrusted content of type {kind}" in log
    assert not marker.exists()
    assert handle.alive  # and the worker keeps serving
    assert folio.import_file(french_file(tmp_path), "P", via="celery", timeout=60).ok


class Exploit:
    """Unpickling this would create a file: proof that nothing was unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_path_outside_roots_is_refused_by_the_worker(tmp_path, workers):
    from folio.execution.celery_client import send
    from folio.ingest.pipeline import ImportRequest

    workers()
    secret = tmp_path / "elsewhere" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("ISIN,Quantity,Market Value,Currency\nFR0000120271,1,1,EUR\n")
    engine = get_engine(get_settings())
    request = ImportRequest(path=str(secret), portfolio="P", as_of="2024-01-31",
                            import_id=uuid.uuid4().hex, via="celery")
    queries.create_import(engine, import_id=request.import_id, portfolio="P",
                          file_name="secret.csv", file_path=str(secret), via="celery",
                          status="queued")
    handle = send(request, get_settings())
    assert handle.wait(60)
    error = handle.outcome()
    assert isinstance(error, folio.FolioError) and error.code == "path_not_allowed"
    assert str(secret) in error.message and error.roots
    assert folio.get_import(request.import_id).status == "failed"
    # Through submit_import the same file is staged into uploads and imports fine.
    result = folio.import_file(secret, "P", as_of="2024-01-31", via="celery", timeout=60)
    assert result.status == "succeeded"
    staged = list(get_settings().uploads.iterdir())
    assert len(staged) == 1 and staged[0].suffix == ".csv"


def test_two_workers_on_redis_import_two_portfolios_at_once(tmp_path, workers, monkeypatch):
    use_broker(monkeypatch, "celery-redis")
    workers()
    workers()
    a = big_english_csv(tmp_path / "a.csv", 60_000, lots=False)
    b = big_english_csv(tmp_path / "b.csv", 60_000, currency="USD", lots=False)
    jobs = [folio.submit_import(a, "A", as_of="2024-01-31", via="celery"),
            folio.submit_import(b, "B", as_of="2024-01-31", via="celery")]
    results = [job.result(timeout=120) for job in jobs]
    assert [r.status for r in results] == ["succeeded", "succeeded"]
    claimers = {folio.get_import(j.id).via for j in jobs}
    assert claimers == {"celery"}
    with get_engine(get_settings()).connect() as conn:
        who = conn.execute(sa.select(imports.c.claimed_by)
                           .where(imports.c.id.in_([j.id for j in jobs]))).scalars().all()
    assert len(set(who)) == 2  # each worker took one
    assert store_rows(positions, "A") == store_rows(positions, "B") == 60_000
