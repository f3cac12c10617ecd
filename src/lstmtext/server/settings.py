"""Server settings: one validated pydantic model, filled from arguments and ``LSTMTEXT_*`` environment variables.

Every field ``name`` can be set with the variable ``LSTMTEXT_<NAME>`` (e.g. ``LSTMTEXT_BUNDLE``,
``LSTMTEXT_MAX_TEXTS``); values passed in code or on the command line win over the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lstmtext.errors import ConfigError

ENV_PREFIX = "LSTMTEXT_"


class ServeSettings(BaseModel):
    """What the server loads and the limits it enforces on requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: Path = Field(description="bundle folder (or training output folder) to serve")
    engine: Literal["auto", "torch", "onnx", "onnx-int8"] = Field(
        "auto", description="inference engine; auto: the exported int8 file, the float file, a graph built in memory, "
        "else torch")
    onnx_path: Path | None = Field(None, description="exported .onnx file (default: the bundle's model.onnx)")
    host: str = Field("127.0.0.1", description="interface to listen on")
    port: int = Field(8000, ge=0, le=65535, description="TCP port")
    max_texts: int = Field(256, ge=1, description="texts per /predict request")
    max_text_chars: int = Field(5000, ge=1, description="characters per text")
    max_body_bytes: int = Field(1_000_000, ge=1, description="size of a request body")
    threads: int | None = Field(None, ge=1, description="CPU threads for inference (default: every core)")
    batch_size: int | None = Field(None, ge=1, description="texts per forward pass (default: the engine's)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **values: Any) -> ServeSettings:
        """Build settings from ``LSTMTEXT_*`` variables, overridden by ``values`` that are not None.

        Args:
            environ: Variables to read (default: ``os.environ``).
            **values: Field values from code or the command line.

        Raises:
            ConfigError: If a value is invalid or no bundle is given.
        """
        environ = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if environ.get(key, "") != "":
                data[name] = environ[key]
        data.update({k: v for k, v in values.items() if v is not None})
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "settings"
            if err["type"] == "missing" and name == "bundle":
                raise ConfigError("no bundle to serve. Give BUNDLE on the command line or set LSTMTEXT_BUNDLE.") from None
            raise ConfigError(
                f"server setting {name} (env {ENV_PREFIX}{name.upper()}): {err['msg']}. Got {err.get('input')!r} instead."
            ) from None
