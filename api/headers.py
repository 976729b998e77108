"""Response headers every answer of the API carries: patient data stay out of caches."""

from __future__ import annotations

from api.audit import AUDITED_PREFIX

#: added to every response under the API prefix. ``no-store``: names, birth dates, MRI
#: slices and course logs must not stay in a shared workstation's browser or a proxy;
#: ``nosniff``: a browser renders a response only as the type it is declared.
API_RESPONSE_HEADERS = ((b"cache-control", b"no-store"), (b"x-content-type-options", b"nosniff"))


class NoStoreMiddleware:
    """ASGI middleware that adds :data:`API_RESPONSE_HEADERS` to API responses, replacing
    any caching header a response brought (a file response's ETag and Last-Modified)."""

    _REPLACED = {b"cache-control", b"x-content-type-options", b"etag", b"last-modified"}

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(AUDITED_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in self._REPLACED]
                message = {**message, "headers": headers + list(API_RESPONSE_HEADERS)}
            await send(message)

        await self.app(scope, receive, send_with_headers)
