"""The FastAPI application: the model loads once at start-up; /predict, /health, /info and the web page at /.

/predict and /explain are ``async``: they hand their texts to one inference thread
(:mod:`lstmtext.server.worker`), which batches requests that arrive together, or to the explaining thread, and
await the answer on the event loop; the other handlers are plain ``def`` (FastAPI's thread pool). Request limits come from
:class:`~lstmtext.server.settings.ServeSettings`: a body over ``max_body_bytes`` gets 413, too many or
too long texts, malformed JSON and bodies that are not UTF-8 get 422, each with a one-line ``detail`` that
says how to fix it (:mod:`lstmtext.server.errors`). With an API key, requests without it get 401
(:mod:`lstmtext.server.auth`).
"""

# No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at run time, and
# the request model is built per app (it carries the limits), so it is not a module-level name.

import asyncio
import gc
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import torch
from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from lstmtext import __version__
from lstmtext.errors import ConfigError
from lstmtext.explain.attributions import explain_texts
from lstmtext.inference.predictor import Predictor, flag_unknown
from lstmtext.models import describe_model
from lstmtext.server import auth, errors
from lstmtext.server.limits import BodySizeLimit
from lstmtext.server.schemas import (
    ExplainResponse,
    HealthResponse,
    InfoResponse,
    PredictResponse,
    explain_request_model,
    predict_request_model,
)
from lstmtext.server.settings import ServeSettings
from lstmtext.server.worker import InferenceWorker

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Swagger UI fetches /openapi.json itself: with a key, it sends the one the web page keeps in sessionStorage.
_DOCS_KEY = ("SwaggerUIBundle({", "SwaggerUIBundle({\n        requestInterceptor: (req) => { const key = "
             "sessionStorage.getItem('lstmtext-api-key'); if (key && !req.headers.Authorization) "
             "req.headers.Authorization = 'Bearer ' + key; return req; },")


def get_predictor(request: Request) -> Predictor:
    """The predictor loaded at start-up (a dependency, so tests can override it)."""
    return request.app.state.predictor


def _records(model: Predictor, proba: Any, flags: Any, top_k: int, min_confidence: float | None = None
             ) -> list[dict[str, Any]]:
    """The records of ``proba`` listing ``top_k`` classes (``flags``: per text, :func:`~lstmtext.inference.predictor.text_flags`)."""
    options = {"min_confidence": min_confidence} if min_confidence is not None else {}
    return [p.to_dict() for p in flag_unknown(model.task.predictions(proba, top_k, **options), flags)]


async def unless_gone(request: Request, job: Future, every: float = 0.1) -> Any:
    """The result of ``job`` (a future of a one-thread executor), or None when the client disconnects first; a job
    that has not started by then is cancelled. Explanations run one at a time and take up to a second each: 40
    requests abandoned by a client's timeout had kept a new one waiting 15.8 s while all of them ran."""
    waiting = asyncio.wrap_future(job)
    while True:
        done, _ = await asyncio.wait({waiting}, timeout=every)
        if done:
            return waiting.result()
        if await request.is_disconnected():
            waiting.cancel()  # cancels the job too, unless it is running (then it ends, unread)
            return None


def _engine(predictor: Predictor, settings: ServeSettings) -> str:
    """The engine that runs: the one ``auto`` resolved to (a stand-in predictor may not say: the setting)."""
    return str(getattr(predictor, "engine", settings.engine))


def create_app(settings: ServeSettings, predictor: Predictor | None = None) -> FastAPI:
    """Build the application.

    Args:
        settings: What to load, the request limits and the API key.
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
        # One thread explains: its scratch buffers (the deletion states, a few hundred MB for a 256-token text
        # through a 5-member ensemble) are then held once, not once per request thread.
        # --threads holds for it too (the predictor sets its own passes' count; the explainer reads the model itself)
        threads = {"initializer": torch.set_num_threads, "initargs": (settings.threads,)} if settings.threads else {}
        app.state.explainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lstmtext-explain", **threads)
        gc.collect()
        gc.freeze()  # the model's objects out of the collector's way: a full pass over them stalled every request
        log.info("serving %s with the %s engine%s", settings.bundle, _engine(app.state.predictor, settings),
                 ", API key required" if key else "")
        yield
        app.state.worker.close()
        app.state.explainer.shutdown(wait=True)

    key = settings.key()
    # with a key: /docs is served below (sending the key); ReDoc cannot send one, so it would show a 401 page.
    # redirect_slashes off: POST /predict/ was a bare 307 most JSON clients do not follow; now the 404 naming the paths
    app = FastAPI(title="lstmtext", version=__version__, lifespan=lifespan, docs_url=None if key else "/docs",
                  redoc_url=None if key else "/redoc", redirect_slashes=False,
                  description="Classify short texts with a trained lstmtext model. The web page is at /.")
    app.router.route_class = errors.Utf8BodyRoute
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if key:  # added last, so it runs first: a request without the key is answered before its body is read
        app.add_middleware(auth.ApiKeyAuth, key=key)
    errors.install(app)
    request_model = predict_request_model(settings.max_texts, settings.max_text_chars)
    explain_model = explain_request_model(settings.max_text_chars)
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    limits = {"max_texts": settings.max_texts, "max_text_chars": settings.max_text_chars,
              "max_body_bytes": settings.max_body_bytes}
    locked = (401,) if key else ()

    @app.post("/predict", response_model=PredictResponse, response_model_exclude_unset=True,
              responses=errors.error_responses((*locked, 413, 422, 500)))
    async def predict(body: request_model, request: Request,  # type: ignore[valid-type]
                      model: Predictor = Depends(get_predictor)) -> dict[str, Any]:
        """Classify texts: one prediction record per text (as ``lstmtext predict`` writes them): the best label and
        its score (or the labels at or over their thresholds, or one prediction per aspect), the ``top_k`` best
        classes and every class probability."""
        # awaited on the event loop, no thread-pool hop per request: 1,359 -> 1,929 requests/s (32 clients, onnx)
        proba, flags = await asyncio.wrap_future(request.app.state.worker.submit(model, body.texts))
        cut = body.min_confidence if body.min_confidence is not None else settings.min_confidence
        return {"predictions": _records(model, proba, flags, body.top_k, cut)}

    @app.post("/explain", response_model=ExplainResponse, responses=errors.error_responses((*locked, 413, 422, 500)))
    async def explain(body: explain_model, request: Request,  # type: ignore[valid-type]
                      model: Predictor = Depends(get_predictor)) -> dict[str, Any]:
        """Which tokens pushed the prediction: for each predicted class (aspect label, or chosen label), each token's
        score is the probability with the whole text minus the probability without that token. A text that cleans
        to nothing has no token to weigh: no tokens, no targets, and a ``note`` saying so."""
        try:
            done = request.app.state.explainer.submit(explain_texts, model.bundle, [body.text])
            found = await unless_gone(request, done)
            if found is None:  # the client gave up while the explanation waited its turn: it was never computed
                return Response(status_code=499)  # (nginx's "client closed request"; no one reads it)
            return found[0].to_dict()
        except ConfigError as exc:  # a valid request whose text cleans to nothing: answered, with the reason
            return {"text": body.text, "cleaned": model.bundle.encoder.pipeline(body.text), "tokens": [],
                    "unknown": [], "method": "occlusion", "targets": [], "note": str(exc)}

    @app.get("/health", response_model=HealthResponse, responses=errors.error_responses((413, 500)))
    def health(model: Predictor = Depends(get_predictor)) -> dict[str, str]:
        """Answers ``{"status": "ok"}`` once the model is loaded (never needs the API key)."""
        return {"status": "ok"}

    @app.head("/health", include_in_schema=False)  # load balancers' checks: the same answer, without a body
    def health_head(model: Predictor = Depends(get_predictor)) -> None:
        return None

    @app.head("/info", include_in_schema=False)  # uptime monitors send HEAD: the GET's status, no body
    def info_head(model: Predictor = Depends(get_predictor)) -> None:
        return None

    @app.get("/info", response_model=InfoResponse, responses=errors.error_responses((*locked, 413, 500)))
    def info(model: Predictor = Depends(get_predictor)) -> dict[str, Any]:
        """Labels, cleaning and sequence settings, training scores, model card, versions and request limits."""
        bundle = model.bundle
        card = bundle.card_path
        return {
            "engine": _engine(model, settings), "labels": bundle.labels, "architecture": str(bundle.meta.get("architecture", "")),
            "network": describe_model(bundle.config.model),
            "model": bundle.config.model.model_dump(mode="json"), "preprocessing": bundle.encoder.to_dict(),
            "metrics": bundle.metrics, "model_card": card.read_text(encoding="utf-8") if card and card.is_file() else "",
            "meta": bundle.meta, "limits": limits, "min_confidence": settings.min_confidence,
        }

    @app.head("/", include_in_schema=False)
    def index_head() -> Response:
        return Response(media_type="text/html")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        """The web page: an API key field, a text box, a button and the probabilities as bars."""
        return HTMLResponse(page)

    if key:
        docs = get_swagger_ui_html(openapi_url="openapi.json", title="lstmtext - Swagger UI").body.decode()
        docs_page = HTMLResponse(docs.replace(*_DOCS_KEY, 1))

        @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
        def swagger() -> HTMLResponse:
            """Swagger UI, sending the key the web page stored in this tab."""
            return docs_page

        plain_openapi = app.openapi
        app.openapi = lambda: auth.declare(plain_openapi())  # type: ignore[method-assign]
    return app
