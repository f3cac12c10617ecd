"""The optional API key: an ASGI middleware that answers 401 to requests without it, and its OpenAPI declaration.

With a key set, every path but :data:`OPEN_PATHS` (``/health`` and the pages, which hold no data) needs the
header ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``, compared in constant time. It fails closed: a
wrong or empty key in either header, or an Authorization that is not Bearer, is a 401 even when the other
header is right. The key is never logged and never repeated in an answer.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Any

#: Paths that stay open with a key: the health check, the web page and the API docs pages (HTML only).
OPEN_PATHS = frozenset({"/health", "/", "/docs", "/docs/oauth2-redirect", "/redoc"})
SCHEMES = {"bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
           "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "X-API-Key: KEY"}}
_HOW = "Send the server's key as the header Authorization: Bearer KEY (or X-API-Key: KEY)."
MISSING = f"this server requires an API key and the request has none. {_HOW}"
WRONG = ("the API key sent is not this server's. Send only the server's key, as the header Authorization: Bearer "
         "KEY or X-API-Key: KEY.")


class ApiKeyAuth:
    """Answer 401 (``WWW-Authenticate: Bearer``) to requests outside :data:`OPEN_PATHS` without the key.

    Args:
        app: The ASGI app to wrap.
        key: The key requests must send.
    """

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key.encode("utf-8")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or _route_path(scope) in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        # every key header, repeats included (a dict kept the last of two): each must hold the key
        sent = [c.strip() for name, value in scope.get("headers", ())
                for c in ((_bearer(value),) if name == b"authorization" else (value,) if name == b"x-api-key" else ())]
        # compare_digest takes the same time wherever the bytes differ. Fail closed: a request whose other key
        # header is wrong, empty or another kind of Authorization is refused even if one holds the right key.
        if sent and all([hmac.compare_digest(c, self.key) for c in sent]):
            await self.app(scope, receive, send)
            return
        payload = json.dumps({"detail": WRONG if sent else MISSING}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": payload})


def _route_path(scope: dict[str, Any]) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _bearer(value: bytes | None) -> bytes | None:
    """The token of an ``Authorization: Bearer`` header; empty (never the key) for any other Authorization."""
    if value is None:
        return None
    scheme, _, token = value.strip().partition(b" ")
    return token if scheme.lower() == b"bearer" else b""


def declare(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the two key schemes to an OpenAPI ``schema`` and require one of them on every operation but /health."""
    schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    for path, operations in schema.get("paths", {}).items():
        if path not in OPEN_PATHS:
            for operation in operations.values():
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
    return schema


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, has_key: bool) -> str | None:
    """The warning for listening beyond this machine without a key (None when there is nothing to warn about)."""
    if has_key or is_loopback(host):
        return None
    return (f"warning: listening on {host} without an API key: anyone who can reach this port can use the model. "
            "Give --api-key-file FILE (or LSTMTEXT_API_KEY), or listen on 127.0.0.1.")
