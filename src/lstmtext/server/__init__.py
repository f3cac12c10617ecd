"""The HTTP server: ``create_app(settings)`` builds the FastAPI app that serves a bundle (see docs/serving.md).

``app_from_env`` is a factory for running under uvicorn directly, configured by ``LSTMTEXT_*`` variables::

    LSTMTEXT_BUNDLE=runs/demo uvicorn --factory lstmtext.server:app_from_env
"""

from __future__ import annotations

import sys
from typing import Any

from lstmtext.errors import LstmTextError
from lstmtext.server.app import create_app
from lstmtext.server.settings import ServeSettings

__all__ = ["ServeSettings", "app_from_env", "create_app"]


def app_from_env() -> Any:
    """Build the app from ``LSTMTEXT_*`` environment variables (uvicorn ``--factory`` entry point).

    The model is loaded here, before uvicorn starts: a setting or bundle that is wrong stops the process with
    one line on standard error and status 1, as ``lstmtext serve`` does (loaded in the app's lifespan, the error
    came as a traceback of Starlette's start-up).
    """
    from lstmtext.inference.engines import load_predictor

    try:
        settings = ServeSettings.from_env()
        predictor = load_predictor(settings.bundle, settings.engine, settings.onnx_path, settings.batch_size,
                                   settings.threads)
    except LstmTextError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    return create_app(settings, predictor)
