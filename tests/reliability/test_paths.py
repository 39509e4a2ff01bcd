"""A worker reads only files under the import roots and writes only under the
output roots: no way out by path tricks, nor by swapping a symlink mid-check."""

from __future__ import annotations

import csv
import os
import threading
import time
import uuid

import pytest

import folio
from folio.execution.celery_worker import TASK_NAME, get_app
from folio.execution.staging import check_allowed, open_allowed, open_output, stage
from folio.ingest.pipeline import ImportRequest

from builders import ORANGE, TOTAL, english_csv

RACE_S = 3.0  # each race runs this long at most


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
    with pytest.raises(folio.FolioError) as info, open_allowed(path, folio.get_settings()):
        pass
    assert info.value.code == "path_not_allowed"


def test_a_fifo_or_a_folder_is_refused_at_once(roots):
    inside, _ = roots
    os.mkfifo(inside / "pipe.csv")  # opened without O_NONBLOCK, this would hang
    (inside / "folder.csv").mkdir()
    started = time.monotonic()
    for name in ("pipe.csv", "folder.csv"):
        with pytest.raises(folio.ReadError) as info, open_allowed(inside / name,
                                                                  folio.get_settings()):
            pass
        assert info.value.file == str(inside / name)
    assert time.monotonic() - started < 5


def test_the_file_read_is_the_file_checked_not_the_name(roots):
    inside, outside = roots
    (inside / "real").mkdir()
    (inside / "real" / "h.csv").write_text("allowed\n")
    (outside / "h.csv").write_text("SECRET\n")
    os.symlink(inside / "real", inside / "door")
    with open_allowed(inside / "door" / "h.csv", folio.get_settings()) as opened:
        _point(inside / "door", outside)  # the name now leads out of the roots
        with open(opened.read_path) as fh:
            assert fh.read() == "allowed\n"
        assert opened.real == inside / "real" / "h.csv"


def _point(link, target) -> None:
    """Make ``link`` a symlink to ``target`` in one step (rename over it)."""
    spare = link.with_name(f".{link.name}.{uuid.uuid4().hex}")
    os.symlink(target, spare)
    os.replace(spare, link)


class Swapper:
    """A thread that points ``link`` at ``a``, then ``b``, again and again."""

    def __init__(self, link, a, b) -> None:
        self.link, self.targets, self.swaps = link, (a, b), 0
        self.stop = threading.Event()
        _point(link, a)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.swaps += 1
            _point(self.link, self.targets[self.swaps % 2])
            time.sleep(0)  # let the other thread run between swaps

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


def test_a_symlink_swapped_while_checking_never_lets_the_secret_be_read(roots):
    inside, outside = roots
    (inside / "real").mkdir()
    (inside / "real" / "h.csv").write_text("allowed\n")
    (outside / "h.csv").write_text("SECRET\n")
    settings = folio.get_settings()
    seen = {"read": 0, "refused": 0}
    with Swapper(inside / "door", inside / "real", outside) as swapper:
        deadline = time.monotonic() + RACE_S
        while time.monotonic() < deadline:
            try:
                with open_allowed(inside / "door" / "h.csv", settings) as opened:
                    time.sleep(0)  # give the swapper a turn between check and read
                    with open(opened.read_path) as fh:
                        assert fh.read() == "allowed\n"
                seen["read"] += 1
            except folio.FolioError as exc:
                assert exc.code == "path_not_allowed"
                seen["refused"] += 1
    assert swapper.swaps > 100 and seen["read"] > 10 and seen["refused"] > 10, (swapper.swaps,
                                                                                seen)


def _task(request: ImportRequest) -> str | None:
    """Run the Celery task in this process; the name of the error it ended with, if any."""
    outcome = get_app(folio.get_settings()).tasks[TASK_NAME].apply(args=[request.to_json()])
    if outcome.failed():
        return type(outcome.result).__name__
    payload = outcome.result
    return None if payload.get("ok") else payload["error"]["error"]


def test_imports_run_by_the_task_never_read_a_secret_swapped_in(roots):
    inside, outside = roots
    (inside / "real").mkdir()
    english_csv(inside / "real" / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])
    english_csv(outside / "h.csv", [(ORANGE, "Secret", 7, 10, 70, "EUR", "2024-01-31")])
    outcomes: dict[str, str | None] = {}
    with Swapper(inside / "door", inside / "real", outside):
        deadline = time.monotonic() + RACE_S
        while time.monotonic() < deadline and len(outcomes) < 60:
            portfolio = f"P{len(outcomes)}"
            outcomes[portfolio] = _task(ImportRequest(
                path=str(inside / "door" / "h.csv"), portfolio=portfolio, via="celery"))
    assert set(outcomes.values()) <= {None, "PathNotAllowed"}, outcomes
    imported = [p for p, error in outcomes.items() if error is None]
    for portfolio in imported:
        positions = folio.positions(portfolio)
        assert positions["identifier"].tolist() == [TOTAL], portfolio
    assert len(outcomes) >= 10 and imported, outcomes


@pytest.fixture
def exports(tmp_path):
    folder = tmp_path / "home" / "exports"
    assert folio.get_settings().output_roots == (folder,)
    return folder


@pytest.fixture
def holdings(roots):
    inside, _ = roots
    return english_csv(inside / "h.csv", [(TOTAL, "Total", 10, 60, 600, "EUR", "2024-01-31")])


def _dry_run(holdings, missing_csv) -> str | None:
    return _task(ImportRequest(path=str(holdings), portfolio="P", dry_run=True, via="celery",
                               missing_csv=str(missing_csv)))


def test_a_dry_run_task_writes_its_csv_under_the_output_roots_only(roots, exports, holdings):
    inside, outside = roots
    assert _dry_run(holdings, exports / "missing.csv") is None
    with open(exports / "missing.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["identifier"] for r in rows] == [TOTAL]  # the fresh store knows no instrument

    forbidden = [outside / "missing.csv", f"/etc/folio-{uuid.uuid4().hex}.csv",
                 exports / ".." / "escaped.csv", inside / "in-the-import-roots.csv"]
    for target in forbidden:
        assert _dry_run(holdings, target) == "PathNotAllowed", target
        assert not os.path.lexists(os.path.abspath(target)), target


def test_a_planted_symlink_or_hard_link_in_the_exports_is_not_written_through(roots, exports,
                                                                            holdings):
    _, outside = roots
    exports.mkdir(parents=True)
    victim = outside / "victim.txt"
    victim.write_text("untouched\n")
    os.symlink(victim, exports / "by-symlink.csv")
    os.link(victim, exports / "by-hard-link.csv")
    for name in ("by-symlink.csv", "by-hard-link.csv"):
        assert _dry_run(holdings, exports / name) == "PathNotAllowed", name
    assert victim.read_text() == "untouched\n"


def test_an_output_folder_swapped_while_checking_never_gets_a_file_outside(roots, exports):
    _, outside = roots
    (exports / "real").mkdir(parents=True)
    settings = folio.get_settings()
    written = 0
    with Swapper(exports / "door", exports / "real", outside):
        deadline = time.monotonic() + RACE_S
        while time.monotonic() < deadline:
            try:
                with open_output(exports / "door" / "out.csv", settings) as opened:
                    time.sleep(0)
                    with open(opened.read_path, "w") as fh:
                        fh.write("x")
                written += 1
            except folio.FolioError as exc:
                assert exc.code == "path_not_allowed"
            assert not (outside / "out.csv").exists()
    assert written > 10 and (exports / "real" / "out.csv").read_text() == "x"


def test_a_local_dry_run_writes_where_the_user_asks(holdings, tmp_path):
    target = tmp_path / "mine" / "missing.csv"
    target.parent.mkdir()
    job = folio.submit_import(holdings, "P", dry_run=True, via="local",
                              missing_csv=target)
    job.result(60)
    with open(target, newline="", encoding="utf-8") as fh:
        assert [r["identifier"] for r in csv.DictReader(fh)] == [TOTAL]


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
