"""Celery workers: pool choice, the ``folio worker`` process, and starting one.

Owns how a worker runs: ``choose_pool`` (solo by default and always on Windows,
where prefork fails with ``PermissionError: [WinError 5]``), ``run_worker`` (the
``folio worker`` process, with Celery's usual worker options passed through),
``reload_worker``, and ``start_worker`` for a notebook. What keeps imports
alive across workers (heartbeat, recovery) is ``recovery``.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shlex
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

from folio.config import Settings, as_environment, get_settings
from folio.errors import ConfigError, ExecutionError
from folio.execution.recovery import FRESH_S as FRESH_S  # re-exported: tests read it here
from folio.execution.recovery import Heartbeat, report_recovery, worker_id
from folio.store.db import get_engine


def choose_pool(requested: str | None = None, concurrency: int | None = None,
                platform: str | None = None, *,
                autoscale: tuple[int, int] | None = None) -> tuple[str, str]:
    """The pool to run and why: ``(pool, reason)``.

    Solo unless prefork is asked for (``--pool prefork``, ``--concurrency`` > 1 or
    ``--autoscale``), and solo on Windows whatever is asked, since billiard's
    prefork pool fails there.
    """
    platform = platform or sys.platform
    wants_prefork = requested == "prefork" or (
        requested is None and ((concurrency or 1) > 1 or autoscale is not None))
    if platform == "win32":
        if wants_prefork:
            return "solo", "prefork does not work on Windows; running solo"
        return "solo", "solo is the only pool that works on Windows"
    if requested and requested != "prefork":
        return requested, f"--pool {requested}"
    if autoscale is not None:
        return "prefork", f"prefork autoscaling from {autoscale[1]} to {autoscale[0]} processes"
    if wants_prefork:
        return "prefork", f"prefork with {concurrency or 'default'} processes, as asked"
    return "solo", "solo by default: one import at a time, in the worker process"


def parse_autoscale(value: str | None) -> tuple[int, int] | None:
    """``"MAX,MIN"`` (or ``"MAX"``) as Celery reads it: ``(max, min)``."""
    if not value:
        return None
    try:
        numbers = sorted((int(part) for part in value.split(",")), reverse=True)
    except ValueError:
        numbers = []
    if not 1 <= len(numbers) <= 2 or numbers[-1] < 0 or numbers[0] < 1:
        raise ConfigError(f"--autoscale {value!r}: give MAX,MIN process counts, e.g. 4,1",
                          setting="autoscale", value=value)
    return numbers[0], numbers[1] if len(numbers) == 2 else 0


def run_worker(pool: str | None = None, concurrency: int | None = None,
               parent_pid: int | None = None, loglevel: str = "INFO", *,
               hostname: str | None = None, queues: str | None = None,
               task_events: bool = False, autoscale: str | None = None) -> int:
    """Run a worker in this process until it is stopped (``folio worker``).

    Parameters
    ----------
    pool, concurrency, loglevel, hostname, task_events, autoscale
        Celery's worker options (``-P``, ``-c``, ``-l``, ``-n``, ``-E``,
        ``--autoscale``); the hostname expands ``%h``, ``%n`` and ``%d`` as Celery's does.
    queues
        The queue to consume (``-Q``), default ``FOLIO_QUEUE``. One queue: the
        heartbeat that lets clients find this worker, and recovery, are per queue.
    parent_pid
        Stop when this process goes away (a worker started by ``start_worker``).
    """
    from celery import signals
    from celery.utils.nodenames import default_nodename, host_format

    from folio.config import configure
    from folio.execution.celery_worker import get_app

    if queues:
        names = [q.strip() for q in queues.split(",") if q.strip()]
        if len(names) != 1:
            raise ConfigError(f"-Q {queues!r}: a folio worker consumes one queue (its heartbeat "
                              f"and recovery are per queue); start one worker per queue",
                              setting="queues", value=queues)
        configure(queue=names[0])
    settings = get_settings()
    scale = parse_autoscale(autoscale)
    chosen, why = choose_pool(pool, concurrency, autoscale=scale)
    if scale is not None and chosen != "prefork":
        raise ConfigError(f"--autoscale needs the prefork pool, not {chosen} ({why})",
                          setting="autoscale", value=autoscale)
    app = get_app(settings)
    node = host_format(default_nodename(hostname or f"folio-{os.getpid()}@{socket.gethostname()}"))
    described = settings.describe()
    print(f"folio worker {worker_id()}\n  broker: {described['broker']}\n"
          f"  results: {described['result_backend']}\n  pool: {chosen} ({why})\n"
          f"  queues: {settings.queue}\n  node: {node}\n  store: {described['store']}\n"
          f"  import roots: {', '.join(str(r) for r in settings.import_roots)}\n"
          f"  output roots: {', '.join(str(r) for r in settings.output_roots)}", flush=True)
    get_engine(settings)  # create the store's tables before the first task
    _warm_up()
    heartbeat = Heartbeat(settings, chosen, parent_pid)

    def ready(**_):
        # The first heartbeat before "ready": a client that sees a worker ready
        # finds it live at once, with no wait for the heartbeat thread.
        heartbeat.beat()
        heartbeat.start()
        report_recovery(settings)
        print(f"folio worker ready: consuming queue {settings.queue!r}", flush=True)

    def shutdown(**_):
        heartbeat.stop()

    signals.worker_ready.connect(ready, weak=False)
    signals.worker_shutdown.connect(shutdown, weak=False)
    # Gossip and mingle talk between workers, which folio does not use (the store
    # is where workers find each other); Celery's event heartbeat only serves
    # event monitors, so it is on exactly when events are (-E, for Flower).
    # Remote control stays on: ``celery inspect``/``control`` answer on brokers
    # with fanout (Redis, RabbitMQ), not on the embedded SQL transport.
    options = {"pool": chosen, "loglevel": loglevel, "queues": [settings.queue],
               "hostname": node, "without_gossip": True, "without_mingle": True,
               "without_heartbeat": not task_events, "task_events": task_events}
    if scale is not None:
        options["autoscale"] = scale
    elif chosen == "solo":
        options["concurrency"] = 1
    elif concurrency:
        options["concurrency"] = concurrency
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
    # Every setting, from config's own table: configure(mv_tolerance=...) in a
    # kernel must reach the worker it starts, or the two would import differently.
    return {**os.environ, **as_environment(settings), "PYTHONUNBUFFERED": "1"}


_started = itertools.count(1)


def _warm_up() -> None:
    """Load what imports use lazily, so the first task does not pay for it."""
    import importlib

    for module in ("adbc_driver_sqlite.dbapi", "python_calamine"):
        try:
            importlib.import_module(module)
        except ImportError:  # optional: the task says so if it needs it
            pass


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
    # One kernel may start several workers in the same second: each its own log.
    log = logs / f"worker-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_started)}.log"
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
