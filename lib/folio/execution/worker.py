"""Celery workers: pool choice, the heartbeat and crash recovery, and starting one.

Owns how a worker runs: ``choose_pool`` (solo by default and always on Windows,
where prefork fails with ``PermissionError: [WinError 5]``), the heartbeat a
worker keeps in the store (how ``via="auto"`` finds a live worker on any
transport, the embedded one included, which cannot answer a remote ping), the
recovery of imports left running by a worker that died, the ``folio worker``
process itself, and ``start_worker`` for a notebook.
"""

from __future__ import annotations

import atexit
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from folio.config import Settings, get_settings
from folio.errors import ExecutionError
from folio.store import queries
from folio.store.db import get_engine

HEARTBEAT_S = 1.0
# A heartbeat older than this means the worker is gone (or stuck behind a lock).
FRESH_S = 6.0


def choose_pool(requested: str | None = None, concurrency: int | None = None,
                platform: str | None = None) -> tuple[str, str]:
    """The pool to run and why: ``(pool, reason)``.

    Solo unless prefork is asked for (``--pool prefork`` or ``--concurrency`` > 1),
    and solo on Windows whatever is asked, since billiard's prefork pool fails
    there.
    """
    platform = platform or sys.platform
    wants_prefork = requested == "prefork" or (requested is None and (concurrency or 1) > 1)
    if platform == "win32":
        if wants_prefork:
            return "solo", "prefork does not work on Windows; running solo"
        return "solo", "solo is the only pool that works on Windows"
    if requested and requested != "prefork":
        return requested, f"--pool {requested}"
    if wants_prefork:
        return "prefork", f"prefork with {concurrency or 'default'} processes, as asked"
    return "solo", "solo by default: one import at a time, in the worker process"


def worker_id() -> str:
    return queries.claimer()


class Heartbeat(threading.Thread):
    """Writes this worker's heartbeat; stops the worker if its parent goes away."""

    def __init__(self, settings: Settings, pool: str, parent_pid: int | None) -> None:
        super().__init__(name="folio-heartbeat", daemon=True)
        self.settings, self.pool, self.parent_pid = settings, pool, parent_pid
        self.stopped = threading.Event()

    def run(self) -> None:
        engine = get_engine(self.settings)
        while not self.stopped.is_set():
            try:
                queries.beat(engine, worker_id(), self.settings.queue, self.pool)
            except Exception as exc:  # a busy store must not kill the worker
                print(f"folio worker: heartbeat failed: {exc}", file=sys.stderr, flush=True)
            if self.parent_pid and os.name != "nt" and os.getppid() != self.parent_pid:
                print("folio worker: parent process gone; stopping", flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            self.stopped.wait(HEARTBEAT_S)

    def stop(self) -> None:
        self.stopped.set()
        try:
            queries.forget_worker(get_engine(self.settings), worker_id())
        except Exception:
            pass


def recover(settings: Settings) -> list[str]:
    """Send again every Celery import left running by a process that died.

    The embedded transport forgets a message once delivered, and Redis gives an
    unacknowledged one back only after its visibility timeout, so the store, not
    the broker, is where an interrupted import is found. The claim in
    ``run_import`` makes sure it still runs exactly once.
    """
    from folio.execution.celery_app import send
    from folio.ingest.pipeline import ImportRequest

    engine = get_engine(settings)
    sent = []
    for record in queries.orphaned_imports(engine, FRESH_S):
        if not record.get("request"):
            continue
        if queries.release_import(engine, record["id"], record["claimed_by"]):
            request = ImportRequest(**dict(record["request"], import_id=record["id"]))
            send(request, settings)
            sent.append(record["id"])
    return sent


def run_worker(pool: str | None = None, concurrency: int | None = None,
               parent_pid: int | None = None, loglevel: str = "INFO") -> int:
    """Run a worker in this process until it is stopped (``folio worker``)."""
    from celery import signals

    from folio.execution.celery_app import get_app

    settings = get_settings()
    chosen, why = choose_pool(pool, concurrency)
    app = get_app(settings)
    described = settings.describe()
    print(f"folio worker {worker_id()}\n  broker: {described['broker']}\n"
          f"  results: {described['result_backend']}\n  pool: {chosen} ({why})\n"
          f"  queues: {settings.queue}\n  store: {described['store']}\n"
          f"  import roots: {', '.join(str(r) for r in settings.import_roots)}", flush=True)
    get_engine(settings)  # create the store's tables before the first task
    heartbeat = Heartbeat(settings, chosen, parent_pid)

    def ready(**_):
        heartbeat.start()
        resent = recover(settings)
        if resent:
            print(f"folio worker: resubmitted {len(resent)} interrupted import(s): "
                  f"{', '.join(resent)}", flush=True)
        print(f"folio worker ready: consuming queue {settings.queue!r}", flush=True)

    def shutdown(**_):
        heartbeat.stop()

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
    options = {"pool": chosen, "loglevel": loglevel, "queues": [settings.queue],
               "hostname": f"folio-{os.getpid()}@{socket.gethostname()}", "without_gossip": True,
               "without_mingle": True, "without_heartbeat": True}
    if chosen == "prefork" and concurrency:
        options["concurrency"] = concurrency
    if chosen == "solo":
        options["concurrency"] = 1
    worker = app.Worker(**options)
    worker.start()
    return worker.exitcode or 0


def reload_worker(args: list[str]) -> int:
    """Run ``folio worker ARGS`` and restart it whenever folio's code changes."""
    import watchfiles

    package = Path(__file__).resolve().parents[1]
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "folio.cli", "worker", *args])
    print(f"folio worker --reload: watching {package}", flush=True)
    watchfiles.run_process(package, target=command, target_type="command",
                           watch_filter=watchfiles.PythonFilter())
    return 0


class WorkerHandle:
    """A worker started by ``start_worker``: ``.alive``, ``.log_tail()``, ``.stop()``."""

    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log, encoding="utf-8", errors="replace") as fh:
                return "".join(deque(fh, maxlen=lines))
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        """Stop warmly (the current import finishes or rolls back), then forcibly."""
        if not self.alive:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited ({self.process.returncode})"
        return f"<WorkerHandle pid={self.pid} {state} log={self.log}>"

    def _repr_html_(self) -> str:
        import html

        return (f"<div>folio worker pid {self.pid}: <b>{'running' if self.alive else 'stopped'}"
                f"</b></div><pre>{html.escape(self.log_tail(10))}</pre>")


def worker_environment(settings: Settings) -> dict[str, str]:
    """The environment that gives a child worker this process's settings."""
    env = dict(os.environ)
    env.update({
        "FOLIO_HOME": str(settings.home), "FOLIO_DATABASE_URL": settings.database_url,
        "FOLIO_BROKER_URL": settings.broker_url, "FOLIO_RESULT_BACKEND": settings.result_backend,
        "FOLIO_QUEUE": settings.queue,
        "FOLIO_IMPORT_ROOTS": os.pathsep.join(str(r) for r in settings.import_roots),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def start_worker(*, pool: str = "solo", ready_timeout: float = 60.0,
                 settings: Settings | None = None) -> WorkerHandle:
    """Start a worker as a child of this process (a notebook kernel), ready to use.

    It stops with ``.stop()``, when this process exits, or (on Linux and macOS)
    when this process dies without cleaning up. Returns once the worker says it
    is ready.
    """
    settings = settings or get_settings()
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"worker-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    command = [sys.executable, "-m", "folio.cli", "worker", "--pool", pool,
               "--parent-pid", str(os.getpid())]
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env=worker_environment(settings), stdin=subprocess.DEVNULL)
    handle = WorkerHandle(process, log)
    atexit.register(handle.stop)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if "folio worker ready" in handle.log_tail(200):
            return handle
        if not handle.alive:
            break
        time.sleep(0.1)
    tail = handle.log_tail(30)
    handle.stop()
    raise ExecutionError(f"the worker did not become ready in {ready_timeout:g} s:\n{tail}",
                         log=str(log), remote_traceback=tail)
