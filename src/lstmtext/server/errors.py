"""Error answers: every one is JSON ``{"detail": one line saying what was wrong and how to fix it}``.

:func:`error_responses` is what the OpenAPI schema lists per endpoint; :func:`install` registers the handlers
that make the 404s and 405s, 422s and 500s; :class:`Utf8BodyRoute` turns a body that is not UTF-8, or one FastAPI
cannot parse, into the same 422 as malformed JSON (FastAPI alone answers an undocumented 400).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from lstmtext.server.schemas import ErrorResponse

log = logging.getLogger(__name__)

# Each endpoint's body, for the hints: an example and the keys it takes.
_BODIES = {"/predict": ('{"texts": ["..."], "top_k": 1}', "texts, top_k and min_confidence"),
           "/explain": ('{"text": "..."}', "text")}
_HINTS = {
    "too_long": "Split the texts over several requests (limits: GET /info).",
    "string_too_long": "Shorten the text (limits: GET /info).",
    "string_pattern_mismatch": "There is nothing to classify. Leave it out.",
    "list_type": 'Send the texts as a JSON list, even one: {"texts": ["..."]}.',
    "string_type": "Send each text as a JSON string.",
}


def _hint(kind: str, path: str) -> str:
    """What to do about a validation error of ``kind`` on the endpoint at ``path``."""
    example, keys = next((body for end, body in _BODIES.items() if path.endswith(end)), _BODIES["/predict"])
    if kind in ("json_invalid", "missing", "model_attributes_type"):
        return f"Send a JSON object such as {example} with Content-Type: application/json."
    if kind == "extra_forbidden":
        return f"Only the keys {keys} are accepted."
    return _HINTS.get(kind, "See the request schema at /docs.")


#: The one pattern a text must match is "not blank" (schemas.not_blank), whose regex would say nothing to a reader.
_BLANK = "The text is empty or blank (white space or invisible characters only)"

_UTF8_HINT = "Encode the body as UTF-8 (JSON's encoding, RFC 8259)."

#: What each status means, for the OpenAPI schema (docs/serving.md has the same table).
STATUS_MEANING = {
    401: "The server has an API key and the request did not send it (Authorization: Bearer KEY or X-API-Key: KEY).",
    413: "The request body is over max_body_bytes (see GET /info).",
    422: "The body is not valid JSON, not UTF-8, or breaks the request schema or limits; `errors` lists each field.",
    500: "Unexpected server error (the model failed); the server log has the traceback.",
}


def error_responses(statuses: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` argument of a route: each status with the :class:`ErrorResponse` model and its meaning."""
    return {status: {"model": ErrorResponse, "description": STATUS_MEANING[status]} for status in statuses}


#: The most invalid fields a 422 lists: a 1 MB body of 125,000 unknown keys got a 10.9 MB answer, built and
#: encoded on the event loop (2.5 s, every other request waiting); ``errors_left_out`` counts the rest.
MAX_LISTED_ERRORS = 20


def _message(e: dict[str, Any]) -> str:
    if e.get("type") == "string_pattern_mismatch":
        return _BLANK
    return str(e.get("msg", "")).removeprefix("Value error, ")  # pydantic's prefix for a validator's own message


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    found = exc.errors()
    errors = [{"loc": list(e.get("loc", ())), "msg": _message(e), "type": e.get("type", "")}
              for e in found[:MAX_LISTED_ERRORS]]
    more = {"errors_left_out": len(found) - len(errors)} if len(found) > len(errors) else {}
    first = errors[0] if errors else {"loc": [], "msg": "invalid request", "type": ""}
    where = ".".join(str(part) for part in first["loc"]) or "body"
    hint = _hint(first["type"], request.url.path)
    if first["type"] == "json_invalid":  # its loc is ("body", position): a character, or a byte for UTF-8 errors
        unit = (exc.errors()[0].get("ctx") or {}).get("unit", "character")
        where = f"body ({unit} {first['loc'][-1]})" if len(first["loc"]) > 1 else "body"
        hint = _UTF8_HINT if unit == "byte" else hint
    return JSONResponse(status_code=422, content={"detail": f"{where}: {first['msg']}. {hint}", "errors": errors, **more})


def _server_error(request: Request, exc: Exception) -> JSONResponse:
    # exc_info given: this handler may run on a pool thread, where no exception is current ("NoneType: None")
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    doing = " while predicting" if request.url.path.endswith("/predict") else ""
    return JSONResponse(status_code=500, content={"detail": f"internal error{doing}; see the server log."})


def endpoints(app: Any) -> str:
    """The app's endpoints as ``METHOD /path``, for a 404's or 405's answer: the API's first (those in its schema),
    then the pages (``/``, ``/docs``, ...); HEAD and the docs' OAuth helper left out."""
    api, pages = [], []
    for route in app.routes:
        if route.path.endswith("/oauth2-redirect"):
            continue
        found = api if getattr(route, "include_in_schema", False) and isinstance(route, APIRoute) else pages
        found += [f"{method} {route.path}" for method in sorted(getattr(route, "methods", None) or ()) if method != "HEAD"]
    return ", ".join(api + pages)


def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """A 404 or 405 says which endpoints there are (Starlette's own answer is "Not Found"); others pass as raised."""
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no endpoint {request.url.path}. The endpoints: {endpoints(request.app)}."
    elif exc.status_code == 405:
        allowed = exc.headers.get("Allow", "") if exc.headers else ""
        detail = f"{request.url.path} does not take {request.method}" + (f"; it takes {allowed}" if allowed else "") + \
            f". The endpoints: {endpoints(request.app)}."
    return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)


def install(app: FastAPI) -> None:
    """Register the 404/405, 422 and 500 handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)


def utf8_error(body: bytes) -> RequestValidationError | None:
    """The 422 for a body that is not UTF-8 (None when it is): the first bad byte's offset and value."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"Not UTF-8: byte 0x{body[exc.start]:02x} cannot be decoded ({exc.reason})"
        return RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.start), "msg": msg, "input": {},
                                        "ctx": {"unit": "byte"}}])
    return None


class Utf8BodyRoute(APIRoute):
    """A route that checks its request body is UTF-8 before FastAPI parses it as JSON."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def route(request: Request) -> Any:
            error = utf8_error(await request.body())  # the body is cached: the handler reads the same bytes
            if error is not None:
                raise error
            try:
                return await handler(request)
            except StarletteHTTPException as exc:
                if exc.status_code != 400:
                    raise
                # FastAPI could not parse the body at all (JSON nested past Python's recursion limit): its bare 400
                raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "input": {},
                                               "msg": "The body could not be parsed as JSON (nested too deeply, or a "
                                                      "number with more than 4,300 digits?)"}]
                                             ) from None

        return route
