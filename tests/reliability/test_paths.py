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
