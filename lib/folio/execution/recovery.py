"""Keeping imports alive across workers: heartbeats, claims and resends.

Owns the heartbeat a worker keeps in the store (on the store's clock: how
``via="auto"`` finds a live worker on any transport, and how a dead worker is
told from a slow one; held while an import writes to an SQLite store,
``hold_beats``), and the recovery of imports a dead worker or an emptied
broker left behind: ``recover``, ``resend_lost``, what the broker still holds
(``broker_task_ids``), and giving back what a dead worker took from Redis or
the embedded transport (``restore_redis``, ``restore_embedded``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

from folio.config import Settings
from folio.store import queries
from folio.store.db import get_engine

HEARTBEAT_S = 1.0
# A heartbeat older than this means the worker is gone (or stuck behind a lock).
FRESH_S = 6.0
# How often a live worker looks for imports a broker or a worker lost, and how
# long an import may wait ``queued`` before its message is looked for.
RECOVER_EVERY_S = 10.0
QUEUED_GRACE_S = 10.0
# The longest a hold keeps the heartbeat from the store, well inside FRESH_S:
# a hold never left (a bug) must not make a live worker look dead.
HOLD_MAX_S = FRESH_S / 2

# Holds on the heartbeat's writes, by task id: when each began (monotonic).
_holds: dict[str, float] = {}


def worker_id() -> str:
    return queries.claimer()


def hold_beats(key: str) -> None:
    """Keep the heartbeat from writing to the store until ``release_beats(key)``.

    For an import writing to an SQLite store, from its first written row until
    its task's result is stored. A beat then could not be written anyway (the
    import holds SQLite's one write lock); it would wait, commit just after the
    import and, its connection auto-checkpointing, copy the whole import's WAL
    into the database (a million rows: about 0.4 s of writes) while the worker
    stores the task's result: what ``defer_checkpoints`` keeps the import's
    own connection from doing. Held for at most HOLD_MAX_S.
    """
    _holds.setdefault(key, time.monotonic())


def release_beats(key: str) -> None:
    _holds.pop(key, None)


def beats_held() -> bool:
    now = time.monotonic()
    return any(now - since < HOLD_MAX_S for since in list(_holds.values()))


class Heartbeat(threading.Thread):
    """Writes this worker's heartbeat; stops the worker if its parent goes away."""

    def __init__(self, settings: Settings, pool: str, parent_pid: int | None) -> None:
        super().__init__(name="folio-heartbeat", daemon=True)
        self.settings, self.pool, self.parent_pid = settings, pool, parent_pid
        self.stopped = threading.Event()

    def beat(self) -> None:
        try:
            queries.beat(get_engine(self.settings), worker_id(), self.settings.queue, self.pool)
        except Exception as exc:  # a busy store must not kill the worker
            print(f"folio worker: heartbeat failed: {exc}", file=sys.stderr, flush=True)

    def run(self) -> None:
        recovered = time.monotonic()
        while not self.stopped.is_set():
            if not beats_held():
                self.beat()
            if time.monotonic() - recovered >= RECOVER_EVERY_S:
                # Not only at start: a broker that restarts empty (Redis keeping
                # nothing on disk) loses queued messages while workers live on.
                recovered = time.monotonic()
                report_recovery(self.settings)
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


def report_recovery(settings: Settings) -> list[str]:
    try:
        resent = recover(settings)
    except Exception as exc:  # a store or broker away now is tried again next time
        print(f"folio worker: recovery failed: {exc}", file=sys.stderr, flush=True)
        return []
    if resent:
        print(f"folio worker: resubmitted {len(resent)} interrupted import(s): "
              f"{', '.join(resent)}", flush=True)
    return resent


def recover(settings: Settings) -> list[str]:
    """Send again every Celery import a dead worker or an emptied broker left behind.

    - ``running`` imports whose worker is gone (its process, or its heartbeat on
      the store's clock) are put back to ``queued`` (compare-and-set) and sent
      again unless their message can be given back;
    - ``queued`` imports whose message the broker no longer holds (a Redis
      restarted without persistence) are sent again, by the one worker that
      wins the record's token.

    The embedded transport forgets a message once delivered, and Redis gives an
    unacknowledged one back only after its visibility timeout, so the store, not
    the broker, is where an interrupted import is found. The claim in
    ``run_import`` makes sure it still runs exactly once, and the claim token
    that a stopped worker which wakes up cannot write over its successor.
    """
    from folio.execution.celery_client import send
    from folio.ingest.pipeline import ImportRequest

    engine = get_engine(settings)
    released = {}
    for record in queries.orphaned_imports(engine, FRESH_S):
        if record.get("request") and queries.release_import(engine, record["id"],
                                                            record["claimed_by"]):
            released[record["id"]] = record["request"]
    restored: list[str] = []
    # A worker SIGKILLed a moment ago still has a fresh heartbeat: on this host,
    # whether its process exists is the better answer.
    others = {w for w in queries.live_workers(engine, settings.queue, FRESH_S)
              if w != worker_id() and queries.claimer_alive(engine, w, FRESH_S)}
    if not others:
        # Alone on the queue: any message taken but not finished for a waiting
        # import is one a dead worker took (a live one would be claiming it).
        if settings.broker_url.startswith(("sqla+", "sqlalchemy+")):
            restored = restore_embedded(settings)
        elif settings.broker_url.startswith(("redis://", "rediss://")):
            restored = restore_redis(settings)
    for import_id, request in released.items():
        if import_id not in restored:  # its message is gone: send it again
            send(ImportRequest(**dict(request, import_id=import_id)), settings)
    lost = resend_lost(settings, skip=set(released) | set(restored))
    return sorted(set(released) | set(restored) | set(lost))


def resend_lost(settings: Settings, skip: set[str] = frozenset()) -> list[str]:
    """Send again the ``queued`` imports whose message the broker no longer holds."""
    from folio.execution.celery_client import send
    from folio.ingest.pipeline import ImportRequest

    engine = get_engine(settings)
    waiting = [r for r in queries.waiting_imports(engine, QUEUED_GRACE_S)
               if r["id"] not in skip and r.get("request")]
    if not waiting:
        return []
    held = broker_task_ids(settings)
    if held is None:  # a broker whose queue cannot be read without taking from it
        return []
    resent = []
    for record in waiting:
        task_id = record.get("task_id") or record["id"]
        if task_id in held:
            continue
        if queries.take_resend(engine, record["id"], record.get("claim_token")):
            send(ImportRequest(**dict(record["request"], import_id=record["id"])), settings)
            resent.append(record["id"])
    return resent


def broker_task_ids(settings: Settings) -> set[str] | None:
    """The task ids of every message the broker holds for this queue, delivered or
    not; None where that cannot be known (RabbitMQ: its queues are durable and its
    messages persistent, so a restart does not lose them)."""
    import json

    url = settings.broker_url
    payloads: list = []
    if url.startswith(("sqla+", "sqlalchemy+")):
        from sqlalchemy import text

        with _embedded_queue(settings) as conn:
            if conn is not None:
                payloads = conn.execute(text(
                    "SELECT m.payload FROM kombu_message m JOIN kombu_queue q "
                    "ON m.queue_id = q.id WHERE q.name = :queue"),
                    {"queue": settings.queue}).scalars().all()
    elif url.startswith(("redis://", "rediss://")):
        from kombu import Connection

        with Connection(url, connect_timeout=5) as conn:
            channel = conn.default_channel
            client = channel.client
            # kombu keeps one list per priority step, named after the queue.
            for key in client.scan_iter(match=f"{settings.queue}*"):
                if client.type(key) in (b"list", "list"):
                    payloads.extend(client.lrange(key, 0, -1))
            for raw in client.hvals(channel.unacked_key):
                try:
                    payloads.append(json.loads(raw)[0])
                except (ValueError, IndexError, TypeError):
                    continue
    else:
        return None
    held = set()
    for payload in payloads:
        try:
            message = payload if isinstance(payload, dict) else json.loads(payload)
            held.add(message["headers"]["id"])
        except (ValueError, KeyError, TypeError):
            continue  # not a task message of ours
    return held


def restore_redis(settings: Settings) -> list[str]:
    """Give back to the queue what a dead worker took from Redis and never finished.

    Redis keeps a message taken but not acknowledged aside and returns it only
    after its visibility timeout (an hour by default). Messages for this queue
    whose import is still waiting are returned at once.
    """
    import json

    from kombu import Connection

    from folio.errors import NotFound

    engine = get_engine(settings)
    restored: list[str] = []
    with Connection(settings.broker_url, connect_timeout=5) as conn:
        channel = conn.default_channel
        client = channel.client
        for tag, raw in client.hgetall(channel.unacked_key).items():
            try:
                message, _exchange, routing_key = json.loads(raw)
                task_id = message["headers"]["id"]
                if routing_key != settings.queue:
                    continue
                status = queries.get_import(engine, task_id)["status"]
            except (ValueError, KeyError, TypeError, NotFound):
                continue  # not one of ours
            if status == "queued":
                channel.qos.restore_by_tag(tag, client)
                restored.append(task_id)
    return restored


def restore_embedded(settings: Settings) -> list[str]:
    """Make the embedded broker deliver again what a dead worker had taken.

    kombu's SQL transport hides a message when it is delivered and never shows
    it again, acknowledged or not (nor deletes it). A message taken by a worker
    killed before it claimed its import would be lost, its import ``queued``
    for ever. The store knows which imports are still waiting: their hidden
    messages are shown again, and hidden messages of finished imports are
    deleted, so the table does not grow without end.
    """
    import json

    from sqlalchemy import text

    engine = get_engine(settings)
    restored: list[str] = []
    with _embedded_queue(settings) as conn:
        if conn is not None:
            hidden = conn.execute(text(
                "SELECT m.id, m.payload FROM kombu_message m JOIN kombu_queue q "
                "ON m.queue_id = q.id WHERE q.name = :queue AND m.visible = 0"),
                {"queue": settings.queue}).all()
            show, drop = [], []
            for message_id, payload in hidden:
                try:
                    task_id = json.loads(payload)["headers"]["id"]
                    status = queries.get_import(engine, task_id)["status"]
                except Exception:  # not one of ours, or no record: leave it alone
                    continue
                if queries.is_final(status):
                    drop.append(message_id)
                elif status == "queued":
                    show.append(message_id)
                    restored.append(task_id)
            for ids, sql in ((show, "UPDATE kombu_message SET visible = 1 WHERE id = :id"),
                             (drop, "DELETE FROM kombu_message WHERE id = :id")):
                if ids:
                    conn.execute(text(sql), [{"id": i} for i in ids])
    return restored


@contextlib.contextmanager
def _embedded_queue(settings: Settings):
    """A transaction on the embedded broker's SQLite file, or None while kombu has
    not made its tables yet (no message was ever sent)."""
    from sqlalchemy import create_engine

    broker = create_engine(settings.broker_url.split("+", 1)[1], connect_args={"timeout": 30})
    try:
        with broker.begin() as conn:
            tables = {r[0] for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='table'")}
            yield conn if {"kombu_message", "kombu_queue"} <= tables else None
    finally:
        broker.dispose()
