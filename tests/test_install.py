"""folio installed WITHOUT extras into a fresh venv really works: a worker on the
embedded broker and on Redis runs a real import.

A plain venv (no ``--system-site-packages``, which would lend it this venv's
packages and hide a dependency folio does not declare, as ``packaging`` was
for kombu's Redis transport); pip fetches through its cache. About a minute,
most of it pip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from services import service_url

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "holdings" / "treso_sn_2024-01-31.csv"
# Run in the fresh venv: start a worker, import through it, print the result.
SCRIPT = """
import json, sys
import folio
worker = folio.start_worker()
try:
    result = folio.import_file(sys.argv[1], "TRESO-SN", via="celery", timeout=60)
finally:
    worker.stop()
report = folio.analytics.report("TRESO-SN")  # analytics need no extra
try:  # an Excel report does: the excel extra, said as such
    report.to_excel("report.xlsx")
    excel = "written"
except folio.ConfigError as exc:
    excel = exc.message
print(json.dumps({"module": folio.__file__, "result": result.to_dict(),
                  "report_value": report["valuation"]["value"], "excel": excel}))
"""


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", str(ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return python


@pytest.mark.slow
@pytest.mark.parametrize("broker", ["embedded", "redis"])
def test_folio_without_extras_imports_through_a_worker(fresh_python, tmp_path, broker):
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FOLIO_", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"FOLIO_HOME": str(tmp_path / "home"),
                "FOLIO_QUEUE": f"folio-install-{uuid.uuid4().hex[:8]}"})
    if broker == "redis":
        url = service_url("redis").rstrip("/") + "/0"
        env.update({"FOLIO_BROKER_URL": url, "FOLIO_RESULT_BACKEND": url})
    done = subprocess.run([str(fresh_python), "-c", SCRIPT, str(SAMPLE)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # The installed folio, not this checkout's lib/.
    assert Path(out["module"]).is_relative_to(fresh_python.parents[1])
    result = out["result"]
    assert (result["status"], result["via"]) == ("succeeded", "celery")
    # The sample's 9 positions, read as the cp1252 semicolon file it is.
    assert (result["rows_total"], result["rows_imported"], result["rows_rejected"]) == (9, 9, 0)
    assert (result["reader"]["encoding"], result["reader"]["delimiter"]) == ("cp1252", ";")
    assert out["report_value"] > 0
    assert "pip install 'folio[excel]'" in out["excel"], out["excel"]


CHART_SCRIPT = """
import pandas as pd
from folio import analytics
from folio.widgets import Table
v = analytics.value_positions(pd.DataFrame({
    "identifier": ["A1", "B1"], "quantity": [1.0, 1.0], "market_value": [300.0, 100.0],
    "currency": ["EUR", "EUR"], "issuer": ["Alpha", "Beta"], "as_of": "2024-03-31"}),
    base_currency="EUR")
fig = analytics.plot_exposure(v, "issuer")
print([float(round(p.get_width(), 2)) for p in fig.axes[0].patches], analytics.plots.png(fig)[:4],
      Table(analytics.exposure(v, "issuer")).status.value)
"""


@pytest.mark.slow
def test_charts_and_tables_need_no_extras(fresh_python, tmp_path):
    """matplotlib is a dependency of folio itself: the Dashboard's charts draw without extras."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("FOLIO_", "PYTHON", "VIRTUAL_ENV", "MPL"))}
    env["FOLIO_HOME"] = str(tmp_path / "home")
    done = subprocess.run([str(fresh_python), "-c", CHART_SCRIPT], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    # shares 300/400 and 100/400 (no unvalued bar: none is unvalued); the table has 3 rows
    assert done.stdout.strip() == "[0.75, 0.25] b'\\x89PNG' rows 1–3 of 3"
