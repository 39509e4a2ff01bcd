"""Files kept under ``FOLIO_HOME/uploads`` by the hash of their content.

Owns how a staged or uploaded file is put there: a file already under the
hash's name is hashed again before it is trusted (a planted file with the
right name but other content is replaced, never imported); a new one is
written to a temporary file beside it and moved into place with an atomic
``os.replace``, so no reader sees half a file under the final name; a failure
while writing (disk full, a read-only folder, a file where the folder should
be) removes the temporary file and raises StoreError naming the file. An
upload that arrives in pieces (``ChunkedUpload``) is written the same way, a
piece at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from folio.errors import FileTooLarge, ReadError, StoreError

BLOCK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def sha256_file(path: str | Path) -> str | None:
    """The SHA-256 of the regular file at ``path`` (a symlink is not followed); None
    if there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return hashlib.file_digest(fh, "sha256").hexdigest()


def put(target: Path, digest: str, write: Callable[[BinaryIO], None], *, file: str) -> Path:
    """``target``, holding the content whose SHA-256 is ``digest``.

    If ``target`` already holds it, nothing is written. Otherwise ``write(out)``
    writes the content to a temporary file in the same folder, which then
    replaces ``target`` (a planted file or symlink under that name included).

    Raises
    ------
    StoreError
        The file cannot be written (fields: file, path, hint); no temporary
        file is left behind.
    """
    # Trusting a name costs one read of the file: the name alone proves nothing
    # (anyone who can write to uploads can choose it), and a file cut short by
    # a crash before it was flushed is caught here too.
    if sha256_file(target) == digest:
        return target
    partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # 0o666 less the umask, as a plain copy would be: a worker running as
        # another user must be able to read the file (mkstemp would give 0o600).
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
    except OSError as exc:
        raise _failed(file, target, exc) from None
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(partial, target)
    except OSError as exc:
        _remove(partial)
        raise _failed(file, target, exc) from None
    except BaseException:
        _remove(partial)
        raise
    return target


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _failed(file: str, target: Path, exc: OSError) -> StoreError:
    reason = exc.strerror or type(exc).__name__
    return StoreError(
        f"cannot save {file} in {target.parent}: {reason}; nothing was saved",
        file=file, path=str(target), errno=exc.errno,
        hint="free some disk space, or make the uploads folder (FOLIO_HOME/uploads) a "
             "writable folder")


# ASCII only: the name on disk must mean the same to every file system and tool
# (the panel shows the user the file's own name, kept apart).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str) -> str:
    """``name`` as a file name of its own: its last part only (no folders, no ``..``),
    runs of anything but letters, digits, ``.``, ``_`` and ``-`` made ``_``."""
    base = Path(str(name).replace("\\", "/")).name
    return _UNSAFE.sub("_", base).strip("._")[-120:] or "upload"


def target_for(folder: Path, name: str, digest: str) -> Path:
    """Where the upload of ``name`` whose SHA-256 is ``digest`` is kept: prefixed with
    the hash, so two different files of one name never collide and the same file
    uploaded twice is one file."""
    return folder / f"{digest[:16]}-{safe_name(name)}"


class ChunkedUpload:
    """One upload arriving in pieces, in order, to be kept under ``folder``.

    The pieces go to a temporary file beside the final one while the hash is
    computed on the way; ``finish`` moves the file into place (or keeps the
    copy already there) only when every byte announced has arrived. Nothing is
    held in memory but the piece being written, so a file as large as
    ``FOLIO_MAX_FILE_MB`` costs no more than a small one.

    Raises
    ------
    FileTooLarge
        ``size`` is over ``limit`` (before anything is written).
    ReadError
        A piece arrives out of order or past the size announced, or ``finish``
        is called before every byte arrived.
    StoreError
        The file cannot be written.
    """

    def __init__(self, folder: Path, name: str, size: int, limit: int) -> None:
        if size > limit:
            raise FileTooLarge(f"{name}: {size:,} bytes is over the limit of {limit:,} "
                               f"(FOLIO_MAX_FILE_MB)", file=name, size=size, limit=limit)
        self.folder, self.name, self.size = Path(folder), name, size
        self.received = 0
        self._hash = hashlib.sha256()
        self._partial = self.folder / f".{safe_name(name)}.{secrets.token_hex(6)}.part"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self._partial,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o666)
        except OSError as exc:
            raise _failed(name, self._partial, exc) from None
        self._out: BinaryIO | None = os.fdopen(fd, "wb")

    def write(self, offset: int, data: bytes) -> None:
        """Append the piece that starts at byte ``offset``."""
        if self._out is None:
            raise ReadError(f"{self.name}: the upload was already ended", file=self.name)
        if offset != self.received or self.received + len(data) > self.size:
            self.abort()
            raise ReadError(f"{self.name}: upload failed: a piece for bytes {offset:,} to "
                            f"{offset + len(data):,} arrived with {self.received:,} of "
                            f"{self.size:,} received; nothing was saved", file=self.name,
                            received=self.received, size=self.size)
        try:
            self._out.write(data)
        except OSError as exc:
            self.abort()
            raise _failed(self.name, self._partial, exc) from None
        self._hash.update(data)
        self.received += len(data)

    def finish(self) -> Path:
        """The kept file (see ``target_for``), once every byte has arrived."""
        if self.received != self.size or self._out is None:
            received = self.received
            self.abort()
            raise ReadError(f"{self.name}: upload stopped at {received:,} of {self.size:,} "
                            f"bytes; nothing was saved", file=self.name, received=received,
                            size=self.size)
        try:
            self._out.close()
        except OSError as exc:
            self.abort()
            raise _failed(self.name, self._partial, exc) from None
        self._out = None
        digest = self._hash.hexdigest()
        target = target_for(self.folder, self.name, digest)
        if sha256_file(target) == digest:  # the same file, uploaded before
            _remove(self._partial)
            return target
        try:
            os.replace(self._partial, target)
        except OSError as exc:
            _remove(self._partial)
            raise _failed(self.name, target, exc) from None
        return target

    def abort(self) -> None:
        """Stop here and remove what was written."""
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()
            self._out = None
        _remove(self._partial)
