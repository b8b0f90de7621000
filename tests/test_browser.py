"""Lesson 1 in a real browser: JupyterLab runs the notebook and a learner moves a slider.

nbval proves the cells run; only a browser proves the widgets work where learners use them. The
test starts JupyterLab on a free loopback port with a random token, on a temporary copy of the
PyTorch notebook (outputs cleared, so whatever appears is live; JupyterLab's autosave writes to the
copy, never to notebooks/). Headless Chromium runs every cell from the Run menu, waits for the
sampling panel, moves the temperature slider with the keyboard, and checks that the kernel
redrew the probability chart and sampled a new passage. The panel is saved as
``build/screenshot_lesson1_panel.png``, which `make figures` copies to docs/images/.

Browser: Debian's ``chromium`` (or any Chromium/Chrome named by ``LESSONKIT_CHROMIUM``), driven by
Playwright's Python package; ``playwright install`` is not needed. In CI (``CI=true``) the test
must run, so `make test` installs chromium with apt first; elsewhere it skips without one.
It needs no network: `make test` runs it inside the loopback-only namespace with the unit tests.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "01_generative_rnn_pytorch.ipynb"
SCREENSHOT = ROOT / "build" / "screenshot_lesson1_panel.png"
FAILURE_SCREENSHOT = ROOT / "build" / "browser_test_failure.png"  # not exported to docs/images
CHROMIUM_ARGS = [
    "--no-sandbox",  # Chromium's sandbox refuses to run as root (CI containers)
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def open_browser(playwright, chromium: str, tmp_path, timeout_ms: int):
    """Headless Chromium with a fresh profile under ``tmp_path``: (browser context, its page)."""
    browser = playwright.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),  # a fresh --user-data-dir
        executable_path=chromium,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 1000},
    )
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.set_default_timeout(timeout_ms)
    return browser, page


NOTEBOOK_SECONDS = 600  # the notebook takes about a minute; generous for a loaded CI machine
HOW_TO_ENABLE = (
    "install Chromium to run it (Debian/Ubuntu: `sudo apt-get install chromium`), or point "
    "LESSONKIT_CHROMIUM at a Chromium or Chrome executable"
)


def find_chromium() -> str | None:
    named = os.environ.get("LESSONKIT_CHROMIUM")
    if named:
        if not os.access(named, os.X_OK):
            pytest.fail(f"LESSONKIT_CHROMIUM={named} is not an executable")
        return named
    candidates = ["/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"]
    found = [shutil.which(c) for c in candidates]
    return next((path for path in found if path), None)


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("the browser test needs playwright (pip install -r requirements.txt)")
    path = find_chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "CI must run the browser test: `make chromium` installs it, or " + HOW_TO_ENABLE
            )
        pytest.skip("no Chromium found: " + HOW_TO_ENABLE)
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def lab_environment(tmp_path: Path) -> dict[str, str]:
    """Jupyter's config, data, runtime, settings and workspace folders, all fresh and temporary."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    for variable in (
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "IPYTHONDIR",
    ):
        folder = tmp_path / variable.lower()
        folder.mkdir()
        env[variable] = str(folder)
    # No "get Jupyter news?" pop-up over the notebook (it would also try the network).
    page_config = Path(env["JUPYTER_CONFIG_DIR"]) / "labconfig" / "page_config.json"
    page_config.parent.mkdir()
    announcements = "@jupyterlab/apputils-extension:announcements"
    page_config.write_text(json.dumps({"disabledExtensions": {announcements: True}}))
    # Render every cell (no windowing), so the test sees every prompt and output.
    tracker = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    return env


def stop(server: subprocess.Popen) -> None:
    """Stop JupyterLab and every process it started (kernels run in their own sessions)."""
    import psutil

    try:
        children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # the server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    for child in children:  # whatever outlived the server, by process id
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.fixture
def jupyter_lab(tmp_path: Path) -> Iterator[str]:
    """A JupyterLab server on a copy of Lesson 1; yields the notebook's URL, token included."""
    source = ROOT / "notebooks" / NOTEBOOK
    assert source.exists(), f"notebooks/{NOTEBOOK} is missing (make notebooks)"
    notebook = nbformat.read(source, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("widgets", None)
    root = tmp_path / "notebooks"
    root.mkdir()
    nbformat.write(notebook, root / NOTEBOOK)

    port, token = free_port(), secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1"]
    command += [f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}"]
    command += [f"--ServerApp.root_dir={root}"]
    command += ["--allow-root"] if os.geteuid() == 0 else []
    log = tmp_path / "jupyterlab.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            command,
            env=lab_environment(tmp_path),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() reaches all of it
        )
    try:
        status = f"http://127.0.0.1:{port}/api/status?token={token}"
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(status, timeout=5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK}?token={token}"
    finally:
        stop(server)


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(0.25)


def test_sampling_panel_in_a_browser(chromium, jupyter_lab, tmp_path):
    from playwright import sync_api

    FAILURE_SCREENSHOT.unlink(missing_ok=True)
    started = time.monotonic()
    with sync_api.sync_playwright() as playwright:
        browser, page = open_browser(playwright, chromium, tmp_path, timeout_ms=120_000)
        try:
            page.goto(jupyter_lab)
            page.locator(".jp-NotebookPanel").wait_for()
            page.get_by_text(re.compile(r"\| Idle$")).wait_for()  # the kernel is up

            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

            slider = page.locator(".widget-hslider", has_text="temperature")
            slider.wait_for(timeout=NOTEBOOK_SECONDS * 1000)
            page.wait_for_function(
                """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                         .every(prompt => /\\[\\d+\\]/.test(prompt.textContent))""",
                timeout=NOTEBOOK_SECONDS * 1000,
            )  # every cell has run
            errors = page.locator("[data-mime-type='application/vnd.jupyter.error']")
            assert errors.count() == 0, "a cell failed:\n" + "\n".join(errors.all_inner_texts())
            notebook_seconds = time.monotonic() - started

            panel = page.locator(".jp-OutputArea-output", has=slider)
            chart = panel.locator(".widget-output img").first
            passage = panel.locator(".widget-textarea textarea").first
            handle = slider.get_by_role("slider")
            before = handle.get_attribute("aria-valuenow")
            chart_before, passage_before = chart.get_attribute("src"), passage.input_value()
            assert float(before) > 0 and chart_before.startswith("data:image/png")

            # Home: temperature 0, greedy decoding. Whatever the model, the chart becomes one bar
            # and the passage the greedy one, so both must change (End, temperature 2, could leave
            # the passage as it was under a nearly flat distribution and the same seed).
            handle.focus()
            page.keyboard.press("Home")  # as a learner's keyboard moves the slider
            wait_until(lambda: float(handle.get_attribute("aria-valuenow")) == 0, 10, "the slider")
            assert slider.locator(".widget-readout").inner_text() == "0.00"
            wait_until(
                lambda: chart.get_attribute("src") != chart_before, 60, "the chart to be redrawn"
            )
            wait_until(lambda: passage.input_value() != passage_before, 60, "a new sampled passage")
            page.get_by_text(re.compile(r"\| Idle$")).wait_for()
            settled = chart.get_attribute("src")
            time.sleep(1)
            assert chart.get_attribute("src") == settled, "the chart is still changing"

            panel.scroll_into_view_if_needed()
            SCREENSHOT.parent.mkdir(exist_ok=True)
            panel.screenshot(path=str(SCREENSHOT))
        except Exception:
            FAILURE_SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(FAILURE_SCREENSHOT), full_page=True)
            raise
        finally:
            browser.close()
    print(
        f"\nbrowser test: notebook ran in {notebook_seconds:.0f} s, "
        f"{time.monotonic() - started:.0f} s in the browser in all"
    )
