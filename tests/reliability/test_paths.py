"""A worker reads only files under the import roots: no way out by path tricks."""

from __future__ import annotations

import os

import pytest

import folio
from folio.execution.staging import check_allowed, stage


@pytest.fixture
def roots(tmp_path):
    inside = tmp_path / "root"
    outside = tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("ISIN,Quantity,Currency\nFR0000120271,1,EUR\n")
    (inside / "ok.csv").write_text("ISIN,Quantity,Currency\nFR0000120271,1,EUR\n")
    with folio.configure(import_roots=[inside]):
        yield inside, outside


def test_inside_is_allowed(roots):
    inside, _ = roots
    assert check_allowed(inside / "ok.csv", folio.get_settings()) == inside / "ok.csv"


@pytest.mark.parametrize("how", ["outside", "dotdot", "symlink", "symlinked_dir"])
def test_escapes_are_refused(roots, how):
    inside, outside = roots
    if how == "outside":
        path = outside / "secret.csv"
    elif how == "dotdot":
        path = inside / ".." / "elsewhere" / "secret.csv"
    elif how == "symlink":
        path = inside / "link.csv"
        os.symlink(outside / "secret.csv", path)
    else:
        os.symlink(outside, inside / "door")
        path = inside / "door" / "secret.csv"
    with pytest.raises(folio.FolioError) as info:
        check_allowed(path, folio.get_settings())
    assert info.value.code == "path_not_allowed"
    assert str(inside) in info.value.roots


def test_staging_copies_a_file_from_outside_into_uploads(roots):
    _, outside = roots
    staged = stage(outside / "secret.csv", folio.get_settings())
    assert staged.parent == folio.get_settings().uploads and staged.suffix == ".csv"
    assert stage(outside / "secret.csv", folio.get_settings()) == staged  # by content hash


HOSTILE_NAMES = ["../../etc/passwd", "..", ".", "", "/", "C:\\Windows\\system32\\hosts.csv",
                 "a\x00b.csv", "CON.csv", "x" * 1000 + ".csv", "relevé 🚀 مصرف.xlsx",
                 "<script>alert(1)</script>.csv", "-rf .csv", ".bashrc", "~/.ssh/id_rsa"]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_upload_names_are_sanitised_and_never_overwrite(name):
    from folio.widgets.import_panel import save_upload

    uploads = folio.get_settings().uploads
    first = save_upload(name, b"first upload")
    second = save_upload(name, b"second upload, same name")
    for saved in (first, second):
        assert saved.parent == uploads and saved.is_file() and not saved.is_symlink()
        assert len(saved.name) < 160 and all(c.isascii() and (c.isalnum() or c in "._-")
                                             for c in saved.name), saved.name
        assert not saved.name.startswith(".")
    assert first != second
    assert first.read_bytes() == b"first upload"  # the second did not overwrite it
    assert save_upload(name, b"first upload") == first  # the same bytes are one file
    if name.endswith((".csv", ".xlsx")):
        assert first.suffix == "." + name.rsplit(".", 1)[1]  # still opens as what it is
