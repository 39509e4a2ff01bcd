"""A disk that fills while a large import stages its rows, for real: a tmpfs of a
few megabytes, mounted for the test (root only; the test skips elsewhere).

Past ``STAGE_MIN_ROWS`` an import stages rows in a scratch file as it
validates: its positions in an ADBC SQLite file next to the embedded store; on
PostgreSQL the positions stream to the server, and what waits on the local disk
is a large import's issues (an Arrow file in the temporary folder). Neither
library's errors are the store driver's; a full disk there must still read as
the store's failure, with a hint, the scratch removed and the import recorded
failed.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest

import folio
from folio.store.bulk import STAGE_MIN_ROWS, STAGE_PREFIX
from folio.store.db import dispose_all, settle

from builders import big_english_csv
from contract import import_under_contract, store_state

AS_OF = "2024-01-31"
DISK = "3m"  # room for the store (64 KiB pages) and not for 120,000 staged rows


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        dispose_all()  # no store file may stay open on it
        if subprocess.run(["umount", str(mount)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_while_staging_is_a_store_error_and_leaves_nothing(
        tmp_path, tiny_disk, store, monkeypatch):
    # The embedded store and its scratch on the small disk; PostgreSQL's
    # issue scratch there too (its rows are on the server).
    monkeypatch.setenv("FOLIO_HOME", str(tiny_disk / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tiny_disk))
    folio.reset_configuration()
    if store == "sqlite":
        big = big_english_csv(tmp_path / "big.csv", 120_000, lots=False)
    else:  # every row rejected (no such currency): 120,000 issues to stage locally
        big = tmp_path / "big.csv"
        big.write_text("ISIN,Quantity,Price,Market Value,Currency\n" + "".join(
            f"SEC{i:07d},{i + 1},10.0,{(i + 1) * 10.0},ZZZ\n" for i in range(120_000)))
    assert 120_000 > 2 * STAGE_MIN_ROWS  # staged, not held in memory
    folio.import_file(big_english_csv(tmp_path / "small.csv", 10, lots=False), "P", as_of=AS_OF)
    before = store_state()

    error = import_under_contract(big, "BIG", as_of=AS_OF)
    assert isinstance(error, folio.StoreError), error
    scratch = tiny_disk / "home" if store == "sqlite" else tiny_disk
    assert error.disk_full and error.folder == str(scratch)
    assert f"free disk space under {scratch}" in error.message
    assert "big.csv" in error.message and error.import_id in error.message
    assert Path(error.path).name.startswith(STAGE_PREFIX)
    settle()
    assert not list(tiny_disk.rglob(f"{STAGE_PREFIX}*"))
    assert store_state() == before
    assert folio.get_import(error.import_id).status == "failed"
    assert "free disk space" in folio.get_import(error.import_id).error
