"""The HTTP server: ``create_app(settings)`` builds the FastAPI app that serves a bundle (see docs/serving.md).

``app_from_env`` is a factory for running under uvicorn directly, configured by ``LSTMTEXT_*`` variables::

    LSTMTEXT_BUNDLE=runs/demo uvicorn --factory lstmtext.server:app_from_env
"""

from __future__ import annotations

from typing import Any

from lstmtext.server.app import create_app
from lstmtext.server.settings import ServeSettings

__all__ = ["ServeSettings", "app_from_env", "create_app"]


def app_from_env() -> Any:
    """Build the app from ``LSTMTEXT_*`` environment variables (uvicorn ``--factory`` entry point)."""
    return create_app(ServeSettings.from_env())
