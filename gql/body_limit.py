"""Request bodies over the configured size are refused with 413, declared or streamed."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gql.http_errors import RequestRefused, refusal_response


class BodySizeLimit:
    """Refuses request bodies over ``max_bytes`` with 413 before the application reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            await refusal_response(RequestRefused(400, "Content-Length is not a number"))(
                scope, receive, send
            )
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = RequestRefused(413, f"the request body is larger than {self.max_bytes} bytes")
        await refusal_response(refused)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass
