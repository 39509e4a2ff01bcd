"""Which files a worker may read or write, and staging the others where it may.

Owns the roots rules: a task carries paths, and a worker reads only files under
the import roots (``FOLIO_IMPORT_ROOTS``; default the uploads folder of
``FOLIO_HOME`` and the project's ``data/``) and writes only under the output
roots (``FOLIO_OUTPUT_ROOTS``; default ``FOLIO_HOME/exports``). A path is
checked by opening it once and asking where the open descriptor's file lies,
never by resolving the name and opening it again: a symlink swapped in between
would be read. The import then reads that descriptor's file. ``submit_import``
copies a file from elsewhere into uploads, named by content hash so that
staging the same file twice costs nothing (see ``folio.execution.uploads``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import shutil
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from folio.config import Settings
from folio.errors import PathNotAllowed, ReadError, StoreError
from folio.execution import uploads

if TYPE_CHECKING:
    from folio.ingest.pipeline import ImportRequest

__all__ = ["OpenedFile", "check_allowed", "is_allowed", "open_allowed", "open_output",
           "opened_request", "stage"]

_FLAG = {name: getattr(os, name, 0) for name in
         ("O_NOFOLLOW", "O_NONBLOCK", "O_NOCTTY", "O_BINARY", "O_CLOEXEC", "O_DIRECTORY")}
# O_NOFOLLOW: a symlink as the last part is refused, not followed. O_NONBLOCK: a
# FIFO must not hang the worker before fstat says it is no regular file.
_READ = (os.O_RDONLY | _FLAG["O_NOFOLLOW"] | _FLAG["O_NONBLOCK"] | _FLAG["O_NOCTTY"]
         | _FLAG["O_BINARY"] | _FLAG["O_CLOEXEC"])
# No O_TRUNC: a file that is then refused (a hard link) is left as it was.
_WRITE = (os.O_WRONLY | os.O_CREAT | _FLAG["O_NOFOLLOW"] | _FLAG["O_NONBLOCK"]
          | _FLAG["O_NOCTTY"] | _FLAG["O_BINARY"] | _FLAG["O_CLOEXEC"])
_FOLDER = os.O_RDONLY | _FLAG["O_DIRECTORY"] | _FLAG["O_CLOEXEC"]
_PROC_FD = "/proc/self/fd"


@dataclass(frozen=True)
class OpenedFile:
    """A file opened once and checked: ``read_path`` names that very file.

    On Linux ``read_path`` is ``/proc/self/fd/N``, which opens the descriptor's
    own inode again (with its own offset) whatever the name leads to now.
    Elsewhere it is the real path found from the descriptor, opened again by
    name: the window between the check and the reader's open is then as small
    as a reader can make it, not closed.
    """

    fd: int
    real: Path
    read_path: str


def is_allowed(path: str | Path, settings: Settings) -> bool:
    """Whether ``path``, resolved now, lies under the import roots (a name check only)."""
    return _under(Path(os.path.realpath(path)), settings.import_roots)


def check_allowed(path: str | Path, settings: Settings) -> Path:
    """The path, if a worker may read the file it names now; else PathNotAllowed.

    A check only: to read the file checked, use ``open_allowed``.
    """
    with open_allowed(path, settings):
        return Path(path)


@contextlib.contextmanager
def open_allowed(path: str | Path, settings: Settings) -> Iterator[OpenedFile]:
    """Open ``path`` for reading once; yield it if its file lies under the import roots.

    Raises
    ------
    PathNotAllowed
        The open file lies outside the roots, or ``path`` is a symlink.
    ReadError
        No such file inside the roots, a folder, or not a regular file.
    """
    roots = settings.import_roots
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        raise _open_failed(path, roots, exc, "import") from None
    try:
        yield _checked(fd, path, roots, "import")
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_output(path: str | Path, settings: Settings) -> Iterator[OpenedFile]:
    """Create or open ``path`` for writing once, under the output roots only.

    The folder is opened and checked first and the file created inside that
    open folder, so nothing is created outside the roots; a symlink or a hard
    link planted as the file is refused, never written through.
    """
    roots = settings.output_roots
    path = Path(os.path.abspath(path))
    if any(path.parent == Path(os.path.abspath(root)) for root in roots):
        path.parent.mkdir(parents=True, exist_ok=True)  # the configured folder itself
    try:
        folder = os.open(path.parent, _FOLDER)
    except OSError as exc:
        raise _open_failed(path.parent, roots, exc, "output") from None
    try:
        _checked(folder, path.parent, roots, "output", folder=True)
        try:
            if os.open in os.supports_dir_fd:
                fd = os.open(path.name, _WRITE, 0o644, dir_fd=folder)
            else:  # Windows: no openat; the folder was checked just now
                fd = os.open(path, _WRITE, 0o644)
        except OSError as exc:
            raise _open_failed(path, roots, exc, "output") from None
    finally:
        os.close(folder)
    try:
        opened = _checked(fd, path, roots, "output")
        if os.fstat(fd).st_nlink > 1:  # another name elsewhere: writing would change it
            raise PathNotAllowed(f"{path} has other hard links; a task writes only a file of "
                                 f"its own", path=str(path), roots=[str(r) for r in roots])
        yield opened
    finally:
        os.close(fd)


@contextlib.contextmanager
def opened_request(request: ImportRequest, settings: Settings) -> Iterator[ImportRequest]:
    """``request`` with its file (and ``missing_csv``) opened once and checked.

    The request yielded names the open descriptors, so the import reads the
    very file checked and writes the very file checked. Used where a task
    arrives: a local run in the user's own process is not restricted.
    """
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(open_allowed(request.path, settings))
        changes = {"path": source.read_path, "file_name": request.display_name}
        if request.missing_csv:
            changes["missing_csv"] = stack.enter_context(
                open_output(request.missing_csv, settings)).read_path
        yield dataclasses.replace(request, **changes)


def stage(path: str | Path, settings: Settings) -> Path:
    """A path a worker may read: ``path`` itself, or its copy in uploads."""
    path = Path(path).resolve()
    if is_allowed(path, settings):
        return path
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            for block in iter(lambda: source.read(uploads.BLOCK), b""):
                digest.update(block)
    except OSError as exc:
        raise ReadError(f"{path}: cannot read: {exc.strerror}", file=str(path)) from None
    target = settings.uploads / f"{digest.hexdigest()}{path.suffix.lower()}"

    def copy(out) -> None:
        with open(path, "rb") as source:
            shutil.copyfileobj(source, out, uploads.BLOCK)

    return uploads.put(target, digest.hexdigest(), copy, file=path.name)


def _under(real: Path, roots: Sequence[Path]) -> bool:
    real = Path(os.path.normcase(real))
    return any(real.is_relative_to(os.path.normcase(os.path.realpath(r))) for r in roots)


def _refused(path: str | Path, roots: Sequence[Path], kind: str, why: str) -> PathNotAllowed:
    shown = [str(r) for r in roots]
    hint = ("submit it with folio.submit_import, which stages it, or add its folder to "
            "FOLIO_IMPORT_ROOTS" if kind == "import" else
            "name a file under the output roots, or add its folder to FOLIO_OUTPUT_ROOTS")
    return PathNotAllowed(f"{path} {why} ({', '.join(shown)}); {hint}", path=str(path),
                          roots=shown)


def _open_failed(path: str | Path, roots: Sequence[Path], exc: OSError, kind: str):
    """The error for a path that would not open: outside the roots says so first,
    so a task cannot learn which files exist elsewhere."""
    if exc.errno in (errno.ELOOP, errno.EMLINK):  # O_NOFOLLOW met a symlink (EMLINK: FreeBSD)
        return _refused(path, roots, kind, "is a symbolic link, which a task may not name")
    if not _under(Path(os.path.realpath(path)), roots):
        return _refused(path, roots, kind, f"is outside the {kind} roots")
    if kind == "import":
        text = "no such file" if exc.errno == errno.ENOENT else f"cannot open: {exc.strerror}"
        return ReadError(f"{path}: {text}", file=str(path))
    return StoreError(f"cannot write {path}: {exc.strerror}", file=str(path),
                      hint="the folder must exist and be writable by the worker")


def _checked(fd: int, path: str | Path, roots: Sequence[Path], kind: str, *,
             folder: bool = False) -> OpenedFile:
    info = os.fstat(fd)
    real = _descriptor_path(fd, path)
    if real is None or not _under(real, roots):
        raise _refused(path, roots, kind, f"is outside the {kind} roots")
    if folder:
        if not stat.S_ISDIR(info.st_mode):
            raise StoreError(f"cannot write {path}: not a folder", file=str(path))
    elif stat.S_ISDIR(info.st_mode):
        raise ReadError(f"{path}: is a folder, not a file", file=str(path))
    elif not stat.S_ISREG(info.st_mode):
        raise ReadError(f"{path}: not a regular file (a device, pipe or socket)",
                        file=str(path))
    proc = f"{_PROC_FD}/{fd}"
    return OpenedFile(fd, real, proc if os.path.exists(proc) else str(real))


def _descriptor_path(fd: int, name: str | Path) -> Path | None:
    """Where the open descriptor's file lies now; None if it was removed meanwhile."""
    if os.path.isdir(_PROC_FD):  # Linux
        target = os.readlink(f"{_PROC_FD}/{fd}")
        if target.endswith(" (deleted)") and os.fstat(fd).st_nlink == 0:
            return None
        return Path(target)
    if sys.platform == "darwin":
        import fcntl

        raw = fcntl.fcntl(fd, fcntl.F_GETPATH, bytes(1024))
        return Path(os.fsdecode(raw.split(b"\0", 1)[0]))
    if os.name == "nt":
        return _windows_final_path(fd)
    # Another system without a way to ask the descriptor: the name, resolved
    # now; a swap between the open and this check is not caught here.
    return Path(os.path.realpath(name))


def _windows_final_path(fd: int) -> Path:
    import ctypes
    import msvcrt
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    final = kernel32.GetFinalPathNameByHandleW
    final.argtypes = [wintypes.HANDLE, wintypes.LPWSTR, wintypes.DWORD, wintypes.DWORD]
    final.restype = wintypes.DWORD
    buffer = ctypes.create_unicode_buffer(32768)
    size = final(msvcrt.get_osfhandle(fd), buffer, len(buffer), 0)
    if size == 0 or size >= len(buffer):
        raise ctypes.WinError(ctypes.get_last_error())
    text = buffer.value  # \\?\C:\... or \\?\UNC\server\share\...
    if text.startswith("\\\\?\\UNC\\"):
        return Path("\\\\" + text[8:])
    return Path(text.removeprefix("\\\\?\\"))
