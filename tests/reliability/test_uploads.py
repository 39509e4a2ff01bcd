"""Files named by content hash in uploads: a name is never trusted without its
content, and a failed write leaves no half file and says so with a typed error."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import subprocess
import uuid

import pytest

import folio
from folio.execution.staging import stage
from folio.widgets.import_panel import save_upload

from builders import ORANGE, TOTAL, english_csv


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def holdings(outside):
    return english_csv(outside / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])


def _staged_name(content: bytes, suffix: str) -> str:
    return hashlib.sha256(content).hexdigest() + suffix


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part")) \
        if folder.is_dir() else []


def test_a_planted_file_under_the_staged_name_is_replaced_not_imported(holdings, outside):
    uploads = folio.get_settings().uploads
    uploads.mkdir(parents=True)
    content = holdings.read_bytes()
    planted = uploads / _staged_name(content, ".csv")
    english_csv(planted, [(ORANGE, "Planted", 1, 1, 1, "EUR", "2024-01-31")])

    staged = stage(holdings, folio.get_settings())
    assert staged == planted and staged.read_bytes() == content
    result = folio.import_file(staged, "P", via="local")
    assert folio.positions("P")["identifier"].tolist() == [TOTAL], result
    assert _leftovers(uploads) == []


def test_a_planted_symlink_under_the_staged_name_is_replaced_and_its_target_kept(holdings,
                                                                                 outside):
    uploads = folio.get_settings().uploads
    uploads.mkdir(parents=True)
    content = holdings.read_bytes()
    victim = outside / "victim.csv"
    victim.write_text("not this\n")
    os.symlink(victim, uploads / _staged_name(content, ".csv"))

    staged = stage(holdings, folio.get_settings())
    assert not staged.is_symlink() and staged.read_bytes() == content
    assert victim.read_text() == "not this\n"


def test_a_file_already_staged_with_its_content_is_not_written_again(holdings):
    first = stage(holdings, folio.get_settings())
    before = os.stat(first)
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns - 10**9))  # a second ago
    marked = os.stat(first).st_mtime_ns
    assert stage(holdings, folio.get_settings()) == first
    after = os.stat(first)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, marked)


def test_save_upload_replaces_a_planted_file_with_the_right_name():
    content = b"ISIN,Quantity\n" + TOTAL.encode() + b",1\n"
    uploads = folio.get_settings().uploads
    uploads.mkdir(parents=True)
    planted = uploads / f"{hashlib.sha256(content).hexdigest()[:16]}-h.csv"
    planted.write_bytes(b"planted\n")
    assert save_upload("h.csv", content) == planted
    assert planted.read_bytes() == content and _leftovers(uploads) == []


def test_a_file_where_the_uploads_folder_should_be_is_a_store_error(holdings):
    uploads = folio.get_settings().uploads
    uploads.parent.mkdir(parents=True)
    uploads.write_text("a file, not a folder\n")  # a real fault: mkdir and open both fail
    for save in (lambda: stage(holdings, folio.get_settings()),
                 lambda: save_upload("h.csv", holdings.read_bytes())):
        with pytest.raises(folio.StoreError) as info:
            save()
        assert info.value.file == "h.csv" and info.value.hint
        assert info.value.errno in (errno.EEXIST, errno.ENOTDIR)
    assert uploads.read_text() == "a file, not a folder\n"


@contextlib.contextmanager
def _tmpfs(folder, options: str):
    """A real small filesystem at ``folder`` (needs the right to mount: root in CI)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, f"folio-{uuid.uuid4().hex}",
                              str(folder)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_while_copying_leaves_no_part_file(outside):
    big = outside / "big.csv"
    rows = [(TOTAL, "Total", i + 1, 60, 60 * (i + 1), "EUR", "2024-01-31") for i in range(8000)]
    english_csv(big, rows)
    assert big.stat().st_size > 256 * 1024
    uploads = folio.get_settings().uploads
    with _tmpfs(uploads, "size=128k"):
        for save in (lambda: stage(big, folio.get_settings()),
                     lambda: save_upload("big.csv", big.read_bytes())):
            with pytest.raises(folio.StoreError) as info:
                save()
            assert info.value.errno == errno.ENOSPC and info.value.file == "big.csv"
            assert list(uploads.iterdir()) == []  # neither the .part nor a final file


def test_a_read_only_uploads_folder_is_a_store_error(holdings):
    uploads = folio.get_settings().uploads
    # chmod does not stop root from writing; a read-only mount does.
    with _tmpfs(uploads, "ro,size=64k"):
        with pytest.raises(folio.StoreError) as info:
            stage(holdings, folio.get_settings())
        assert info.value.errno == errno.EROFS and str(uploads) in info.value.message
        assert list(uploads.iterdir()) == []
