"""The size limit of every request body, checked before it is read and while it is read.

Without one, a 300 MB JSON body was read into memory (0.4 GB more) before its token was
even checked. The limit is the largest body a request may need: an image upload's
(checked against ``NAVSVC_MAX_UPLOAD_MB`` by :func:`api.upload.receive_file`, with its own
message) or the largest JSON body the schemas allow. Too large is a 413 problem, from
the declared ``Content-Length`` before anything is read, or as soon as a streamed body
passes the limit.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException

from api.problems import problem_response
from api.upload import MULTIPART_OVERHEAD_BYTES

#: largest body of any request but an image upload, bytes: the largest JSON body the
#: schemas allow (a delivery log's pose file, 90 MiB in base64) and its other fields
MAX_JSON_BODY_BYTES = 96 * 1024 * 1024
#: largest image upload body, bytes: the largest NAVSVC_MAX_UPLOAD_MB allowed (2047 MiB)
MAX_UPLOAD_BODY_BYTES = 2047 * 1024 * 1024 + MULTIPART_OVERHEAD_BYTES
#: the image upload route (``POST``), the one route that takes a file
_UPLOAD_PATH = re.compile(r"^/api/v1/patients/[^/]+/images/?$")


def body_limit_bytes(method: str, path: str) -> int:
    """The largest body a request of ``method`` to ``path`` may send, bytes.

    Parameters
    ----------
    method : str
        HTTP method, upper case as in the ASGI scope (``"POST"``).
    path : str
        Request path as in the ASGI scope (no query string).

    Returns
    -------
    int
        :data:`MAX_UPLOAD_BODY_BYTES` for a ``POST`` to the image upload route, otherwise
        :data:`MAX_JSON_BODY_BYTES`.
    """
    return MAX_UPLOAD_BODY_BYTES if method == "POST" and _UPLOAD_PATH.match(path) else MAX_JSON_BODY_BYTES


def _too_large(limit: int) -> str:
    return (f"the request body is larger than {limit / (1024 * 1024):g} MiB, the most this request may "
            "send: send only the fields the OpenAPI schema lists, within their limits")


class BodyLimitMiddleware:
    """ASGI middleware that answers a request whose body passes :func:`body_limit_bytes`
    with a 413 problem."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_bytes(scope["method"], scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit:
            await problem_response(413, _too_large(limit))(scope, receive, send)
            return
        received = 0

        async def receive_within_limit():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # raised where the body is read: answered as a problem
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, receive_within_limit, send)
