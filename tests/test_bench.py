"""The import benchmark runs end to end and prints the figures the project quotes.

Not a timed test: it checks that every figure is there and is a time or a size,
on a small file, so `make bench` cannot rot between the sessions that run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "import_bench.py"


@pytest.mark.slow
def test_the_import_bench_prints_every_figure_as_json(tmp_path):
    # FOLIO_* variables of the caller must not move the embedded runs elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a store under a file cannot be made: a run that used it fails
    env["FOLIO_DATABASE_URL"] = f"sqlite:///{blocker.as_posix()}/folio.db"
    out = subprocess.run(
        [sys.executable, str(BENCH), "--rows", "3000", "--runs", "1", "--big-rows", "20000",
         "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("floor_s", "naive_s", "folio_local_s", "folio_celery_s", "peak_rss_mb",
                "progress_gap_s", "big_peak_rss_mb", "big_s", "local_cpu_s"):
        assert figures[key] > 0, key
    assert "pg_floor_s" not in figures  # no PostgreSQL URL given
    for line in ("folio local vs naive:", "folio celery / local:", "local / floor, round by round:",
                 "20,000 rows"):
        assert line in out.stdout, line


@pytest.mark.slow
def test_the_throughput_bench_prints_imports_per_minute_and_the_scaling(tmp_path):
    """Real workers on the embedded stack (no server URL given): a row per count of
    workers, with its rate and its ratio to one worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")}
    script = BENCH.parent / "bench_throughput.py"
    out = subprocess.run(
        [sys.executable, str(script), "--imports", "2", "--rows", "2000", "--workers", "1,2",
         "--rounds", "1", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    rates = {"embedded+sqlite:1", "embedded+sqlite:2"}
    assert set(figures) == rates | {f"{k}:cpu_s" for k in rates}
    assert all(figures[k] > 0 for k in rates)
    # Each import reads, checks and writes 2,000 rows in a worker: CPU it spent there.
    assert all(figures[f"{k}:cpu_s"] > 0 for k in rates)
    assert "2 workers" in out.stdout and "x one worker" in out.stdout
    assert "workers' CPU" in out.stdout
