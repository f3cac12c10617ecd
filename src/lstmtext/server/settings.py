"""Server settings: one validated pydantic model, filled from arguments and ``LSTMTEXT_*`` environment variables.

Every field ``name`` can be set with the variable ``LSTMTEXT_<NAME>`` (e.g. ``LSTMTEXT_BUNDLE``,
``LSTMTEXT_MAX_TEXTS``); values passed in code or on the command line win over the environment. The API key
is a :class:`~pydantic.SecretStr`: the settings' repr and dumps show ``**********``, never the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from lstmtext.errors import ConfigError
from lstmtext.inference.engines import ENGINES

ENV_PREFIX = "LSTMTEXT_"
KEY_SOURCES = ("api_key", "api_key_file")


def _ascii_key(key: str) -> str:
    """``key``, refused unless it is printable ASCII: a browser cannot send any other character in a header (the
    web page's requests failed before reaching the server), and a control character cannot be typed as one."""
    if not (key.isascii() and key.isprintable()):
        raise ValueError("the API key holds a character that is not printable ASCII, which browsers cannot send in a "
                         "header. Choose a key of letters, digits and punctuation.")
    return key


class ServeSettings(BaseModel):
    """What the server loads and the limits it enforces on requests."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: Path = Field(description="bundle folder (or training output folder) to serve")
    engine: Literal[ENGINES] = Field(  # type: ignore[valid-type]  (inference.engines' one list)
        "auto", description="inference engine; auto: the exported float file, a graph built in memory, else torch "
        "(torch-bf16 and onnx-int8 only when named: their answers depend a little on the batch)")
    onnx_path: Path | None = Field(None, description="exported .onnx file, or the folder export wrote it into (default: the bundle's model.onnx)")
    host: str = Field("127.0.0.1", description="interface to listen on")
    port: int = Field(8000, ge=0, le=65535, description="TCP port")
    max_texts: int = Field(256, ge=1, description="texts per /predict request")
    max_text_chars: int = Field(5000, ge=1, description="characters per text")
    max_body_bytes: int = Field(1_000_000, ge=64, description="size of a request body, at least 64 bytes (one short "
                                "text's request; 10 had started a server that refused every request)")
    threads: int | None = Field(None, ge=1, description="CPU threads for inference (default: OMP_NUM_THREADS when set, else every core)")
    batch_size: int | None = Field(None, ge=1, description="texts per forward pass (default: the engine's)")
    min_confidence: float | None = Field(None, gt=0, le=1, allow_inf_nan=False, description=(
        "answer unsure below this probability when a /predict request gives no min_confidence (the web page's "
        "requests give none): the P the training report's coverage table chose on valid"))
    api_key: SecretStr | None = Field(None, description="key every endpoint but /health and the pages requires")
    api_key_file: Path | None = Field(None, description="file whose first line is the API key")

    @model_validator(mode="before")
    @classmethod
    def _read_key_file(cls, data: Any) -> Any:
        """Fill ``api_key`` from the first line of ``api_key_file``; refuse an empty key or two key sources."""
        if not isinstance(data, dict):
            return data
        key, path = data.get("api_key"), data.get("api_key_file")
        if key is not None and path is not None:
            raise ValueError("both an API key and an API key file are given. Give one of --api-key, --api-key-file "
                             "(env LSTMTEXT_API_KEY, LSTMTEXT_API_KEY_FILE).")
        if path is not None:
            try:
                lines = Path(path).read_text(encoding="utf-8-sig").splitlines()  # Notepad's byte-order mark: no key
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"API key file {path}: cannot read it ({type(exc).__name__}). Give a readable UTF-8 "
                                 "file whose first line is the key.") from None
            key = lines[0].strip() if lines else ""
            if not key:
                raise ValueError(f"API key file {path}: the first line is empty. Write the key on the first line.")
            return {**data, "api_key": _ascii_key(key)}
        if key is not None:
            clear = (key.get_secret_value() if isinstance(key, SecretStr) else str(key)).strip()
            if not clear:
                raise ValueError("the API key is empty. Give a non-empty --api-key (or LSTMTEXT_API_KEY), or none.")
            # HTTP strips a header's surrounding white space, so a key kept with it (an env file's newline) matched
            # no request: stripped, as the key file's first line is
            return {**data, "api_key": _ascii_key(clear)}
        return data

    def key(self) -> str | None:
        """The API key in clear (None: requests need no key)."""
        return self.api_key.get_secret_value() if self.api_key is not None else None

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
        given = {k: v for k, v in values.items() if v is not None}
        if any(k in given for k in KEY_SOURCES):  # a key source from the command line replaces the environment's
            data = {k: v for k, v in data.items() if k not in KEY_SOURCES}
        data.update(given)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            if err["type"] == "value_error":  # the key checks above: their message is the whole line
                raise ConfigError(str(err["ctx"]["error"])) from None
            name = str(err["loc"][0]) if err["loc"] else "settings"
            if err["type"] == "missing" and name == "bundle":
                raise ConfigError("no bundle to serve. Give BUNDLE on the command line or set LSTMTEXT_BUNDLE.") from None
            # never echo the key
            got = "" if name == "api_key" else f" Got {err.get('input')!r} instead."
            option = {"bundle": "BUNDLE", "onnx_path": "--onnx"}.get(name, f"--{name.replace('_', '-')}")
            source = option if name in given else f"env {ENV_PREFIX}{name.upper()}"
            raise ConfigError(f"server setting {name} ({source}): {err['msg']}.{got}") from None
