"""Progress that tells the truth, and the words people read.

One count per import (rows checked, then written), monotone, its total fixed
once known, ending at the total: sampled from real imports in this process, on
a real Celery worker process, and seen by a person in a real terminal (a pty).
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import folio
from folio.execution.worker import start_worker
from folio.ingest.progress import Monotone, count_words

from builders import BAD_ISIN, big_english_csv, english_csv, french_statement

FOLIO = Path(sys.executable).with_name("folio")
ROWS = 600_000  # over one read block (16 MB): the row count is unknown until the last


def sample(job, every: float = 0.01, limit: float = 240) -> list[tuple[int, int, str | None]]:
    """(done, total, stage) of a job, read until it ends (and once after)."""
    seen, deadline = [], time.monotonic() + limit
    while time.monotonic() < deadline:
        snap = job.poll()
        seen.append((snap.done, snap.total, snap.stage))
        if snap.state in ("done", "error"):
            return seen
        time.sleep(every)
    raise AssertionError(f"the import did not end in {limit} s: {seen[-3:]}")


def assert_truthful(seen, rows: int) -> None:
    """Monotone, the total fixed once known, never back to 0 when writing starts,
    ending at the total: each of ``rows`` rows checked once and written once."""
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones), [s for s in seen if s[0] < max(dones[: dones.index(s[0])] or [0])]
    totals = [t for _, t, _ in seen]
    known = [t for t in totals if t]
    assert set(known) == {2 * rows}, set(known)  # one total, never an estimate
    first = totals.index(2 * rows)
    assert all(totals[first:]), "the total went back to unknown"
    assert seen[-1][:2] == (2 * rows, 2 * rows)
    # Writing starts where checking ended (every row checked): the bar never empties.
    writing = [d for d, _, stage in seen if stage == "writing"]
    assert all(d >= rows for d in writing), writing[:5]
    assert any(0 < d < 2 * rows for d in dones), "no progress seen before the end"


# ------------------------------------------------------------------ contract

def test_monotone_turns_stage_counts_into_one_count():
    out = []
    report = Monotone(lambda d, t, s: out.append((d, t, s)))
    report(0, 0, "reading")
    report(500, 0, "checking")  # the first block: the file's row count unknown
    report(900, 1000, "checking")  # the last block: 1,000 rows
    report(1000, 1000, "checking")
    report.rows_known(1000)
    report(0, 800, "writing")  # 200 rejected: 800 to write
    report(400, 800, "writing")
    report(800, 800, "writing")
    # By hand: checking counts 0..1000 of 2000; writing starts at 1000 + 200.
    assert out == [(0, 0, "reading"), (500, 0, "checking"), (900, 2000, "checking"),
                   (1000, 2000, "checking"), (1200, 2000, "writing"),
                   (1600, 2000, "writing"), (2000, 2000, "writing")]


def test_a_dry_run_counts_each_row_checked_as_done():
    out = []
    report = Monotone(lambda d, t, s: out.append((d, t, s)), dry_run=True)
    report(0, 0, "reading")
    report(500, 0, "checking")  # the first block: the file's row count unknown
    report(900, 1000, "checking")
    report(1000, 1000, "checking")
    report.finish("checking")
    # By hand: nothing to write, so a checked row is both its steps: 2 x rows checked.
    assert out == [(0, 0, "reading"), (1000, 0, "checking"), (1800, 2000, "checking"),
                   (2000, 2000, "checking"), (2000, 2000, "checking")]


def test_the_count_says_rows_for_an_import_and_a_dry_run():
    # An import half-way through checking 1,000 rows, and one writing the 600th of
    # 800 kept; a dry run at the same share of its bar has checked 900 rows.
    assert count_words(450, 2000, "checking") == "checking 450/1,000 rows"
    assert count_words(1800, 2000, "writing") == "writing 800/1,000 rows"
    assert count_words(1800, 2000, "checking", dry_run=True) == "checking 900/1,000 rows"
    assert count_words(1000, 0, "checking", dry_run=True) == "checking 500 rows"


def test_a_retried_check_never_moves_the_count_back():
    out = []
    report = Monotone(lambda d, t, s: out.append((d, t)))
    report(100, 100, "checking")
    report(20, 100, "checking")  # read again (the snapshot moved under it)
    report(0, 100, "writing")
    assert out == [(100, 200), (100, 200), (100, 200)]


# -------------------------------------------------------------- real imports

def test_local_import_progress_is_truthful(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", ROWS, lots=False)
    job = folio.submit_import(path, "BIG", as_of="2024-01-31", via="local")
    seen = sample(job, every=0.005)
    assert job.result().rows_imported == ROWS
    assert_truthful(seen, ROWS)
    assert any(t == 0 and d > 0 for d, t, _ in seen), "the first block had no estimate"


@pytest.mark.slow
def test_celery_import_progress_is_truthful(tmp_path, celery_stack):
    worker = start_worker()  # a real worker process; nothing runs eagerly
    try:
        path = big_english_csv(tmp_path / "big.csv", ROWS, lots=False)
        job = folio.submit_import(path, "BIG", as_of="2024-01-31", via="celery")
        seen = sample(job)
        assert job.result().rows_imported == ROWS
    finally:
        worker.stop()
    assert_truthful(seen, ROWS)
    assert {"checking", "writing"} & {stage for _, _, stage in seen}


def test_rejected_rows_are_done_when_writing_starts(tmp_path):
    path = english_csv(tmp_path / "h.csv", [
        ("FR0000120271", "Total", 10, 60, 600, "EUR", "2024-01-31"),
        (BAD_ISIN, "Bad", 1, 1, 1, "EUR", "2024-01-31")])
    calls = []
    from folio.ingest.pipeline import ImportRequest, run_import

    run_import(ImportRequest(path=str(path), portfolio="P"),
               progress=lambda d, t, s: calls.append((d, t, s)))
    # 2 rows: checked (2 steps), then 1 written and 1 rejected (2 steps).
    assert calls[-1] == (4, 4, "writing")
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert min(d for d, _, s in calls if s == "writing") >= 3  # the rejected one, done


def test_a_dry_run_reports_rows_checked_and_ends_at_its_total(tmp_path):
    path = english_csv(tmp_path / "h.csv", [
        ("FR0000120271", "Total", 10, 60, 600, "EUR", "2024-01-31"),
        (BAD_ISIN, "Bad", 1, 1, 1, "EUR", "2024-01-31")])
    calls = []
    from folio.ingest.pipeline import ImportRequest, run_import

    result = run_import(ImportRequest(path=str(path), portfolio="P", dry_run=True),
                        progress=lambda d, t, s: calls.append((d, t, s)))
    assert result.status == "dry_run" and folio.portfolios().empty
    # 2 rows checked (2 steps) and none written: the other 2 steps are done with them.
    assert calls[0] == (0, 0, "reading") and calls[-1] == (4, 4, "checking")
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert "writing" not in {s for _, _, s in calls}


def test_a_dry_run_job_shows_truthful_progress(tmp_path):
    path = big_english_csv(tmp_path / "big.csv", ROWS, lots=False)
    job = folio.submit_import(path, "BIG", as_of="2024-01-31", via="local", dry_run=True)
    seen = sample(job, every=0.005)
    assert job.result().status == "dry_run" and job.result().rows_imported == ROWS
    dones = [d for d, _, _ in seen]
    assert dones == sorted(dones)
    assert {t for _, t, _ in seen if t} == {2 * ROWS}  # one total, never an estimate
    assert seen[-1][:2] == (2 * ROWS, 2 * ROWS)
    assert any(0 < d < 2 * ROWS for d in dones), "no progress seen before the end"
    assert "writing" not in {stage for _, _, stage in seen}


def test_a_dry_run_bar_fills_while_it_checks(tmp_path):
    # ROWS rows are checked a block (16 MB, about 150,000 rows) at a time: after
    # each block the count is 2 x the rows checked, so it passes half-way with the
    # rows, not in one jump from half-way to the end once the last row is checked.
    path = big_english_csv(tmp_path / "big.csv", ROWS, lots=False)
    calls = []
    from folio.ingest.pipeline import ImportRequest, run_import

    run_import(ImportRequest(path=str(path), portfolio="BIG", as_of="2024-01-31", dry_run=True),
               progress=lambda d, t, s: calls.append((d, t, s)))
    checking = [d for d, _, s in calls if s == "checking"]
    assert any(ROWS < d < 2 * ROWS for d in checking), sorted(set(checking))[:8]
    jumps = [b - a for a, b in zip(checking, checking[1:], strict=False)]
    assert max(jumps) < ROWS, max(jumps)  # no jump of half the bar


# ------------------------------------------------------------------ watcher

def test_one_watcher_polls_a_job_for_every_view(tmp_path):
    from folio.widgets.progress import JobBar
    from folio.widgets.watcher import watch

    path = big_english_csv(tmp_path / "big.csv", 200_000, lots=False)
    job = folio.submit_import(path, "P", as_of="2024-01-31")
    bars = [JobBar(job) for _ in range(3)]
    watcher = watch(job)
    assert all(bar.watcher is watcher for bar in bars)
    pollers = [t for t in threading.enumerate() if t.name == f"folio-watch-{job.id}"]
    assert len(pollers) == 1
    values, phases = [], []
    watcher.observe(lambda change: phases.append(change.new), names="phase")
    while not watcher.wait(0.01):
        values.append((bars[0].bar.value, watcher.done, watcher.total))
    assert watcher.finished and watcher.status == "succeeded" and watcher.phase == "done"
    assert (watcher.done, watcher.total) == (400_000, 400_000)
    assert [v for v, _, _ in values] == sorted(v for v, _, _ in values)
    assert all(bar.bar.value == 100 and bar.bar.bar_style == "success" for bar in bars)
    assert all(bar.label.value.startswith("imported 200,000 rows") for bar in bars)
    assert phases[-1] == "done"
    assert set(phases) <= {"pending", "running", "reading", "checking", "writing", "done"}


def test_watcher_says_rate_and_eta_while_running(tmp_path):
    from folio.widgets.watcher import JobWatcher

    path = big_english_csv(tmp_path / "big.csv", 300_000, lots=False)
    job = folio.submit_import(path, "P", as_of="2024-01-31")
    watcher = JobWatcher(job, interval=0.01)
    states = []
    watcher.observe(lambda change: states.append(
        (watcher.phase, watcher.done, watcher.total, watcher.rate, watcher.eta, watcher.text)),
        names="done")
    watcher.start().wait(120)
    running = [s for s in states if s[0] in ("checking", "writing") and s[2]]
    assert running, states[:3]
    phase, done, total, rate, eta, text = running[-1]
    assert rate and rate > 0 and eta is not None and eta >= 0
    assert total == 600_000 and f"{total // 2:,} rows" in text and "ETA" in text
    assert "rows/s" in text and "elapsed" in text


def test_watcher_of_a_dry_run_says_rows_checked_and_their_rate():
    from folio.execution.backends import Snapshot
    from folio.widgets.progress import text_line
    from folio.widgets.watcher import JobWatcher

    # A dry run of 1,000 rows that has checked 100, then 400 rows 0.5 s later: a
    # dry run's count is 2 steps a row checked (200, then 800 of 2,000).
    snaps = iter([Snapshot("running", 200, 2000, stage="checking"),
                  Snapshot("running", 800, 2000, stage="checking")])
    class DryRun:  # what a watcher reads of a job
        dry_run, fallback_reason, submitted_at = True, None, time.time()

        def poll(self):
            return next(snaps)

    job = DryRun()
    watcher = JobWatcher(job)
    time.sleep(0.5)
    watcher.refresh()
    assert watcher.percent == 40
    assert watcher.text.startswith("checking 400/1,000 rows · 40%")
    rows_per_s = int(watcher.text.split(" rows/s")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert 300 / 0.7 < rows_per_s <= 300 / 0.5  # 300 rows checked in a bit over 0.5 s
    assert " 400/1,000 rows [" in text_line(watcher)


def test_watcher_of_a_failed_job_says_why(tmp_path):
    from folio.widgets.watcher import watch

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    job = folio.submit_import(empty, "P", as_of="2024-01-31")
    watcher = watch(job)
    assert watcher.wait(60)
    assert (watcher.status, watcher.phase, watcher.style) == ("failed", "failed", "danger")
    assert watcher.text.startswith("failed: ") and "empty.csv" in watcher.text


def test_execution_never_imports_the_widgets():
    code = ("import sys, folio, folio.execution.submit, folio.execution.jobs, "
            "folio.execution.local;"
            "print(sorted(m for m in sys.modules if m.startswith('folio.widgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "[]"
    execution = Path(folio.__file__).parent / "execution"
    imports = re.compile(r"^\s*(from|import)\s+folio\.widgets", re.M)
    assert not [p.name for p in execution.glob("*.py") if imports.search(p.read_text())]


# ------------------------------------------------------------------ the words

def test_status_words(tmp_path):
    path = french_statement(tmp_path / "releve.csv")
    dry = folio.import_file(path, "TRESO-SN", dry_run=True)
    assert dry.headline == "would import 2 of 3 rows, 1 rejected; nothing written"
    first = folio.import_file(path, "TRESO-SN")
    assert first.headline == "imported 2 of 3 rows, 1 rejected"
    again = folio.import_file(path, "TRESO-SN")
    assert again.status == "unchanged"
    assert again.headline == "already imported (same file): nothing written"
    text = again.summary()
    assert text.splitlines()[0].endswith("already imported (same file): nothing written")
    assert again.import_id not in text.splitlines()[0]  # the id is secondary
    assert f"import id: {again.import_id}" in text
    one = english_csv(tmp_path / "one.csv", [("FR0000120271", "T", 1, 1, 1, "EUR", "2024-01-31")])
    assert folio.import_file(one, "ONE").headline == "imported 1 row"
    # The same instrument in three rows: two duplicate_instrument warnings, named.
    lots = english_csv(tmp_path / "lots.csv", [
        ("FR0000120271", "T", q, 1, q, "EUR", "2024-01-31") for q in (1, 2, 3)])
    warned = folio.import_file(lots, "LOTS")
    assert warned.warnings == 2 and warned.headline == "imported 3 rows, 2 warnings"
    one_more = english_csv(tmp_path / "two.csv", [
        ("FR0000120271", "T", q, 1, q, "EUR", "2024-01-31") for q in (1, 2)])
    assert folio.import_file(one_more, "TWO", dry_run=True).headline == \
        "would import 2 rows, 1 warning; nothing written"


def test_job_repr_puts_the_words_first(tmp_path):
    job = folio.submit_import(french_statement(tmp_path / "releve.csv"), "TRESO-SN")
    job.wait(60)
    text = repr(job)
    assert "imported 2 of 3 rows, 1 rejected" in text
    assert text.index("imported") < text.index(job.id)


# ---------------------------------------------------------------- terminal

def run_in_pty(args, env, timeout=240) -> str:
    """Run ``folio args`` with a terminal as stdin/stdout/stderr; all it wrote."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([str(FOLIO), *map(str, args)], stdin=follower, stdout=follower,
                            stderr=follower, env=env, close_fds=True)
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode("utf-8", errors="replace")


def folio_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    return {**env, "FOLIO_HOME": str(home), "FOLIO_EXECUTION": "local", "COLUMNS": "120"}


def test_folio_import_on_a_terminal_shows_the_bar(tmp_path, home):
    path = big_english_csv(tmp_path / "big.csv", 300_000, lots=False)
    out = run_in_pty(["import", path, "-p", "BIG", "--as-of", "2024-01-31"], folio_env(home))
    frames = out.split("\r")
    bars = [f for f in frames if "%|" in f]
    assert bars, out[:500]
    shares = [int(f.split("%|")[0].split()[-1]) for f in bars]
    assert shares == sorted(shares), shares  # drawn in place, only going up
    # The stage and its rows (checking may be over before the first draw, a tick
    # and the bar's start after the import's: 300,000 rows check in about 0.3 s).
    assert any(f.split()[0] in ("checking", "writing") and "/300,000 rows" in f
               for f in bars), bars[:3]
    # elapsed<remaining and the rate, as tqdm writes them
    assert any(re.search(r"\[\d\d:\d\d<\d\d:\d\d, [\d,]+ rows/s\]", f) for f in bars), bars
    assert "100%|" in bars[-1] and "imported 300,000 rows" in bars[-1]


def test_folio_import_is_quiet_without_a_terminal_or_with_json(tmp_path, home):
    path = big_english_csv(tmp_path / "big.csv", 50_000, lots=False)
    env = folio_env(home)
    piped = subprocess.run([str(FOLIO), "import", str(path), "-p", "BIG", "--as-of",
                            "2024-01-31"], capture_output=True, text=True, env=env, timeout=120)
    assert piped.returncode == 0 and "%|" not in piped.stderr and "\r" not in piped.stderr
    assert "imported 50,000 rows" in piped.stdout
    other = big_english_csv(tmp_path / "big2.csv", 50_000, lots=False, currency="USD")
    out = run_in_pty(["import", other, "-p", "BIG2", "--as-of", "2024-01-31", "--json"], env)
    assert "%|" not in out and '"status": "succeeded"' in out


def test_the_bar_is_a_widget_that_composes(tmp_path):
    import ipywidgets

    from folio.widgets.progress import JobBar

    job = folio.submit_import(french_statement(tmp_path / "releve.csv"), "TRESO-SN")
    bar = JobBar(job)
    box = ipywidgets.VBox([bar])  # a TraitError if it were not a widget
    job.wait(60)
    bar.watcher.wait(60)
    assert box.children[0] is bar and bar.children == (bar.bar, bar.label)
    assert (bar.bar.value, bar.bar.bar_style) == (100, "warning")


def test_a_finished_job_is_not_kept_alive_by_its_watcher(tmp_path):
    import gc
    import weakref

    from folio.widgets.watcher import watch

    job = folio.submit_import(french_statement(tmp_path / "releve.csv"), "TRESO-SN")
    watcher = watch(job)
    assert watcher.wait(60) and watcher.job is job
    gone = weakref.ref(job)
    del job
    gc.collect()
    assert gone() is None and watcher.job is None
    assert watcher.text.startswith("imported 2 of 3 rows")  # the views keep the last state
