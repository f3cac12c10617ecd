"""The FastAPI application: the model loads once at start-up; /predict, /health, /info and the web page at /.

Handlers are plain ``def`` (FastAPI runs them on its thread pool); they hand their texts to one inference
thread (:mod:`lstmtext.server.worker`), which batches requests that arrive together. Request limits come from
:class:`~lstmtext.server.settings.ServeSettings`: a body over ``max_body_bytes`` gets 413, too many or
too long texts and malformed JSON get 422, each with a one-line ``detail`` that says how to fix it.
"""

# No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at run time, and
# the request model is built per app (it carries the limits), so it is not a module-level name.

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from lstmtext import __version__
from lstmtext.inference.predictor import Predictor
from lstmtext.server.limits import BodySizeLimit
from lstmtext.server.schemas import (
    ErrorResponse,
    HealthResponse,
    InfoResponse,
    PredictResponse,
    predict_request_model,
)
from lstmtext.server.settings import ServeSettings
from lstmtext.server.worker import InferenceWorker

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"

_JSON_EXAMPLE = 'Send a JSON object such as {"texts": ["..."], "top_k": 1} with Content-Type: application/json.'
_HINTS = {
    "too_long": "Split the texts over several requests (limits: GET /info).",
    "string_too_long": "Shorten the text (limits: GET /info).",
    "json_invalid": _JSON_EXAMPLE,
    "missing": _JSON_EXAMPLE,
    "model_attributes_type": _JSON_EXAMPLE,
    "extra_forbidden": "Only the keys texts and top_k are accepted.",
}


def get_predictor(request: Request) -> Predictor:
    """The predictor loaded at start-up (a dependency, so tests can override it)."""
    return request.app.state.predictor


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request", "type": ""}
    where = ".".join(str(part) for part in first["loc"]) or "body"
    if first["type"] == "json_invalid":  # its loc is ("body", character position)
        where = f"body (character {first['loc'][-1]})" if len(first["loc"]) > 1 else "body"
    hint = _HINTS.get(first["type"], "See the request schema at /docs.")
    return JSONResponse(status_code=422, content={"detail": f"{where}: {first['msg']}. {hint}", "errors": errors})


def _server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse(status_code=500, content={"detail": "internal error while predicting; see the server log."})


def _engine(predictor: Predictor, settings: ServeSettings) -> str:
    """The engine that runs: the one ``auto`` resolved to (a stand-in predictor may not say: the setting)."""
    return str(getattr(predictor, "engine", settings.engine))


def create_app(settings: ServeSettings, predictor: Predictor | None = None) -> FastAPI:
    """Build the application.

    Args:
        settings: What to load and the request limits.
        predictor: An already loaded predictor (the CLI loads it first to fail fast); None loads
            ``settings.bundle`` with ``settings.engine`` at start-up.

    Returns:
        The FastAPI app; its lifespan loads the model once, before the first request.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if predictor is None:
            from lstmtext.inference.engines import load_predictor

            app.state.predictor = load_predictor(settings.bundle, settings.engine, settings.onnx_path,
                                                 settings.batch_size, settings.threads)
        else:
            app.state.predictor = predictor
        app.state.worker = InferenceWorker(settings.max_texts)
        log.info("serving %s with the %s engine", settings.bundle, _engine(app.state.predictor, settings))
        yield
        app.state.worker.close()

    app = FastAPI(title="lstmtext", version=__version__, lifespan=lifespan,
                  description="Classify short texts with a trained lstmtext model. The web page is at /.")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
    request_model = predict_request_model(settings.max_texts, settings.max_text_chars)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    limits = {"max_texts": settings.max_texts, "max_text_chars": settings.max_text_chars,
              "max_body_bytes": settings.max_body_bytes}
    errors = {413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}}

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_none=True, responses=errors)
    def predict(body: request_model, request: Request,  # type: ignore[valid-type]
                model: Predictor = Depends(get_predictor)) -> dict[str, Any]:
        """Classify texts: one prediction record per text (as ``lstmtext predict`` writes them): the best label and
        its score (or the labels over their thresholds, or one prediction per aspect), the ``top_k`` best classes
        and every class probability."""
        proba = request.app.state.worker.predict_proba(model, body.texts)
        return {"predictions": [p.to_dict() for p in model.task.predictions(proba, body.top_k)]}

    @app.get("/health", response_model=HealthResponse)
    def health(model: Predictor = Depends(get_predictor)) -> dict[str, str]:
        """Answers ``{"status": "ok"}`` once the model is loaded."""
        return {"status": "ok"}

    @app.get("/info", response_model=InfoResponse)
    def info(model: Predictor = Depends(get_predictor)) -> dict[str, Any]:
        """Labels, cleaning and sequence settings, training scores, model card, versions and request limits."""
        bundle = model.bundle
        card = bundle.card_path
        return {
            "engine": _engine(model, settings), "labels": bundle.labels, "architecture": str(bundle.meta.get("architecture", "")),
            "model": bundle.config.model.model_dump(mode="json"), "preprocessing": bundle.encoder.to_dict(),
            "metrics": bundle.metrics, "model_card": card.read_text(encoding="utf-8") if card and card.is_file() else "",
            "meta": bundle.meta, "limits": limits,
        }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        """The web page: a text box, a button and the class probabilities as bars."""
        return HTMLResponse(page)

    return app
