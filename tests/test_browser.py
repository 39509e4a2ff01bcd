"""JupyterLab in a real browser: open the panel notebook, run it, click Import.

Uses Debian's chromium through Playwright's ``executable_path`` (never a
Playwright browser download). Skips unless FOLIO_TEST_CHROMIUM names the
browser; .ci/run installs chromium and sets it, so in CI this runs.
"""

from __future__ import annotations

import os
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


def test_panel_in_jupyterlab(chromium, lab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    base, token = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{base}/lab/tree/04_import_panel.ipynb?token={token}")
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
            button = page.locator(".widget-button", has_text="Import")
            button.wait_for(timeout=60_000)
            # Run All imports once from code; wait for that, then import by clicking.
            bar = page.locator(".widget-hprogress .progress-bar").first
            page.wait_for_function(
                "el => el.style.width === '100%'", arg=bar.element_handle(), timeout=120_000)
            status = page.locator(".widget-html-content", has_text="import ").first
            before = status.inner_text()
            button.click()
            page.wait_for_function(
                "([el, old]) => el.innerText !== old && el.innerText.includes('unchanged')",
                arg=[status.element_handle(), before], timeout=120_000)
            page.wait_for_function("el => el.style.width === '100%'", arg=bar.element_handle(),
                                   timeout=60_000)
            table = page.locator(".widget-html-content table").first
            text = table.inner_text()
            for code in ("mv_mismatch", "invalid_date", "missing_value", "invalid_number"):
                assert code in text
            assert "31/02/2024" in text
            button.scroll_into_view_if_needed()
        finally:
            page.screenshot(path=str(tmp_path / "jupyterlab-panel.png"), full_page=True)
            browser.close()
