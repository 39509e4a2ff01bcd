"""Which files a worker may read, and staging the others where it may.

Owns the import roots rule: a task carries a path, and a worker reads only
files under the configured roots (``FOLIO_IMPORT_ROOTS``; default the uploads
folder of ``FOLIO_HOME`` and the project's ``data/``). ``submit_import`` copies
a file from elsewhere into uploads, named by content hash so that staging the
same file twice costs nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from folio.config import Settings
from folio.errors import PathNotAllowed


def is_allowed(path: str | Path, settings: Settings) -> bool:
    real = Path(os.path.realpath(path))  # a symlink must not lead out of the roots
    return any(real.is_relative_to(Path(os.path.realpath(root))) for root in settings.import_roots)


def check_allowed(path: str | Path, settings: Settings) -> Path:
    """The path, if a worker may read it; else PathNotAllowed naming the roots."""
    if not is_allowed(path, settings):
        roots = [str(r) for r in settings.import_roots]
        raise PathNotAllowed(
            f"{path} is outside the import roots ({', '.join(roots)}); submit it with "
            f"folio.submit_import, which stages it, or add its folder to FOLIO_IMPORT_ROOTS",
            path=str(path), roots=roots)
    return Path(path)


def stage(path: str | Path, settings: Settings) -> Path:
    """A path a worker may read: ``path`` itself, or its copy in uploads."""
    path = Path(path).resolve()
    if is_allowed(path, settings):
        return path
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    target = settings.uploads / f"{digest.hexdigest()}{path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.part")
        shutil.copyfile(path, partial)
        os.replace(partial, target)  # never a half-copied file under its final name
    return target
