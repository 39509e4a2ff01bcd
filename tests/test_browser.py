"""JupyterLab in a real browser: open the panel notebook, run it, click Import.

Uses Debian's chromium through Playwright's ``executable_path`` (never a
Playwright browser download). Skips unless FOLIO_TEST_CHROMIUM names the
browser; .ci/run installs chromium and sets it, so in CI this runs.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from faults import free_port

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium() -> str:
    path = os.environ.get("FOLIO_TEST_CHROMIUM")
    if not path:
        pytest.skip("browser test needs Debian's chromium: set FOLIO_TEST_CHROMIUM=/usr/bin/chromium")
    if not Path(path).exists():
        pytest.fail(f"FOLIO_TEST_CHROMIUM={path} is set but no browser is there")
    return path


@pytest.fixture
def lab(tmp_path, home):
    """JupyterLab on 127.0.0.1 with a token, on a copy of the notebooks."""
    root = tmp_path / "lab"
    shutil.copytree(ROOT / "notebooks", root)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, FOLIO_HOME=str(home), FOLIO_EXECUTION="local",
               JUPYTER_CONFIG_DIR=str(tmp_path / "jcfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "jrt"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "jset"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "jws"))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", f"--port={port}",
         "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError((tmp_path / "lab.log").read_text()[-3000:]) from None
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def open_and_run(page, base: str, token: str, name: str) -> None:
    """Open a notebook of the lab's folder in JupyterLab and run all its cells."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{base}/lab/tree/{name}?token={token}")
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:  # JupyterLab may ask which kernel to start
        select.wait_for(timeout=15_000)
        select.click()
    except PlaywrightTimeout:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']",
                           timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_panel_in_jupyterlab(chromium, lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            open_and_run(page, base, token, "04_import_panel.ipynb")
            # Run All ends on the mapping step's import; then import a sample by hand.
            wait_text(page, ".folio-status", "imported 2 rows")
            page.locator(".folio-path input").fill(
                str(ROOT / "data" / "holdings" / "treso_sn_2024-02-29.csv"))
            page.locator(".folio-portfolio input").fill("TRESO-SN")
            button = page.locator(".folio-button")
            button.click()
            wait_text(page, ".folio-status", "already imported (same file): nothing written")
            bar = page.locator(".widget-hprogress .progress-bar").first
            page.wait_for_function("el => el.style.width === '100%'", arg=bar.element_handle(),
                                   timeout=60_000)
            issues = page.locator(".folio-issues").first  # counted by code and column
            issues.wait_for(timeout=30_000)
            text = issues.inner_text()
            for code in ("mv_mismatch", "invalid_date", "missing_value", "invalid_number"):
                assert code in text
            issues.locator("button", has_text="Show rows").click()  # the rows on demand
            page.wait_for_function("el => el.innerText.includes('31/02/2024')",
                                   arg=issues.element_handle(), timeout=30_000)
            button.scroll_into_view_if_needed()
        finally:
            page.screenshot(path=str(tmp_path / "jupyterlab-panel.png"), full_page=True)
            browser.close()


PANEL_CELLS = ["from folio.widgets import ImportPanel\npanel = ImportPanel()\npanel"]


def lab_notebook(tmp_path, name: str, cells: list[str]) -> None:
    """A notebook of ``cells`` (code) in the lab's folder, on the Python 3 kernel."""
    import nbformat

    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                   "language": "python"}
    nbformat.write(book, tmp_path / "lab" / name)


def panel_page(p, chromium, lab, tmp_path):
    """A page showing a fresh ImportPanel in JupyterLab, its notebook run."""
    base, token = lab
    lab_notebook(tmp_path, "panel.ipynb", PANEL_CELLS)
    browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    open_and_run(page, base, token, "panel.ipynb")
    page.locator(".folio-upload-button").wait_for(timeout=60_000)
    return browser, page


def wait_text(page, selector: str, text: str, timeout: float = 120_000) -> None:
    """Until an element of ``selector`` holds ``text`` (textContent: JupyterLab skips
    laying out cells off screen, which leaves their innerText empty)."""
    page.wait_for_function(
        "([sel, text]) => [...document.querySelectorAll(sel)].some("
        "el => el.textContent.includes(text))", arg=[selector, text], timeout=timeout)


def theme_colours(page, kind: str) -> tuple[str, str]:
    """(the colour of the panel's status of ``kind``, the colour of the JupyterLab
    theme variable for it), as drawn now."""
    variable = {"warn": "--jp-warn-color1", "ok": "--jp-success-color1"}[kind]
    return tuple(page.evaluate("""([kind, variable]) => {
        const probe = document.createElement("span");
        probe.style.color = `var(${variable})`;
        document.body.append(probe);
        const out = [getComputedStyle(document.querySelector(
            `.folio-status .folio-${kind}`)).color, getComputedStyle(probe).color];
        probe.remove();
        return out;
    }""", [kind, variable]))


def test_mapping_step_in_jupyterlab(chromium, lab, tmp_path, home):
    """Upload a file of unknown French headers, fix the guesses, preview, save, import."""
    from playwright.sync_api import sync_playwright

    import folio

    from builders import ORANGE, TOTAL

    source = tmp_path / "positions_2024-06-30.csv"
    source.write_bytes("\r\n".join([
        "Réf. titre;Intitulé;Qté détenue;Cours du jour;Montant valorisé",
        f"{TOTAL};Total SA;120;50,00;6 000,00", f"{ORANGE};Orange;300;10,50;3 150,00",
        ""]).encode("cp1252"))
    shots = os.environ.get("FOLIO_TEST_SCREENSHOTS_DIR")
    with sync_playwright() as p:
        browser, page = panel_page(p, chromium, lab, tmp_path)
        try:
            page.locator(".folio-upload-input").set_input_files(str(source))
            wait_text(page, ".folio-status", "uploaded positions_2024-06-30.csv")
            assert page.locator(".folio-path input").input_value() == "positions_2024-06-30.csv"
            wait_text(page, ".folio-facts", "as of 2024-06-30")
            page.locator(".folio-portfolio input").fill("BANQUE-X")
            page.locator(".folio-button").click()
            wait_text(page, ".folio-status", "cannot map every column")
            shown, theirs = theme_colours(page, "warn")
            assert shown == theirs  # the theme's warning colour, not a fixed one
            rows = page.locator(".folio-step .folio-column")
            rows.first.wait_for(timeout=60_000)
            guesses = {rows.nth(i).locator("div.widget-label").inner_text():
                       rows.nth(i).locator("select").input_value() for i in range(rows.count())}
            assert guesses == {"Réf. titre": "identifier", "Intitulé": "ignore",
                               "Qté détenue": "ignore", "Cours du jour": "price",
                               "Montant valorisé": "market_value"}

            def column(name):
                return page.locator(".folio-step .folio-column", has_text=name).locator("select")

            column("Qté détenue").select_option("quantity")
            column("Intitulé").select_option("name")
            currency = page.locator(".folio-constant-currency input")
            currency.fill("XOF")
            currency.press("Enter")
            wait_text(page, ".folio-step-note", "would import 2 rows; nothing written")
            preview = page.locator(".folio-step-preview table").inner_text()
            assert "XOF" in preview and "3,150" in preview and "Total SA" in preview
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.locator(".folio-widget").screenshot(
                    path=str(Path(shots) / "import-panel-mapping.png"))
            page.locator(".folio-step-name input").fill("banque-x")
            page.locator(".folio-step-save-button").click()
            wait_text(page, ".folio-step-note", "saved as preset 'banque-x'")
            page.locator(".folio-step-import-button").click()
            wait_text(page, ".folio-status", "imported 2 rows")
            if shots:
                page.locator(".folio-widget").screenshot(
                    path=str(Path(shots) / "import-panel-imported.png"))
            light, _ = theme_colours(page, "ok")
            page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Theme").first.hover()
            page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
            page.wait_for_selector("body[data-jp-theme-light='false']", state="attached",
                                   timeout=30_000)
            dark, theirs = theme_colours(page, "ok")
            assert dark == theirs and dark != light  # follows the theme, light or dark
        finally:
            page.screenshot(path=str(tmp_path / "mapping-step.png"), full_page=True)
            browser.close()
    stored = folio.positions("BANQUE-X")
    assert stored[["identifier", "name", "quantity", "market_value", "currency"]] \
        .values.tolist() == [[TOTAL, "Total SA", 120.0, 6000.0, "XOF"],
                             [ORANGE, "Orange", 300.0, 3150.0, "XOF"]]
    assert [p["name"] for p in folio.presets() if p["user"]] == ["banque-x"]


def test_a_50_mb_upload_reaches_the_import(chromium, lab, tmp_path, home):
    from playwright.sync_api import sync_playwright

    import folio

    from builders import TOTAL

    source = tmp_path / "large_2024-01-31.csv"
    name = "x" * 100  # wide rows: 50 MB in fewer rows, so the import itself stays short
    rows = 0
    with open(source, "w", encoding="utf-8") as out:
        out.write("ISIN,Security Name,Quantity,Price,Market Value,Currency\n")
        while out.tell() < 50 * 2**20:
            rows += 1
            out.write(f"{TOTAL},{name},{rows},2.0,{rows * 2.0},EUR\n")
    with sync_playwright() as p:
        browser, page = panel_page(p, chromium, lab, tmp_path)
        try:
            page.locator(".folio-upload-input").set_input_files(str(source))
            wait_text(page, ".folio-status", "uploaded large_2024-01-31.csv (50.", 300_000)
            page.locator(".folio-portfolio input").fill("LARGE")
            page.locator(".folio-button").click()
            wait_text(page, ".folio-status", f"imported {rows:,} rows",
                      300_000)
        finally:
            page.screenshot(path=str(tmp_path / "large-upload.png"), full_page=True)
            browser.close()
    kept = [p for p in folio.get_settings().uploads.iterdir() if p.name.endswith("large_2024-01-31.csv")]
    assert len(kept) == 1 and kept[0].stat().st_size == source.stat().st_size
    assert kept[0].read_bytes() == source.read_bytes()
    assert folio.positions("LARGE")["quantity"].sum() == rows * (rows + 1) / 2


PROGRESS_CELLS = [
    "import folio\n"
    "worker = folio.start_worker()  # a real Celery worker process, on the embedded broker",
    "rows = 600_000  # two read blocks: the row count is known only at the second\n"
    "with open('big.csv', 'w') as fh:\n"
    "    fh.write('ISIN,Quantity,Price,Market Value,Currency\\n')\n"
    "    fh.writelines(f'SEC{i:07d},{i + 1},10.0,{(i + 1) * 10.0},EUR\\n' for i in range(rows))\n"
    "job = folio.submit_import('big.csv', 'BIG', as_of='2024-01-31', via='celery')\n"
    "job  # draws itself as a live bar",
    "result = job.result(timeout=300)\n"
    "worker.stop()\n"
    "print(result.via, result.headline)",
]
# Samples the job's bar (its width) and words every 20 ms, from the page's start.
SAMPLE_BAR = """
window.folioSeen = [];
setInterval(() => {
    const bar = document.querySelector('.widget-hprogress .progress-bar');
    const label = document.querySelector('.widget-hprogress + .widget-label');
    if (bar) window.folioSeen.push([parseFloat(bar.style.width) || 0,
                                    label ? label.textContent : '']);
}, 20);
"""


def test_celery_import_progress_bar_is_monotone_in_jupyterlab(chromium, lab, tmp_path):
    """A Celery import's bar in a real JupyterLab only grows, to 100%, and says so."""
    from playwright.sync_api import sync_playwright

    base, token = lab
    lab_notebook(tmp_path, "progress.ipynb", PROGRESS_CELLS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.add_init_script(SAMPLE_BAR)
        try:
            open_and_run(page, base, token, "progress.ipynb")
            page.wait_for_function(
                "() => window.folioSeen.some(([w, t]) => w === 100 && t.startsWith('imported'))",
                timeout=240_000)
            page.wait_for_selector(".jp-OutputArea-output:has-text('celery imported 600,000 rows')",
                                   timeout=60_000)
            seen = page.evaluate("window.folioSeen")
        finally:
            page.screenshot(path=str(tmp_path / "jupyterlab-progress.png"), full_page=True)
            browser.close()
    widths = [w for w, _ in seen]
    assert widths == sorted(widths), widths[:50]
    assert widths[-1] == 100 and any(0 < w < 100 for w in widths), sorted(set(widths))
    words = [t for _, t in seen]
    assert any("checking" in t for t in words) or any("writing" in t for t in words), words[:5]
    assert any("rows/s" in t and "ETA" in t for t in words), set(words)
    assert words[-1].startswith("imported 600,000 rows")


DASHBOARD_CELLS = [
    """import csv
from pathlib import Path

import numpy as np
import pandas as pd

import folio
from folio.widgets import Dashboard, Table

holdings = Path(folio.config.PROJECT_DATA) / "holdings"
folio.load_reference()
for entry in csv.DictReader(open(holdings / "manifest.csv", encoding="utf-8")):
    if entry["base_currency"]:
        folio.create_portfolio(entry["portfolio"], entry["base_currency"])
    folio.import_file(holdings / entry["file"], entry["portfolio"], as_of=entry["as_of"] or None,
                      via="local")""",
    """big = pd.DataFrame({"identifier": [f"XS{i:010d}" for i in range(1000)],
                    "market_value": np.arange(1000) * 2_000_000.0 + 1_830_516.0,
                    "currency": ["XAF"] * 1000})
Table(big)""",
    """Dashboard("PENSION-CM")""",
]


def _luminance(css: str) -> float:
    """0 (black) to 255 (white) for a CSS ``rgb(...)`` colour."""
    r, g, b = (float(x) for x in re.findall(r"[\d.]+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_dashboard_and_tables_in_jupyterlab(chromium, lab, tmp_path):
    """Tables page and show no scientific notation; every Dashboard tab draws a chart."""
    from playwright.sync_api import sync_playwright

    base, token = lab
    lab_notebook(tmp_path, "dashboard_check.ipynb", DASHBOARD_CELLS)
    shots = os.environ.get("FOLIO_TEST_SCREENSHOTS_DIR")  # README pictures, when set
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        try:
            open_and_run(page, base, token, "dashboard_check.ipynb")
            board = page.locator(".folio-dashboard").first
            board.wait_for(timeout=180_000)
            # the paged table: 1,000 rows, 20 drawn, numbers with separators
            table = page.locator(".folio-table-widget").first
            table.wait_for(timeout=60_000)
            page.wait_for_function("el => el.innerText.includes('rows 1–20 of 1,000')",
                                   arg=table.element_handle(), timeout=30_000)
            assert table.locator(".folio-table tbody tr").count() == 20
            table.locator("button", has_text="›").click()
            page.wait_for_function(
                "el => el.innerText.includes('rows 21–40 of 1,000')",
                arg=table.element_handle(), timeout=30_000)
            page.wait_for_function("el => el.innerText.includes('XS0000000020')",
                                   arg=table.element_handle(), timeout=30_000)
            text = table.locator(".folio-table").inner_text()
            assert "41,830,516" in text  # row 20: 1,830,516 + 20 x 2,000,000
            assert not re.search(r"\de[+-]\d", text)
            for tab in ("Valuation", "Exposures", "Concentration", "Stress", "Changes"):
                title = board.locator(".lm-TabBar-tab", has_text=tab).first
                title.click()
                page.wait_for_function("el => el.classList.contains('lm-mod-current')",
                                       arg=title.element_handle(), timeout=30_000)
                panel = board.locator(
                    ".widget-tab-contents > .lm-Widget:not(.lm-mod-hidden)").first
                chart = panel.locator("img").first
                chart.wait_for(state="visible", timeout=30_000)
                page.wait_for_function("img => img.complete && img.naturalWidth > 100",
                                       arg=chart.element_handle(), timeout=30_000)
                if tab == "Exposures":
                    page.wait_for_function(
                        "el => el.innerText.includes('Republic of Cameroon')",
                        arg=panel.element_handle(), timeout=30_000)
                    assert "53.3%" in panel.inner_text()  # its share, shown as a percent
                shown = panel.inner_text()
                assert not re.search(r"\d\.\d+e[+-]\d", shown), (tab, shown[:500])
            board.locator(".lm-TabBar-tab", has_text="Exposures").first.click()
            board.scroll_into_view_if_needed()
            if shots:
                page.add_style_tag(content=".Toastify { display: none !important; }")  # news toast
                Path(shots).mkdir(parents=True, exist_ok=True)
                board.screenshot(path=str(Path(shots) / "dashboard.png"))
            # The tables follow JupyterLab's theme: switch to dark, the text turns light.
            cell = board.locator(".folio-table td").first
            colour = "el => getComputedStyle(el).color"
            theme_text = ("() => getComputedStyle(document.body)"
                          ".getPropertyValue('--jp-ui-font-color1').trim()")
            light = cell.evaluate(colour)
            page.locator(".lm-MenuBar-itemLabel", has_text="Settings").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Theme").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="JupyterLab Dark").first.click()
            page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'",
                                   timeout=30_000)
            page.wait_for_function(f"([el, old]) => ({colour})(el) !== old",
                                   arg=[cell.element_handle(), light], timeout=30_000)
            dark = cell.evaluate(colour)
            assert _luminance(dark) > _luminance(light)  # light text on a dark page
            assert page.evaluate(theme_text) != ""
            if shots:
                board.screenshot(path=str(Path(shots) / "dashboard-dark.png"))
        finally:
            page.screenshot(path=str(tmp_path / "jupyterlab-dashboard.png"), full_page=True)
            browser.close()
