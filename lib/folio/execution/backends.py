"""The execution contract: what a backend does, what its handle answers, and the
registry of backends by name.

Owns ``Handle`` (every method an ``ImportJob`` calls on the thing that runs its
import), ``Backend`` (how a request becomes a running handle, and which backend
really runs it), ``Snapshot`` (what a handle knows at one moment) and the
registry, as joblib keeps its parallel backends: running in this process, on a
Celery worker, or choosing between the two are backends alike, never flags.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from folio.errors import ConfigError

if TYPE_CHECKING:
    from folio.config import Settings
    from folio.ingest.pipeline import ImportRequest
    from folio.result import ImportResult


@dataclass(frozen=True)
class Snapshot:
    """What a backend knows about its job at one moment."""

    state: str  # pending, queued, running, done, error
    done: int = 0  # row steps, in ingest.progress's contract: monotone,
    total: int = 0  # ...and the total 0 until known, then fixed
    message: str | None = None  # e.g. "queued, no worker has taken it"
    stage: str | None = None  # reading, checking, writing: what a running import does


def finished_total(total: int, outcome: object) -> int:
    """The count a finished job's bar ends at: the total the import reported,
    or, when it reported none (a dry run, a short import whose last report was
    not read), the total for the rows its result counted."""
    from folio.ingest.progress import total_for
    from folio.result import ImportResult

    if total or not isinstance(outcome, ImportResult):
        return total
    return total_for(outcome.rows_total)


class Handle(ABC):
    """One running import, as its backend exposes it to the job."""

    @abstractmethod
    def poll(self) -> Snapshot:
        """The state now; cheap enough to call several times a second."""

    @abstractmethod
    def wait(self, timeout: float | None) -> bool:
        """Block until finished or ``timeout`` seconds pass; True when finished."""

    @abstractmethod
    def outcome(self) -> ImportResult | BaseException:
        """The result or the error of a finished job."""

    @abstractmethod
    def on_finish(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once the import ends (at once if it has), in the thread
        that notices the end."""


@dataclass(frozen=True)
class Choice:
    """The backend that will run an import, and why, when it is not the one asked."""

    via: str
    reason: str | None = None


class Backend(ABC):
    """Turns an ``ImportRequest`` into a running ``Handle``.

    ``remote`` backends run the import in another process: the file is staged
    where that process may read it, the record starts ``queued``, and the task
    id is the import id.
    """

    name: str = ""
    remote: bool = False

    def choose(self, settings: Settings, *, dry_run: bool) -> Choice:
        """Which backend runs an import asked of this one (itself, by default).

        Raises (a typed ``FolioError``) when it cannot run here at all, before
        any record is written.
        """
        return Choice(self.name)

    @abstractmethod
    def start(self, request: ImportRequest, settings: Settings) -> Handle:
        """Start the import; return its handle at once."""


class _FunctionBackend(Backend):
    """A plain ``function(request, settings) -> Handle`` as a backend."""

    def __init__(self, name: str, fn: Callable[[ImportRequest, Settings], Handle]) -> None:
        self.name, self._fn = name, fn

    def start(self, request: ImportRequest, settings: Settings) -> Handle:
        return self._fn(request, settings)


BACKENDS: dict[str, Backend] = {}


def register_backend(name: str, backend: Backend | Callable[..., Handle]) -> None:
    """Make ``backend`` available as ``via=name`` (a ``Backend``, or a function
    ``(request, settings) -> Handle``)."""
    if not isinstance(backend, Backend):
        backend = _FunctionBackend(name, backend)
    backend.name = backend.name or name
    BACKENDS[name] = backend


def get_backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"via={name!r}: choose one of {', '.join(sorted(BACKENDS))}",
                          setting="via", value=name) from None
