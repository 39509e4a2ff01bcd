"""Files kept under ``FOLIO_HOME/uploads`` by the hash of their content.

Owns how a staged or uploaded file is put there: a file already under the
hash's name is hashed again before it is trusted (a planted file with the
right name but other content is replaced, never imported); a new one is
written to a temporary file beside it and moved into place with an atomic
``os.replace``, so no reader sees half a file under the final name; a failure
while writing (disk full, a read-only folder, a file where the folder should
be) removes the temporary file and raises StoreError naming the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from folio.errors import StoreError

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
