"""ASGI middleware that answers 413 to request bodies over a size limit, declared or streamed."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodySizeLimit:
    """Read each request body up to ``max_bytes``; a larger one gets 413 before the app parses it.

    A ``Content-Length`` over the limit is refused without reading; a chunked body is counted as it
    arrives. Bodies within the limit are handed to the app unchanged.

    Args:
        app: The ASGI app to wrap.
        max_bytes: The largest body accepted.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send, int(declared))
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:  # streamed: its size is unknown, only that it passed the limit
                await self._reject(send, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, delivered = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Any, size: int | None) -> None:
        of = f"of {size} bytes " if size is not None else ""
        detail = (f"request body {of}is over the server's limit of {self.max_bytes} bytes. "
                  "Send fewer or shorter texts per request (or raise LSTMTEXT_MAX_BODY_BYTES).")
        payload = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
