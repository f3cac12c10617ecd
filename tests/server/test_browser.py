"""The web page end to end: headless Chromium (Debian's package, driven by Playwright) against a live server.

Set up with ``make browser-deps`` (apt-installs chromium, pip-installs playwright). Skipped, with the
reason, when either is missing. ``LSTMTEXT_CHROMIUM`` points at another Chromium binary.
"""

import os
import shutil
import socket
import threading
import time
from contextlib import contextmanager

import pytest

from helpers import FakePredictor
from lstmtext.inference.predictor import Predictor
from lstmtext.server import ServeSettings, create_app

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LSTMTEXT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
TEXT = "@airline thanks my crew flight service the great your!"
KEY = "browser-test-key"


@contextmanager
def serving(app):
    """Run ``app`` under uvicorn in a thread of this process, on a free port of 127.0.0.1; yield its URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_server(trained_run):
    """The tiny trained model behind a real server."""
    bundle = trained_run[0] / "model"
    with serving(create_app(ServeSettings(bundle=bundle, max_text_chars=100, engine="torch"))) as url:
        yield url, bundle


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
    assert page.text_content("#model").startswith("lstm 16 (torch engine, test macro-F1 ")  # width too
    assert page.text_content("#error") == ""  # no key needed, none asked for
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
    # the bar's width is the probability in percent, one decimal (the browser writes 0.0% as 0%)
    assert [float(r[2].rstrip("%")) for r in rows] == [round(100 * p, 1) for _, p in expected]
    assert [r[3] for r in rows] == [True, False, False]
    assert page.text_content("#error") == ""


def test_page_says_when_the_model_knows_no_word_of_the_text(live_server, page):
    page.goto(live_server[0])
    page.fill("#text", "zzqx qqzx")
    page.click("#classify")
    page.wait_for_selector("#results .row")
    assert page.text_content("#results .note").startswith("The model knows no word of this text after cleaning")
    page.fill("#text", TEXT)
    page.click("#classify")
    page.wait_for_function("!document.querySelector('#results .note')")  # a known text: bars only


def test_page_shows_the_servers_message_on_an_error(live_server, page):
    page.goto(live_server[0])
    page.fill("#text", "x" * 101)
    page.click("#classify")
    page.wait_for_function("document.getElementById('error').textContent.length > 0")
    assert page.text_content("#error") == (
        "Could not classify: body.texts.0: String should have at most 100 characters. Shorten the text (limits: GET /info).")
    assert page.eval_on_selector_all("#results .row", "rows => rows.length") == 0
    page.fill("#text", "   ")
    page.click("#classify")
    page.wait_for_function("document.getElementById('error').textContent.startsWith('Type')")
    assert page.text_content("#error") == "Type a text to classify."


def _rows(page, scope="#results"):
    return page.eval_on_selector_all(
        f"{scope} .row", "rows => rows.map(r => [r.dataset.label, Number(r.dataset.score).toFixed(2),"
        " r.classList.contains('best'), r.classList.contains('chosen')])")


def test_page_asks_for_the_key_and_sends_it(trained_run, page):
    bundle = trained_run[0] / "model"
    with serving(create_app(ServeSettings(bundle=bundle, api_key=KEY, engine="torch"))) as url:
        page.goto(url)
        page.wait_for_function("document.getElementById('error').textContent.length > 0")
        missing = ("this server requires an API key and the request has none. Send the server's key as the header "
                   "Authorization: Bearer KEY (or X-API-Key: KEY). Enter it in the API key field above.")
        assert page.text_content("#error") == missing and page.text_content("#model") == "model description unavailable"
        page.fill("#text", TEXT)
        page.click("#classify")
        page.wait_for_function("document.getElementById('error').textContent.startsWith('Could not classify')")
        assert page.text_content("#error") == "Could not classify: " + missing
        page.fill("#key", KEY)
        page.dispatch_event("#key", "change")
        page.wait_for_function("document.getElementById('model').textContent.includes('engine')")
        assert page.evaluate("sessionStorage.getItem('lstmtext-api-key')") == KEY
        page.click("#classify")
        page.wait_for_selector("#results .row")
        assert page.text_content("#error") == "" and len(_rows(page)) == 3
        page.reload()  # the key stays for this tab
        page.wait_for_function("document.getElementById('model').textContent.includes('engine')")
        assert page.input_value("#key") == KEY
        page.evaluate("sessionStorage.clear()")


def test_page_marks_the_chosen_labels_of_a_multilabel_model(trained_run, page):
    fake = FakePredictor(["delay", "food", "staff"], [[0.9, 0.6, 0.1]], thresholds=[0.5, 0.7, 0.05])
    with serving(create_app(ServeSettings(bundle=trained_run[0] / "model"), predictor=fake)) as url:
        page.goto(url)
        page.fill("#text", "late again and rude staff")
        page.click("#classify")
        page.wait_for_selector("#results .row")
        # every label has a bar; the chosen ones (over their thresholds) are marked, whatever their rank
        assert _rows(page) == [["delay", "0.90", False, True], ["food", "0.60", False, False],
                               ["staff", "0.10", False, True]]
        notes = page.eval_on_selector_all("#results .note", "ps => ps.map(p => p.textContent)")
    assert notes[0].startswith("Each label is scored on its own") and "threshold" in notes[0]
    assert notes[1] == "Chosen: delay, staff."


def test_page_shows_one_group_per_aspect(trained_run, page):
    fake = FakePredictor({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]},
                         {"food": [[0.25, 0.75]], "price": [[0.5, 0.25, 0.25]]})
    with serving(create_app(ServeSettings(bundle=trained_run[0] / "model"), predictor=fake)) as url:
        page.goto(url)
        page.fill("#text", "tasty but pricey")
        page.click("#classify")
        page.wait_for_selector("#results .row")
        titles = page.eval_on_selector_all("#results .group h2", "hs => hs.map(h => h.textContent)")
        groups = [_rows(page, f"#results .group:nth-child({i + 1})") for i in range(2)]
    assert titles == ["food", "price"]
    assert groups == [[["pos", "0.75", True, False], ["neg", "0.25", False, False]],
                      [["neg", "0.50", True, False], ["neu", "0.25", False, False], ["pos", "0.25", False, False]]]


def test_page_colours_the_words_of_every_explained_target(live_server, page):
    import json

    answer = {"text": "tasty but pricey", "cleaned": "tasty but pricey", "tokens": ["tasty", "but", "pricey"],
              "method": "occlusion", "targets": [
                  {"target": "food=pos", "probability": 0.9, "scores": [0.5, 0.0, -0.1]},
                  {"target": "price=neg", "probability": 0.8, "scores": [-0.05, 0.01, 0.6]}]}
    page.route("**/explain", lambda route: route.fulfill(status=200, content_type="application/json",
                                                          body=json.dumps(answer)))
    try:
        page.goto(live_server[0])
        page.fill("#text", "tasty but pricey")
        page.click("#classify")
        page.wait_for_selector("#why .why")
        lines = page.eval_on_selector_all(
            "#why .why", "ps => ps.map(p => [p.dataset.target, [...p.querySelectorAll('.tok')].map(t => "
            "[t.textContent, Number(t.dataset.score)]), p.querySelector('.tok').style.background])")
        assert [(t, toks) for t, toks, _ in lines] == [
            ("food=pos", [["tasty", 0.5], ["but", 0.0], ["pricey", -0.1]]),
            ("price=neg", [["tasty", -0.05], ["but", 0.01], ["pricey", 0.6]])]
        assert lines[0][2] == "rgb(42, 157, 91)"  # the strongest push of its target: full green (alpha 1)
        page.fill("#text", "  ")
        page.click("#classify")
        page.wait_for_function("document.getElementById('error').textContent.startsWith('Type')")
        assert page.eval_on_selector_all("#why .why, #results .row", "xs => xs.length") == 0  # the old answer went
    finally:
        page.unroute("**/explain")


def test_an_explanation_that_arrives_after_a_newer_click_is_dropped(live_server, page):
    """A double click, or an edit while explaining, showed one text's coloured words beside another's bars."""
    import json

    held = []

    def answer(route):
        text = json.loads(route.request.post_data)["text"]
        if text == "first text":
            held.append(route)  # answered after the second text's explanation
            return
        route.fulfill(status=200, content_type="application/json", body=json.dumps(
            {"text": text, "cleaned": text, "tokens": text.split(), "method": "occlusion",
             "targets": [{"target": "negative", "probability": 0.9, "scores": [0.1] * len(text.split())}]}))

    page.route("**/explain", answer)
    try:
        page.goto(live_server[0])
        page.fill("#text", "first text")
        page.click("#classify")
        page.wait_for_function("document.getElementById('why').textContent.includes('Explaining')")
        page.fill("#text", "second longer text")
        page.click("#classify")
        page.wait_for_selector("#why .why")
        page.wait_for_timeout(200)
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(
            {"text": "first text", "cleaned": "first text", "tokens": ["first", "text"], "method": "occlusion",
             "targets": [{"target": "negative", "probability": 0.9, "scores": [0.3, 0.3]}]}))
        page.wait_for_timeout(300)
        words = page.eval_on_selector_all("#why .tok", "ts => ts.map(t => t.textContent)")
        assert words == ["second", "longer", "text"]  # the first text's late answer did not replace them
    finally:
        page.unroute("**/explain")


def test_page_says_when_the_model_is_unsure(trained_run, page):
    # below the server's min_confidence a single-label answer was an empty page, a multi-label one said "No label
    # reached its threshold" and an aspect's bars looked answered
    bundle = trained_run[0] / "model"
    cases = [
        (FakePredictor(["neg", "neu", "pos"], [[0.5, 0.3, 0.2]]), 0.9,
         ["Unsure: the most probable class, neg, has 50.0 %, below the server's min_confidence, so the model does "
          "not answer."], []),
        (FakePredictor(["delay", "food", "staff"], [[0.9, 0.6, 0.1]], thresholds=[0.5, 0.7, 0.05]), 0.8,
         ["Chosen: delay.", "Unsure (decided with less than the server's min_confidence): food, staff."], []),
        (FakePredictor({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]},
                       {"food": [[0.25, 0.75]], "price": [[0.96, 0.02, 0.02]]}), 0.9,
         ["Unsure of food: no label is sure enough (the server's min_confidence); the bars show what the model "
          "leans to."], ["food: unsure", "price"])]
    for fake, cut, said, titles in cases:
        with serving(create_app(ServeSettings(bundle=bundle, min_confidence=cut), predictor=fake)) as url:
            page.goto(url)
            page.fill("#text", "late again and rude staff")
            page.click("#classify")
            page.wait_for_selector("#results .row")
            notes = page.eval_on_selector_all("#results .note", "ps => ps.map(p => p.textContent)")
            assert [n for n in notes if not n.startswith("Each label")] == said
            assert page.eval_on_selector_all("#results .group h2", "hs => hs.map(h => h.textContent)") == titles
            if not titles:  # no bar marked as the answer of an abstention
                assert all(not r[2] for r in _rows(page))
