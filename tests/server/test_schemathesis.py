"""Schemathesis against /openapi.json: generated valid and invalid requests on every endpoint, with and without a key.

Every answer must be documented (status, content type, body schema), invalid requests refused, valid ones
accepted, and with a key a request without it must get 401. Bounded: a few hundred requests, ~10 s. Skipped
when schemathesis is not installed (the dev extra installs it). schemathesis's pytest plugin (``from_fixture``)
does not run under pytest 9, so the test drives its documented Hypothesis strategies itself.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis not installed: pip install -e '.[dev]'")

from hypothesis import HealthCheck, given, settings  # noqa: E402  (hypothesis comes with schemathesis)
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from lstmtext.server import ServeSettings, create_app  # noqa: E402

KEY = "schema-test-key"
EXAMPLES = 100  # per endpoint and mode; /predict runs the tiny model, a few ms a request
# A body over max_body_bytes is refused with 413 (documented) before it is parsed: a rejection too.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}


def _fuzz(trained_run, key=None, headers=None):
    app = create_app(ServeSettings(bundle=trained_run[0] / "model", max_texts=4, max_text_chars=60,
                                   max_body_bytes=2000, api_key=key))
    headers = headers or {}
    # schemathesis runs the app's lifespan (the model loads) before its first request
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=SchemathesisConfig.from_dict(CONFIG),
                                            headers=headers)
    tested = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # an operation without parameters or body (GET /health, /info) has no invalid request to make
        for mode in GenerationMode if len(operation.body) else [GenerationMode.POSITIVE]:
            @given(case=operation.as_strategy(mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def check(case):
                case.call_and_validate(headers=headers)
                tested.append((case.method, case.path, mode.value))

            check()
    return sorted(set(tested))


def test_every_answer_is_documented(trained_run):
    assert _fuzz(trained_run) == [("GET", "/health", "positive"), ("GET", "/info", "positive"),
                                  ("POST", "/explain", "negative"), ("POST", "/explain", "positive"),
                                  ("POST", "/predict", "negative"), ("POST", "/predict", "positive")]


# With the key in one header, schemathesis also sends wrong, empty and odd values in the other one.
@pytest.mark.parametrize("headers", [{"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY}], ids=["bearer", "x-api-key"])
def test_every_answer_is_documented_with_a_key(trained_run, headers):
    assert len(_fuzz(trained_run, KEY, headers)) == 6
