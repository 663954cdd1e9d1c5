"""Every request body is bounded as it streams, not only by its Content-Length: a chunked body has none.

A JSON (or any non-multipart) body may be at most MAX_JSON_BODY_BYTES; a multipart body at most the
largest upload plus its form overhead (the upload routes apply their own, tighter limits as they
parse). Beyond that the request is answered 413 in OpenAI's envelope and not read further.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openft.errors import PayloadTooLarge

MAX_JSON_BODY_BYTES = 32 * 1024 * 1024


def _message(limit: int) -> str:
    return f"The request body is too large: the limit is {limit} bytes."


class BodyLimit:
    """Pure ASGI middleware: counts the body's bytes as the application receives them."""

    def __init__(self, app, *, multipart_bytes: int, other_bytes: int = MAX_JSON_BODY_BYTES):
        self.app = app
        self.multipart_bytes = multipart_bytes
        self.other_bytes = other_bytes

    def _limit(self, scope) -> int:
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        return self.multipart_bytes if content_type == b"multipart/form-data" else self.other_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            error = PayloadTooLarge(_message(limit), code="request_too_large")
            await JSONResponse(error.body(), status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # an HTTPException: FastAPI passes it on from its body reader
                    raise HTTPException(413, detail=_message(limit))
            return message

        await self.app(scope, counted, send)
