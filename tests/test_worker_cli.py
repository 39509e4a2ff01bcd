"""``folio worker`` takes Celery's usual worker options, and Celery's own tools
(``celery -A folio.execution.celery_worker inspect ping``, ``purge``) work on
folio's workers. Real worker processes, real Redis; nothing runs eagerly.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import folio
from folio.config import get_settings
from folio.execution.worker import choose_pool, parse_autoscale, worker_environment

from builders import french_statement
from services import service_url

APP = "folio.execution.celery_worker"
CELERY = Path(sys.executable).with_name("celery")


@pytest.fixture
def redis(monkeypatch):
    url = service_url("redis").rstrip("/") + "/2"
    monkeypatch.setenv("FOLIO_BROKER_URL", url)
    monkeypatch.setenv("FOLIO_RESULT_BACKEND", url)
    return url


def environment(**changes: str) -> dict[str, str]:
    """This test's settings for a child process, with no FOLIO_QUEUE unless given."""
    env = {k: v for k, v in worker_environment(get_settings()).items() if k != "FOLIO_QUEUE"}
    return {**env, **changes}


class Worker:
    """``folio worker ARGS`` as a child process, its output in a log file."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.log = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "folio.cli", "worker", *args], stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment())

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def ready(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if "folio worker ready" in self.text():
                return self.text()
            time.sleep(0.1)
        raise AssertionError(f"worker not ready:\n{self.text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def worker(tmp_path):
    started: list[Worker] = []

    def start(*args: str) -> Worker:
        started.append(Worker(tmp_path, *args))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def celery(*args: str, queue: str | None = None) -> subprocess.CompletedProcess:
    env = environment(**({"FOLIO_QUEUE": queue} if queue else {}))
    return subprocess.run([str(CELERY), "-A", APP, *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_worker_options_reach_celery_and_celery_inspect_answers(tmp_path, redis, worker,
                                                                 monkeypatch):
    queue = f"myqueue-{uuid.uuid4().hex[:6]}"
    node = f"x{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    log = worker("-Q", queue, "-n", f"{node.split('@')[0]}@%h", "-E", "-l", "INFO").ready()
    assert f"queues: {queue}" in log and f"node: {node}" in log
    assert "task events: ON" in log  # Celery's banner: -E reached the worker
    # An import sent to that queue runs on that worker.
    monkeypatch.setenv("FOLIO_QUEUE", queue)
    result = folio.import_file(french_statement(tmp_path / "releve.csv"), "P", via="auto",
                               timeout=60)
    assert result.via == "celery" and result.status == "partially_succeeded"
    # Celery's own tool, on the module-level app, finds the worker by its name.
    ping = celery("inspect", "ping", "-d", node, "--timeout", "10", queue=queue)
    assert ping.returncode == 0 and "pong" in ping.stdout, ping.stdout + ping.stderr
    queues = celery("inspect", "active_queues", "-d", node, "--timeout", "10", queue=queue)
    assert f"'name': '{queue}'" in queues.stdout, queues.stdout + queues.stderr


def test_celery_purge_empties_folios_queue(tmp_path, redis):
    from folio.execution.celery_worker import TASK_NAME, get_app

    queue = f"purge-{uuid.uuid4().hex[:6]}"
    settings = get_settings()
    app = get_app(settings)
    for _ in range(2):  # no worker consumes this queue: the messages wait
        app.send_task(TASK_NAME, args=[{}], queue=queue)
    purged = celery("purge", "-f", queue=queue)
    assert purged.returncode == 0, purged.stderr
    assert "Purged 2 messages" in purged.stdout, purged.stdout
    again = celery("purge", "-f", queue=queue)
    assert "No messages purged" in again.stdout, again.stdout


def test_autoscale_runs_prefork_and_takes_imports(tmp_path, redis, worker, monkeypatch):
    queue = f"scale-{uuid.uuid4().hex[:6]}"
    log = worker("-Q", queue, "--autoscale", "2,1").ready()
    assert "pool: prefork (prefork autoscaling from 1 to 2 processes)" in log
    assert "concurrency: {min=1, max=2} (prefork)" in log
    monkeypatch.setenv("FOLIO_QUEUE", queue)
    result = folio.import_file(french_statement(tmp_path / "releve.csv"), "P", via="celery",
                               timeout=60)
    assert result.status == "partially_succeeded"


def test_worker_refuses_options_it_cannot_honour(tmp_path):
    env = environment()
    for args, said in ((["-Q", "a,b"], "consumes one queue"),
                       (["--autoscale", "x"], "give MAX,MIN"),
                       (["-P", "solo", "--autoscale", "2"], "needs the prefork pool")):
        run = subprocess.run([sys.executable, "-m", "folio.cli", "worker", *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 1 and said in run.stderr, (args, run.stderr)


def test_pool_choice_with_autoscale():
    assert parse_autoscale("4,1") == parse_autoscale("1,4") == (4, 1)
    assert parse_autoscale("3") == (3, 0) and parse_autoscale(None) is None
    assert choose_pool(None, None, platform="linux", autoscale=(4, 1))[0] == "prefork"
    pool, why = choose_pool(None, None, platform="win32", autoscale=(4, 1))
    assert pool == "solo" and "Windows" in why
