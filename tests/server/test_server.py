"""The HTTP server: exact bodies and status codes with TestClient, then the same through a real uvicorn process."""

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import httpx
import numpy as np
import pytest

from helpers import FakePredictor
from lstmtext.errors import ConfigError
from lstmtext.inference.predictor import Predictor
from lstmtext.server import ServeSettings, create_app
from lstmtext.server.app import get_predictor

with warnings.catch_warnings():  # starlette warns that it prefers httpx2; the httpx client works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TEXTS = ["@airline thanks my crew flight service the great your!", "@airline your awful service worst today.", "..."]
LIMITS = {"max_texts": 4, "max_text_chars": 60, "max_body_bytes": 600}


@pytest.fixture(scope="module")
def bundle_dir(trained_run) -> Path:
    return trained_run[0] / "model"


@pytest.fixture(scope="module")
def client(bundle_dir):
    # torch: these tests compare the answers with the PyTorch predictor exactly (auto is tested in test_onnx.py)
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, engine="torch", **LIMITS))) as c:
        yield c


def expected_item(labels, row, top_k, known=True):
    order = np.argsort(-row, kind="stable")
    best = [{"label": labels[i], "score": float(row[i])} for i in order[:top_k]]
    return {"label": best[0]["label"], "score": best[0]["score"], "top_k": best,
            "probabilities": {label: float(p) for label, p in zip(labels, row)},
            **({} if known else {"no_known_word": True})}


def test_health(client):
    r = client.get("/health")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert client.head("/health").status_code == 200  # load balancers' HEAD checks got 405
    assert client.head("/").status_code == client.head("/info").status_code == 200  # uptime monitors' too
    slash = client.post("/predict/", json={"texts": ["hi"]}, follow_redirects=False)  # a bare 307 it was
    assert slash.status_code == 404 and "/predict" in slash.json()["detail"]


def test_the_package_lists_its_public_names():
    import lstmtext

    assert {"TextClassifier", "load_predictor", "Predictor", "run"} <= set(dir(lstmtext))  # lazy: dir() was empty


@pytest.mark.parametrize("top_k", [1, 2, 10])
def test_predict_matches_the_predictor(client, bundle_dir, top_k):
    predictor = Predictor.from_bundle(bundle_dir)
    proba, known = predictor.proba_and_known(TEXTS)
    assert known.tolist() == [True, True, False]  # "..." cleans to nothing
    r = client.post("/predict", json={"texts": TEXTS, "top_k": top_k})
    assert r.status_code == 200
    assert r.json() == {"predictions": [expected_item(predictor.labels, row, top_k, k) for row, k in zip(proba, known)]}
    assert len(r.json()["predictions"][0]["top_k"]) == min(top_k, 3)


def test_a_text_with_no_known_word_is_flagged(client):
    got = client.post("/predict", json={"texts": ["zzqx qqzx", "thanks"]}).json()["predictions"]
    assert got[0]["no_known_word"] is True and got[0]["label"]  # answered, but said to be a guess
    assert "no_known_word" not in got[1]


def test_info(client, bundle_dir):
    predictor = Predictor.from_bundle(bundle_dir)
    info = client.get("/info").json()
    assert info["labels"] == ["negative", "neutral", "positive"] == predictor.labels
    assert info["engine"] == "torch" and info["architecture"] == "lstm" and info["network"] == "lstm 16"
    assert info["limits"] == LIMITS
    assert info["preprocessing"] == predictor.encoder.to_dict()
    assert info["metrics"] == predictor.bundle.metrics and "test" in info["metrics"]
    assert info["model_card"] == (bundle_dir / "README.md").read_text(encoding="utf-8")
    assert info["model"]["hidden_size"] == 16 and info["meta"]["format_version"] == 2
    assert "lstmtext" not in info["meta"] and info["meta"]["id2label"]["0"] == "negative"


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"texts": ["a"] * 5}, 422,
     "body.texts: List should have at most 4 items after validation, not 5. Split the texts over several requests "
     "(limits: GET /info)."),
    ({"texts": ["ok", "x" * 61]}, 422,
     "body.texts.1: String should have at most 60 characters. Shorten the text (limits: GET /info)."),
    ({"texts": []}, 422, "body.texts: List should have at least 1 item after validation, not 0. See the request schema at /docs."),
    ({"texts": ["a"], "top_k": 0}, 422, "body.top_k: Input should be greater than or equal to 1. See the request schema at /docs."),
    ({"texts": ["a"], "k": 2}, 422, "body.k: Extra inputs are not permitted. Only the keys texts, top_k and min_confidence are accepted."),
    ({"texts": [3]}, 422, "body.texts.0: Input should be a valid string. Send each text as a JSON string."),
    ({"text": "a"}, 422, "body.texts: Field required. "
     'Send a JSON object such as {"texts": ["..."], "top_k": 1} with Content-Type: application/json.'),
    (["a"], 422, "body: Input should be a valid dictionary or object to extract fields from. "
     'Send a JSON object such as {"texts": ["..."], "top_k": 1} with Content-Type: application/json.'),
    ({"texts": ["ok", "  "]}, 422, "body.texts.1: The text is empty or blank (white space or invisible characters "
     "only). There is nothing to classify. Leave it out."),
    ({"texts": ["\u200b\ufeff "]}, 422, "body.texts.0: The text is empty or blank (white space or invisible characters "
     "only). There is nothing to classify. Leave it out."),  # zero-width space and BOM: it was answered
    ({"texts": ["a"], "top_k": "2"}, 422, "body.top_k: must be a number, not a string. See the request "
     "schema at /docs."),  # pydantic's "Value error, " is no part of the message
    ({"texts": ["a"], "min_confidence": "0.5"}, 422,
     "body.min_confidence: must be a number, not a string. See the request schema at /docs."),
    ({"texts": "hello"}, 422, 'body.texts: Input should be a valid list. Send the texts as a JSON list, even one: '
     '{"texts": ["..."]}.'),
    *(({"texts": [mark]}, 422, "body.texts.0: The text is empty or blank (white space or invisible characters only). "
       "There is nothing to classify. Leave it out.")  # format characters (Unicode Cf) alone were answered
      for mark in ("\u200e", "\u00ad \u202e", "\u2066\u2069", "\u0000", "\u0007 \u007f\u0085")),  # controls too
    *(({"texts": [mark]}, 422, "body.texts.0: The text is empty or blank (white space or invisible characters only). "
       "There is nothing to classify. Leave it out.")  # fillers that show nothing: they were answered (server
      for mark in ("\u3164", "\u2800 ", "\u115f\u1160", "\uffa0")),  # review)
])
def test_invalid_requests_get_422_with_a_message(client, body, status, detail):
    r = client.post("/predict", json=body)
    assert (r.status_code, r.json()["detail"]) == (status, detail)
    assert r.json()["errors"][0]["msg"] in detail


@pytest.mark.parametrize("raw", [b'{"texts": ["a"', b"\xff\xfe", b"", b"null"])
def test_malformed_json_is_422_never_500(client, raw):
    r = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body")


def test_json_nested_past_the_parsers_depth_is_the_same_422(bundle_dir):
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, engine="torch"))) as big:  # the default body limit
        for path, key in (("/predict", "texts"), ("/explain", "text")):
            r = big.post(path, content=f'{{"{key}": {"[" * 5000}{"]" * 5000}}}', headers={"content-type": "application/json"})
            assert r.status_code == 422 and r.json()["detail"].startswith(
                "body: The body could not be parsed as JSON (nested too deeply, or a number with more than 4,300 "
                "digits?). Send a JSON object such as {")
            # FastAPI alone: {"detail": "There was an error parsing the body"}, a 400 the docs do not list


@pytest.mark.parametrize(("method", "path", "status", "start"), [
    ("get", "/batch", 404, "no endpoint /batch. The endpoints: POST /predict, POST /explain, GET /health, GET /info, "
                            "GET /openapi.json, GET /docs"),
    ("get", "/predict", 405, "/predict does not take GET; it takes POST. The endpoints: POST /predict"),
])
def test_an_unknown_endpoint_or_method_names_the_endpoints(client, method, path, status, start):
    r = getattr(client, method)(path)
    assert r.status_code == status and r.json()["detail"].startswith(start) and list(r.json()) == ["detail"]


@pytest.mark.parametrize(("raw", "offset", "byte", "reason"), [
    (b'{"texts": ["caf\xe9"]}', 15, "e9", "invalid continuation byte"),  # Latin-1, not UTF-8
    (b"\xff\xfe{}", 0, "ff", "invalid start byte"),
    (b'{"texts": ["ok"]}\xe2\x82', 17, "e2", "unexpected end of data"),  # cut inside a character
])
def test_a_body_that_is_not_utf8_is_the_same_422_as_malformed_json(client, raw, offset, byte, reason):
    r = client.post("/predict", content=raw, headers={"content-type": "application/json"})
    msg = f"Not UTF-8: byte 0x{byte} cannot be decoded ({reason})"
    assert (r.status_code, r.json()) == (422, {
        "detail": f"body (byte {offset}): {msg}. Encode the body as UTF-8 (JSON's encoding, RFC 8259).",
        "errors": [{"loc": ["body", offset], "msg": msg, "type": "json_invalid"}]})
    assert "\n" not in r.json()["detail"]
    r = client.post("/predict", content=raw, headers={"content-type": "text/plain"})  # whatever the content type
    assert r.status_code == 422 and r.json()["detail"].startswith(f"body (byte {offset}): Not UTF-8")


def test_body_over_the_limit_is_413(client):
    r = client.post("/predict", json={"texts": ["x" * 700]})
    assert r.status_code == 413
    assert r.json() == {"detail": f"request body of {len(r.request.content)} bytes is over the server's limit of 600 "
                                  "bytes. Send fewer or shorter texts per request (or raise LSTMTEXT_MAX_BODY_BYTES)."}


def test_streamed_body_over_the_limit_is_413(client):
    chunks = iter([b'{"texts": ["', b"x" * 400, b"y" * 400, b'"]}'])
    r = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    # its size is not known, only that it passed the limit (it gave the bytes read so far as the body's size)
    assert r.status_code == 413 and r.json()["detail"].startswith("request body is over the server's limit of 600 "
                                                                  "bytes. Send fewer")


def test_page_and_openapi(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'id="classify"' in page.text and 'id="text"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: works offline
    spec = client.get("/openapi.json").json()
    assert {"/predict", "/health", "/info"} <= set(spec["paths"])
    texts = spec["components"]["schemas"]["PredictRequest"]["properties"]["texts"]
    assert (texts["maxItems"], texts["items"]["maxLength"]) == (4, 60)
    assert client.get("/docs").status_code == 200


def test_openapi_lists_every_status_with_the_error_model(client):
    spec = client.get("/openapi.json").json()
    statuses = {path: {method: sorted(op["responses"]) for method, op in ops.items()} for path, ops in spec["paths"].items()}
    assert statuses == {"/predict": {"post": ["200", "413", "422", "500"]}, "/explain": {"post": ["200", "413", "422", "500"]},
                        "/health": {"get": ["200", "413", "500"]},
                        "/info": {"get": ["200", "413", "500"]}}
    for ops in spec["paths"].values():
        for op in ops.values():
            for status, answer in op["responses"].items():
                if status != "200":
                    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
                    assert answer["description"]
            assert "security" not in op  # no key: nothing to declare
    assert "securitySchemes" not in spec["components"]


def test_response_format_with_an_overridden_predictor(client):
    client.app.dependency_overrides[get_predictor] = lambda: FakePredictor(["a", "b", "c"], [[0.25, 0.5, 0.25]])
    try:
        r = client.post("/predict", json={"texts": ["t"], "top_k": 2})
    finally:
        client.app.dependency_overrides.clear()
    assert r.json() == {"predictions": [{
        "label": "b", "score": 0.5, "top_k": [{"label": "b", "score": 0.5}, {"label": "a", "score": 0.25}],
        "probabilities": {"a": 0.25, "b": 0.5, "c": 0.25}}]}


def test_aspect_output_is_passed_through(bundle_dir):
    fake = FakePredictor({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]},
                         {"food": [[0.75, 0.25]], "price": [[0.5, 0.25, 0.25]]})
    with TestClient(create_app(ServeSettings(bundle=bundle_dir), predictor=fake)) as c:
        r = c.post("/predict", json={"texts": ["t"]})
    assert r.json() == {"predictions": [{"aspects": {
        "food": {"label": "neg", "score": 0.75, "top_k": [{"label": "neg", "score": 0.75}],
                 "probabilities": {"neg": 0.75, "pos": 0.25}},
        "price": {"label": "neg", "score": 0.5, "top_k": [{"label": "neg", "score": 0.5}],
                  "probabilities": {"neg": 0.5, "neu": 0.25, "pos": 0.25}}}}]}


@pytest.mark.parametrize("top_k", [1, 3])
def test_multilabel_labels_are_those_over_their_thresholds_whatever_top_k(bundle_dir, top_k):
    fake = FakePredictor(["delay", "food", "staff"], [[0.9, 0.6, 0.1]], thresholds=[0.5, 0.7, 0.05])
    with TestClient(create_app(ServeSettings(bundle=bundle_dir), predictor=fake)) as c:
        r = c.post("/predict", json={"texts": ["t"], "top_k": top_k})
    ranked = [{"label": "delay", "score": 0.9}, {"label": "food", "score": 0.6}, {"label": "staff", "score": 0.1}]
    got = r.json()["predictions"][0]
    assert got["labels"] == ["delay", "staff"]  # food is under its 0.7 threshold, staff over its 0.05 one
    assert [(x["label"], round(x["score"], 6)) for x in got["top_k"]] == [
        (x["label"], x["score"]) for x in ranked[:top_k]]
    assert set(got) == {"labels", "top_k", "probabilities"}


def test_aspect_top_k_is_cut_per_aspect(bundle_dir):
    fake = FakePredictor({"food": ["neg", "pos"], "price": ["neg", "neu", "pos"]},
                         {"food": [[0.75, 0.25]], "price": [[0.25, 0.25, 0.5]]})
    with TestClient(create_app(ServeSettings(bundle=bundle_dir), predictor=fake)) as c:
        aspects = c.post("/predict", json={"texts": ["t"], "top_k": 2}).json()["predictions"][0]["aspects"]
    assert [[x["label"] for x in a["top_k"]] for a in aspects.values()] == [["neg", "pos"], ["pos", "neg"]]


def test_a_failing_model_is_a_500_with_a_message(bundle_dir, caplog):
    class Broken(FakePredictor):
        def proba_and_flags(self, texts):
            raise RuntimeError("boom")

    app = create_app(ServeSettings(bundle=bundle_dir), predictor=Broken(["a"], []))
    with TestClient(app, raise_server_exceptions=False) as c, caplog.at_level("ERROR", "lstmtext.server.errors"):
        r = c.post("/predict", json={"texts": ["t"]})
    assert (r.status_code, r.json()) == (500, {"detail": "internal error while predicting; see the server log."})
    # the log has the traceback (it said "NoneType: None": the handler runs where no exception is current)
    logged = [rec for rec in caplog.records if rec.name == "lstmtext.server.errors"]
    assert logged and logged[0].exc_info[1].args == ("boom",)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/info")  # the fake has no bundle
    assert (r.status_code, r.json()) == (500, {"detail": "internal error; see the server log."})


def test_settings_from_env_and_arguments(tmp_path):
    env = {"LSTMTEXT_BUNDLE": str(tmp_path), "LSTMTEXT_MAX_TEXTS": "7", "LSTMTEXT_PORT": "9000", "LSTMTEXT_ENGINE": ""}
    s = ServeSettings.from_env(env, port=9001, host=None)
    assert (s.bundle, s.max_texts, s.port, s.host, s.engine) == (tmp_path, 7, 9001, "127.0.0.1", "auto")
    assert ServeSettings.from_env({"LSTMTEXT_ENGINE": "onnx-int8"}, bundle=tmp_path).engine == "onnx-int8"
    with pytest.raises(ConfigError, match=r"server setting max_texts \(env LSTMTEXT_MAX_TEXTS\): .*Got '0' instead"):
        ServeSettings.from_env({"LSTMTEXT_MAX_TEXTS": "0"}, bundle=tmp_path)
    with pytest.raises(ConfigError, match=r"server setting port \(--port\): .*Got 99999 instead"):  # the option's value
        ServeSettings.from_env({"LSTMTEXT_PORT": "9000"}, bundle=tmp_path, port=99999)
    with pytest.raises(ConfigError, match="no bundle to serve. Give BUNDLE on the command line or set LSTMTEXT_BUNDLE"):
        ServeSettings.from_env({})


def _run_cli(*args, timeout=60):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    return subprocess.run([sys.executable, "-m", "lstmtext", *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_serve_stops_with_a_clear_message_when_the_bundle_does_not_load(tmp_path):
    result = _run_cli("serve", str(tmp_path / "missing"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'missing'}: no such folder. Give the folder written by " \
                                    "`lstmtext train --out`."


def test_the_uvicorn_factory_loads_first_and_stops_in_one_line(bundle_dir, tmp_path, monkeypatch):
    from lstmtext.server import app_from_env

    monkeypatch.setenv("LSTMTEXT_BUNDLE", str(bundle_dir))
    monkeypatch.setenv("LSTMTEXT_ENGINE", "torch")
    with TestClient(app_from_env()) as c:  # the model loaded by the factory is the one that answers
        got = c.post("/predict", json={"texts": TEXTS[:1]}).json()["predictions"][0]["label"]
    assert got == Predictor.from_bundle(bundle_dir).predict(TEXTS[:1])[0].label
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "LSTMTEXT_BUNDLE": str(tmp_path / "missing")}
    result = subprocess.run([sys.executable, "-m", "uvicorn", "--factory", "lstmtext.server:app_from_env",
                             "--port", str(_free_port())], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 1  # was a traceback of Starlette's start-up, then "Application startup failed"
    assert result.stderr.strip() == f"error: {tmp_path / 'missing'}: no such folder. Give the folder written by " \
                                    "`lstmtext train --out`."


def test_serve_on_a_port_in_use_is_one_line(bundle_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run_cli("serve", str(bundle_dir), "--port", str(port))  # uvicorn logged it and exited with 3
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: --port {port} on 127.0.0.1 is in use (another server?). Choose another " \
                                    "--port, or stop what listens there."
    result = _run_cli("serve", str(bundle_dir), "--host", "no-such-host.invalid")
    assert result.returncode == 1 and result.stderr.startswith("error: --host no-such-host.invalid: not an address")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_uvicorn_process(bundle_dir, tmp_path):
    port = _free_port()
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "LSTMTEXT_MAX_TEXTS": "4"}
    cmd = [sys.executable, "-m", "lstmtext", "serve", str(bundle_dir), "--port", str(port), "--log-level", "warning",
           "--no-access-log", "--threads", "1"]
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).json() == {"status": "ok"}:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not answer /health within 60 s"
            time.sleep(0.2)
        r = httpx.post(f"{base}/predict", json={"texts": TEXTS, "top_k": 3}, timeout=10)
        predictor = Predictor.from_bundle(bundle_dir)
        proba = predictor.predict_proba(TEXTS)
        got = r.json()["predictions"]
        assert r.status_code == 200 and [p["label"] for p in got] == [p.label for p in predictor.predict(TEXTS)]
        assert np.allclose([list(p["probabilities"].values()) for p in got], proba, atol=1e-6)
        r = httpx.post(f"{base}/predict", content=b"{nope", headers={"content-type": "application/json"}, timeout=10)
        assert r.status_code == 422 and r.json()["detail"].startswith("body (character 1): JSON decode error")
        r = httpx.post(f"{base}/predict", json={"texts": ["a"] * 5}, timeout=10)
        assert r.status_code == 422 and "at most 4 items" in r.json()["detail"]
        r = httpx.post(f"{base}/predict", content=json.dumps({"texts": ["x" * 1_000_001]}), timeout=10)
        assert r.status_code == 413 and "limit of 1000000 bytes" in r.json()["detail"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_worker_batches_requests_that_wait_together():
    import threading

    from lstmtext.server.worker import InferenceWorker

    gate, calls = threading.Event(), []

    class Recording:
        labels = ["a", "b"]

        def proba_and_flags(self, texts):
            gate.wait(10)  # the first call blocks until the others are queued
            calls.append(list(texts))
            return np.array([[len(t), 0.0] for t in texts]), np.array([len(t) % 2 == 1 for t in texts])

    worker, model, results = InferenceWorker(max_batch_texts=4), Recording(), {}
    jobs = {"first": ["x"], "second": ["yy", "zzz"], "third": ["wwww", "v"], "fourth": ["uuuuuu"]}
    threads = [threading.Thread(target=lambda k=k: results.__setitem__(k, worker.proba_and_flags(model, jobs[k])))
               for k in jobs]
    threads[0].start()
    while worker._queue.qsize():  # the worker has taken the first job and is blocked in it
        time.sleep(0.01)
    for queued, t in enumerate(threads[1:], start=1):
        t.start()
        while worker._queue.qsize() < queued:  # keep the queue order: second, third, fourth
            time.sleep(0.005)
    gate.set()
    for t in threads:
        t.join(10)
    worker.close()
    assert calls == [["x"], ["yy", "zzz", "wwww", "v"], ["uuuuuu"]]  # at most 4 texts; a request is never split
    assert {k: v[:, 0].tolist() for k, (v, _) in results.items()} == {
        "first": [1], "second": [2, 3], "third": [4, 1], "fourth": [6]}
    assert {k: known.tolist() for k, (_, known) in results.items()} == {  # each request gets its own rows' flags
        "first": [True], "second": [False, True], "third": [False, True], "fourth": [False]}


def test_a_request_of_very_long_texts_runs_in_pieces_with_the_others_between_them(monkeypatch):
    """60 texts of 4,000 emoji (within every limit) held every other /predict for 4 s behind one pass (server
    review): a request over PIECE_CHARS characters runs a piece at a time, and a request that arrives meanwhile runs
    before its next piece; its rows come back whole and in order."""
    import threading

    from lstmtext.server import worker as worker_mod

    monkeypatch.setattr(worker_mod, "PIECE_CHARS", 10)
    gate, calls = threading.Event(), []

    class Recording:
        def proba_and_flags(self, texts):
            gate.wait(10)  # the first piece blocks until the short request is queued
            calls.append(list(texts))
            return np.array([[len(t), 0.0] for t in texts]), np.array([True] * len(texts))

    worker, model, results = worker_mod.InferenceWorker(max_batch_texts=8), Recording(), {}
    long = ["aaaaaa", "bbbbbb", "cccccccccccccc", "dd", "ee"]  # pieces: 6 (+6 > 10), 6, 14 (one text), 2 + 2
    first = threading.Thread(target=lambda: results.__setitem__("long", worker.proba_and_flags(model, long)))
    first.start()
    while worker._queue.qsize():  # the worker has taken the long request and is blocked in its first piece
        time.sleep(0.01)
    second = threading.Thread(target=lambda: results.__setitem__("short", worker.proba_and_flags(model, ["x"])))
    second.start()
    while worker._queue.qsize() < 1:
        time.sleep(0.005)
    gate.set()
    for t in (first, second):
        t.join(10)
    worker.close()
    assert calls == [["aaaaaa"], ["x"], ["bbbbbb"], ["cccccccccccccc"], ["dd", "ee"]]
    assert results["long"][0][:, 0].tolist() == [6, 6, 14, 2, 2] and results["short"][0][:, 0].tolist() == [1]


def test_a_request_cancelled_while_queued_is_dropped_and_the_worker_goes_on():
    """A request whose future was cancelled while it waited (its client gone; shutdown's 10 s timeout cancels the
    handlers) made set_result raise InvalidStateError on the inference thread, which ended: every later request
    waited for ever (diff review)."""
    import threading

    from lstmtext.server.worker import InferenceWorker

    gate, calls = threading.Event(), []

    class Recording:
        def proba_and_flags(self, texts):
            gate.wait(10)
            calls.append(list(texts))
            return np.zeros((len(texts), 2)), np.ones(len(texts), dtype=bool)

    worker, model = InferenceWorker(), Recording()
    first = worker.submit(model, ["a"])
    while worker._queue.qsize():  # the worker is in the first request
        time.sleep(0.01)
    gone = worker.submit(model, ["b"])
    assert gone.cancel()
    gate.set()
    assert len(first.result(10)[0]) == 1 and len(worker.submit(model, ["c"]).result(10)[0]) == 1
    worker.close()
    assert calls == [["a"], ["c"]]


def test_min_confidence_gives_unsure_answers(client):
    sure = client.post("/predict", json={"texts": ["thanks"], "min_confidence": 0.01}).json()["predictions"][0]
    unsure = client.post("/predict", json={"texts": ["thanks"], "min_confidence": 1.0}).json()["predictions"][0]
    assert "label" in sure and "abstained" not in sure
    # the same record as lstmtext predict and the Python API write: an explicit null label
    assert unsure["abstained"] is True and unsure["label"] is None and unsure["score"] == sure["score"]
    bad = client.post("/predict", json={"texts": ["thanks"], "min_confidence": 0})
    assert bad.status_code == 422 and "min_confidence" in bad.json()["detail"]
    nan = client.post("/predict", content=b'{"texts": ["thanks"], "min_confidence": NaN}',  # Python's json writes it
                      headers={"content-type": "application/json"})
    assert nan.status_code == 422 and nan.json()["detail"].startswith("body.min_confidence: Input should be a finite number")
    for key in ("min_confidence", "top_k"):  # JSON true is not the number 1 (schemathesis found it accepted)
        bad = client.post("/predict", json={"texts": ["thanks"], key: True})
        assert bad.status_code == 422 and f"body.{key}" in bad.json()["detail"] and "true" in bad.json()["detail"]
    # null is each key's default: a client that always sends both keys gets the plain answer
    nulls = client.post("/predict", json={"texts": ["thanks"], "top_k": None, "min_confidence": None})
    assert nulls.status_code == 200 and nulls.json() == client.post("/predict", json={"texts": ["thanks"]}).json()
    # ... and the schema says null is accepted (schemathesis: "schema-violating request accepted")
    top_k = client.get("/openapi.json").json()["components"]["schemas"]["PredictRequest"]["properties"]["top_k"]
    assert {"type": "null"} in top_k["anyOf"] and {"type": "integer", "minimum": 1} in top_k["anyOf"]


def test_a_text_longer_than_the_model_reads_is_flagged(bundle_dir):
    # /explain said "the model read 64 of the text's 731 words"; /predict answered as if it had read them all
    from lstmtext.inference.predictor import Predictor

    predictor = Predictor.from_bundle(bundle_dir)
    long = " ".join(["great", "crew"] * predictor.encoder.max_len)
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, engine="torch"))) as c:
        got = c.post("/predict", json={"texts": [long, "thanks"]}).json()["predictions"]
    assert got[0]["truncated"] is True and "truncated" not in got[1]
    assert [p.truncated for p in predictor.predict([long, "thanks"])] == [True, False]
    assert predictor.proba_and_known([long, "thanks"])[1].tolist() == [True, True]  # still yes/no, as documented
    assert predictor.proba_and_flags([long, "thanks", "..."])[1].tolist() == [3, 1, 0]  # KNOWN | CUT, KNOWN, none
    # cut to preprocess.max_chars before cleaning: the model never saw its tail, however few tokens are left
    predictor.encoder.pipeline.max_chars = 20
    assert [p.truncated for p in predictor.predict(["thanks " * 10, "thanks"])] == [True, False]


def test_the_servers_min_confidence_answers_requests_that_give_none(bundle_dir):
    # the web page sends no min_confidence: without a server-wide one it could never abstain
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, engine="torch", min_confidence=1.0))) as c:
        unsure = c.post("/predict", json={"texts": ["thanks"]}).json()["predictions"][0]
        assert unsure["abstained"] is True and unsure["label"] is None
        own = c.post("/predict", json={"texts": ["thanks"], "min_confidence": 0.01}).json()["predictions"][0]
        assert own["label"] is not None and "abstained" not in own  # a request's own P wins
        assert c.get("/info").json()["min_confidence"] == 1.0
    settings = ServeSettings.from_env({"LSTMTEXT_BUNDLE": str(bundle_dir), "LSTMTEXT_MIN_CONFIDENCE": "0.7"})
    assert settings.min_confidence == 0.7


def test_explain_names_the_tokens_that_pushed_the_prediction(client):
    from lstmtext.explain.attributions import explain_texts

    r = client.post("/explain", json={"text": "thanks for the great flight"})
    assert r.status_code == 200, r.text
    body = r.json()
    predictor = client.app.state.predictor
    expected = explain_texts(predictor.bundle, ["thanks for the great flight"])[0].to_dict()
    assert body["tokens"] == expected["tokens"] and body["method"] == "occlusion"
    assert body["targets"][0]["target"] == predictor.predict(["thanks for the great flight"])[0].label
    assert body["targets"][0]["scores"] == pytest.approx(expected["targets"][0]["scores"], abs=1e-6)
    assert body["note"] is None  # every word read
    # a word the model does not know comes as the word itself, flagged (it came as "blorptastic (unk)")
    unk = client.post("/explain", json={"text": "thanks blorptastic crew"}).json()
    assert unk["tokens"] == ["thanks", "blorptastic", "crew"] and unk["unknown"] == [False, True, False]
    assert unk["note"] is None
    none_known = client.post("/explain", json={"text": "blorptastic wibblewobble"}).json()
    assert none_known["unknown"] == [True, True] and none_known["note"] == (
        "the model knows none of the words it read: it answers its guess for a text of unknown words, and the scores "
        "say little")
    assert body["unknown"] == expected["unknown"] and len(body["unknown"]) == len(body["tokens"])
    empty = client.post("/explain", json={"text": "0.1.0 ..."})  # valid, but no word to weigh: answered, with why
    assert empty.status_code == 200 and empty.json()["tokens"] == empty.json()["unknown"] == [] and "cleans to nothing" in empty.json()["note"]
    for blank in ("", "  "):  # one message for both, as /predict gives ("" had pydantic's "at least 1 character")
        r = client.post("/explain", json={"text": blank})
        assert (r.status_code, r.json()["detail"]) == (422, "body.text: The text is empty or blank (white space or "
                                                            "invisible characters only). There is nothing to classify. "
                                                            "Leave it out.")
    wrong = client.post("/explain", json={"texts": ["hi"]}).json()["detail"]  # the /predict body: /explain's is shown
    assert wrong.endswith('Send a JSON object such as {"text": "..."} with Content-Type: application/json.'), wrong


def test_explanations_run_on_one_thread(client, monkeypatch):
    import threading

    import lstmtext.server.app as app_module

    threads = []
    real = app_module.explain_texts
    monkeypatch.setattr(app_module, "explain_texts",
                        lambda *a: threads.append(threading.current_thread().name) or real(*a))
    for text in ("thanks for the great flight", "lost my bag", "rude staff"):
        assert client.post("/explain", json={"text": text}).status_code == 200
    # one thread holds the scratch buffers of every explanation, whichever request thread asked
    assert len(threads) == 3 and len(set(threads)) == 1 and threads[0].startswith("lstmtext-explain")


def test_start_up_freezes_the_loaded_model_out_of_the_garbage_collector(bundle_dir):
    import gc

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, engine="torch", **LIMITS))) as c:
        # full collections no longer walk the model's objects (they had stalled requests: load-test p99 165 -> 20 ms)
        assert gc.get_freeze_count() > 1000
        assert c.post("/predict", json={"texts": ["thanks"]}).status_code == 200
    gc.unfreeze()


def test_a_422_lists_at_most_20_invalid_fields(client):
    """125,000 unknown keys (a 1 MB body) got a 10.9 MB answer, built on the event loop."""
    body = {"texts": ["hi"], **{f"k{i}": 0 for i in range(50)}}  # under the fixture's 600-byte limit
    r = client.post("/predict", json=body)
    assert r.status_code == 422 and len(r.json()["errors"]) == 20 and r.json()["errors_left_out"] == 30
    assert r.json()["detail"] == "body.k0: Extra inputs are not permitted. Only the keys texts, top_k and " \
                                 "min_confidence are accepted."
    assert "errors_left_out" not in client.post("/predict", json={"texts": []}).json()


def test_an_explanation_whose_client_left_is_not_computed():
    """Explanations run one at a time: 40 requests abandoned by their clients' timeouts all ran, and a new one
    waited 15.8 s for them."""
    import asyncio
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from lstmtext.server.app import unless_gone

    class Gone:
        async def is_disconnected(self):
            return True

    class Here:
        async def is_disconnected(self):
            return False

    ran, release = [], threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(release.wait)  # the explainer, busy with an earlier text
        queued = pool.submit(ran.append, "queued")
        assert asyncio.run(unless_gone(Gone(), queued, every=0.01)) is None
        assert queued.cancelled()
        release.set()
        busy.result()
        assert asyncio.run(unless_gone(Here(), pool.submit(lambda: 7), every=0.01)) == 7
    assert ran == []  # the job of the client that left never ran


def test_serve_names_where_it_listens_as_a_url():
    from lstmtext.cli.serving import served_at

    assert served_at("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    assert served_at("::1", 8000) == "http://[::1]:8000/"  # was http://::1:8000/, no URL
    # was http://0.0.0.0:8000/, which no browser opens
    assert served_at("0.0.0.0", 8000) == "every address of this machine, port 8000 (from here: http://127.0.0.1:8000/)"
    assert served_at("0.0.0.0", 0) == "0.0.0.0, on a port the system picks"
    assert served_at("[::1]", 8000) == "http://[::1]:8000/"


def test_the_blank_pattern_reads_the_same_in_javascript_without_the_u_flag():
    """Format characters past plane 0 went into the OpenAPI pattern, which a JavaScript RegExp without the u flag
    reads as surrogate halves ("Range out of order"): the pattern keeps to plane 0."""
    import re

    from lstmtext.server.schemas import not_blank

    assert all(ord(c) < 0x10000 for c in not_blank())
    assert not re.search(not_blank(), "\u200e\u00ad \u2066") and re.search(not_blank(), "\u200ea")


def test_a_body_limit_too_small_for_any_request_is_refused_at_start(trained_run):
    """serve --max-body-bytes 10 started a server that answered every request with 413."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="max_body_bytes"):
        ServeSettings(bundle=trained_run[0] / "model", max_body_bytes=10)
    assert ServeSettings(bundle=trained_run[0] / "model", max_body_bytes=64).max_body_bytes == 64


def test_threads_hold_for_the_explainer_too(trained_run):
    import torch
    from fastapi.testclient import TestClient

    settings = ServeSettings(bundle=trained_run[0] / "model", engine="torch", threads=1)
    torch.set_num_threads(2)  # the process's count (the tests run on one): a new thread starts with it
    try:
        with TestClient(create_app(settings)) as c:  # the explainer reads the model itself, not through the predictor
            assert c.app.state.explainer.submit(torch.get_num_threads).result() == 1
            assert c.post("/explain", json={"text": "lost my bag again"}).status_code == 200
    finally:
        torch.set_num_threads(1)
