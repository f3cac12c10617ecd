"""The optional API key: 401s, the two headers, the open paths, the OpenAPI declaration, key sources and secrecy."""

import logging
import warnings
from pathlib import Path

import pytest

from lstmtext.errors import ConfigError
from lstmtext.server import ServeSettings, create_app
from lstmtext.server.auth import MISSING, WRONG, exposure_warning

with warnings.catch_warnings():  # starlette warns that it prefers httpx2; the httpx client works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

KEY = "k3y-0f-the-test-5erver"
BODY = {"texts": ["@airline thanks, great crew"]}


@pytest.fixture(scope="module")
def bundle_dir(trained_run) -> Path:
    return trained_run[0] / "model"


@pytest.fixture(scope="module")
def keyed(bundle_dir):
    with TestClient(create_app(ServeSettings(bundle=bundle_dir, api_key=KEY))) as c:
        yield c


@pytest.mark.parametrize(("method", "path"), [("POST", "/predict"), ("GET", "/info"), ("GET", "/openapi.json"),
                                              ("GET", "/nowhere")])
@pytest.mark.parametrize(("headers", "detail"), [
    ({}, MISSING),
    ({"Authorization": "Bearer wrong"}, WRONG),
    ({"X-API-Key": KEY[:-1]}, WRONG),
    ({"Authorization": f"Basic {KEY}"}, WRONG),  # only the Bearer scheme carries the key
    ({"Authorization": "Bearer"}, WRONG),
    ({"Authorization": "", "X-API-Key": ""}, WRONG),
    ({"Authorization": f"Basic {KEY}", "X-API-Key": KEY}, WRONG),  # fail closed: any other Authorization too
    ({"Authorization": "Bearer wrong", "X-API-Key": KEY}, WRONG),  # fail closed: any wrong key is refused
    ({"Authorization": f"Bearer {KEY}", "X-API-Key": "wrong"}, WRONG),
    ({"Authorization": "Bearer", "X-API-Key": KEY}, WRONG),
    ({"Authorization": "", "X-API-Key": KEY}, WRONG),
])
def test_requests_without_the_key_get_401(keyed, method, path, headers, detail):
    r = keyed.request(method, path, headers=headers, json=BODY if method == "POST" else None)
    assert (r.status_code, r.json()) == (401, {"detail": detail})
    assert r.headers["www-authenticate"] == "Bearer"
    assert KEY not in r.text and "\n" not in detail


def test_a_repeated_key_header_is_refused_unless_each_holds_the_key(keyed):
    """Two X-API-Key headers, a wrong one then the right one, were let in (the last one was read)."""
    for values, status in (([b"wrong", KEY.encode()], 401), ([KEY.encode(), b"wrong"], 401),
                           ([KEY.encode(), KEY.encode()], 200)):
        headers = [(b"x-api-key", v) for v in values] + [(b"content-type", b"application/json")]
        r = keyed.post("/predict", content=b'{"texts": ["thanks"]}', headers=headers)
        assert r.status_code == status, values


@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {"authorization": f"bearer  {KEY} "},
                                     {"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}", "X-API-Key": KEY}])
def test_the_key_in_either_header_opens_every_endpoint(keyed, headers):
    r = keyed.post("/predict", json=BODY, headers=headers)
    assert r.status_code == 200 and r.json()["predictions"][0]["label"] in {"negative", "neutral", "positive"}
    assert keyed.get("/info", headers=headers).status_code == 200
    assert keyed.get("/openapi.json", headers=headers).status_code == 200


def test_health_and_the_pages_stay_open(keyed):
    assert keyed.get("/health").json() == {"status": "ok"}
    page = keyed.get("/")
    assert page.status_code == 200 and 'id="key"' in page.text and "sessionStorage" in page.text
    docs = keyed.get("/docs")  # Swagger UI sends the key the web page stored in this tab
    assert docs.status_code == 200 and "requestInterceptor" in docs.text and "lstmtext-api-key" in docs.text
    assert keyed.get("/redoc").status_code == 404  # ReDoc cannot send the key: its page showed a 401 (server review)


def test_limits_still_apply_with_the_key(keyed):
    r = keyed.post("/predict", content=b'{"texts": ["\xe9"]}', headers={"X-API-Key": KEY, "content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"].startswith("body (byte 12): Not UTF-8")


def test_openapi_declares_the_key(keyed):
    spec = keyed.get("/openapi.json", headers={"X-API-Key": KEY}).json()
    assert spec["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
        "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: KEY"}}
    ops = {path: next(iter(o.values())) for path, o in spec["paths"].items()}
    assert {path: op.get("security") for path, op in ops.items()} == {
        "/predict": [{"bearer": []}, {"apiKey": []}], "/explain": [{"bearer": []}, {"apiKey": []}],
        "/info": [{"bearer": []}, {"apiKey": []}], "/health": None}
    assert {path: sorted(op["responses"]) for path, op in ops.items()} == {
        "/predict": ["200", "401", "413", "422", "500"], "/explain": ["200", "401", "413", "422", "500"],
        "/info": ["200", "401", "413", "500"],
        "/health": ["200", "413", "500"]}
    assert ops["/info"]["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"}


def test_the_key_is_never_shown(bundle_dir, caplog, tmp_path):
    settings = ServeSettings(bundle=bundle_dir, api_key=KEY)
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump()) and settings.key() == KEY
    assert KEY not in settings.model_dump_json()
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings)) as c:
        info = c.get("/info", headers={"Authorization": f"Bearer {KEY}"})
        c.post("/predict", json=BODY, headers={"X-API-Key": KEY})
        c.post("/predict", json=BODY, headers={"X-API-Key": KEY + "x"})
    assert info.status_code == 200 and KEY not in info.text
    assert "API key required" in caplog.text and KEY not in caplog.text


def test_key_sources(bundle_dir, tmp_path):
    path = tmp_path / "key.txt"
    path.write_text(f"{KEY}\nsecond line ignored\n", encoding="utf-8")
    assert ServeSettings(bundle=bundle_dir, api_key_file=path).key() == KEY
    assert ServeSettings.from_env({"LSTMTEXT_API_KEY": "from-env"}, bundle=bundle_dir).key() == "from-env"
    assert ServeSettings.from_env({"LSTMTEXT_API_KEY_FILE": str(path)}, bundle=bundle_dir).key() == KEY
    # a key source on the command line replaces the environment's
    assert ServeSettings.from_env({"LSTMTEXT_API_KEY": "from-env"}, bundle=bundle_dir, api_key_file=path).key() == KEY
    assert ServeSettings.from_env({"LSTMTEXT_API_KEY_FILE": str(path)}, bundle=bundle_dir, api_key="cli").key() == "cli"
    assert ServeSettings.from_env({}, bundle=bundle_dir).key() is None
    # HTTP strips a header's white space: a key kept with an env file's newline could never be sent
    assert ServeSettings.from_env({"LSTMTEXT_API_KEY": "from-env\n"}, bundle=bundle_dir).key() == "from-env"
    assert ServeSettings(bundle=bundle_dir, api_key=" cli ").key() == "cli"
    path.write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\r\n")  # Notepad: a byte-order mark, no part of the key
    assert ServeSettings(bundle=bundle_dir, api_key_file=path).key() == KEY


@pytest.mark.parametrize(("values", "message"), [
    ({"api_key": "k", "api_key_file": "f"}, "both an API key and an API key file are given. Give one of --api-key, "
     "--api-key-file (env LSTMTEXT_API_KEY, LSTMTEXT_API_KEY_FILE)."),
    ({"api_key": "  "}, "the API key is empty. Give a non-empty --api-key (or LSTMTEXT_API_KEY), or none."),
    ({"api_key_file": "missing.txt"}, "API key file missing.txt: cannot read it (FileNotFoundError). Give a readable "
     "UTF-8 file whose first line is the key."),
    ({"api_key_file": "empty.txt"}, "API key file empty.txt: the first line is empty. Write the key on the first line."),
    *(({"api_key": key}, "the API key holds a character that is not printable ASCII, which browsers cannot send in a "
       "header. Choose a key of letters, digits and punctuation.") for key in ("s\u00ebcret", "a\tb")),
    ({"api_key_file": "greek.txt"}, "the API key holds a character that is not printable ASCII, which browsers cannot "
     "send in a header. Choose a key of letters, digits and punctuation."),
])
def test_bad_key_settings_are_one_line_errors(bundle_dir, tmp_path, monkeypatch, values, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("\n", encoding="utf-8")
    (tmp_path / "greek.txt").write_text("\u03ba\u03bb\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        ServeSettings.from_env({}, bundle=bundle_dir, **values)
    assert str(err.value) == message


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("localhost", False), ("::1", False),
                                              ("127.0.0.2", False), ("0.0.0.0", True), ("::", True),
                                              ("192.168.1.5", True), ("example.org", True)])
def test_listening_beyond_loopback_without_a_key_warns(host, warned):
    warning = exposure_warning(host, has_key=False)
    assert (warning is not None) == warned and exposure_warning(host, has_key=True) is None
    if warned:
        assert warning == (f"warning: listening on {host} without an API key: anyone who can reach this port can use "
                           "the model. Give --api-key-file FILE (or LSTMTEXT_API_KEY), or listen on 127.0.0.1.")


def test_serve_prints_the_warning_and_never_the_key(bundle_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from lstmtext.cli import app

    started = []
    monkeypatch.setattr("uvicorn.run", lambda asgi, **kw: started.append(kw))
    monkeypatch.setattr("lstmtext.cli.serving._check_port", lambda host, port: None)  # whatever listens on 8000 here
    monkeypatch.delenv("LSTMTEXT_API_KEY", raising=False)
    monkeypatch.delenv("LSTMTEXT_API_KEY_FILE", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["serve", str(bundle_dir), "--host", "0.0.0.0", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "anyone who can reach this port can use the model" in result.output
    assert started == [{"host": "0.0.0.0", "port": 8123, "log_level": "info", "access_log": True,
                       "timeout_graceful_shutdown": 10}]  # a client holding half a body kept it up
    key_file = tmp_path / "key"
    key_file.write_text(KEY, encoding="utf-8")
    result = runner.invoke(app, ["serve", str(bundle_dir), "--host", "0.0.0.0", "--api-key-file", str(key_file)])
    assert result.exit_code == 0 and "anyone who can reach" not in result.output
    assert "(API key required)" in result.output and KEY not in result.output
    result = runner.invoke(app, ["serve", str(bundle_dir)])
    assert result.exit_code == 0 and "anyone who can reach" not in result.output
