"""The web page end to end: headless Chromium (Debian's package, driven by Playwright) against a live server.

Set up with ``make browser-deps`` (apt-installs chromium, pip-installs playwright). Skipped, with the
reason, when either is missing. ``LSTMTEXT_CHROMIUM`` points at another Chromium binary.
"""

import os
import shutil
import socket
import threading
import time

import pytest

from lstmtext.inference.predictor import Predictor
from lstmtext.server import ServeSettings, create_app

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LSTMTEXT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
TEXT = "@airline thanks my crew flight service the great your!"


@pytest.fixture(scope="module")
def live_server(trained_run):
    """A uvicorn server in a thread of this process, on a free port of 127.0.0.1."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bundle = trained_run[0] / "model"
    app = create_app(ServeSettings(bundle=bundle, max_text_chars=100, engine="torch"))  # compared with PyTorch below
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start within 30 s"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", bundle
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def page(live_server, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium not found: run `make browser-deps` (apt-get install chromium) or set LSTMTEXT_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed: run `make browser-deps`")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                        args=FLAGS, timeout=60_000)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()


def test_page_shows_the_class_probabilities_as_bars(live_server, page):
    url, bundle = live_server
    page.goto(url)
    page.wait_for_function("document.getElementById('model').textContent.includes('engine')")
    assert page.text_content("#model").startswith("lstm (torch engine, test accuracy ")
    page.fill("#text", TEXT)
    page.click("#classify")
    page.wait_for_selector("#results .row")
    rows = page.eval_on_selector_all(
        "#results .row",
        "rows => rows.map(r => [r.dataset.label, Number(r.dataset.score), r.querySelector('.bar').style.width,"
        " r.classList.contains('best')])")
    predictor = Predictor.from_bundle(bundle)
    proba = predictor.predict_proba([TEXT])[0]
    expected = sorted(zip(predictor.labels, proba.tolist()), key=lambda x: -x[1])
    assert [r[0] for r in rows] == [label for label, _ in expected]
    assert max(abs(r[1] - p) for r, (_, p) in zip(rows, expected)) < 1e-6
    assert [r[2] for r in rows] == [f"{100 * p:.1f}%" for _, p in expected]
    assert [r[3] for r in rows] == [True, False, False]
    assert page.text_content("#error") == ""


def test_page_shows_the_servers_message_on_an_error(live_server, page):
    page.goto(live_server[0])
    page.fill("#text", "x" * 101)
    page.click("#classify")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert page.text_content("#error") == (
        "Could not classify: body.texts.0: String should have at most 100 characters. Shorten the text (limits: GET /info).")
    assert page.eval_on_selector_all("#results .row", "rows => rows.length") == 0
