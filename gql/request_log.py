"""One record per HTTP request: its id, the operation, the user, the outcome.

The middleware opens the record, puts ``X-Request-Id`` on the response, writes one access
log line and feeds the metrics when the request ends. The endpoint and the operation runner
(gql/operations.py) fill in what only they know. The record holds no variables, headers or
tokens, so no log line built from it can leak them.
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Protocol

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.types.graphql import OperationType

from gql.http_errors import error_body

access_log = logging.getLogger("learntrack.access")
log = logging.getLogger(__name__)

# Honour the caller's id (a proxy's or a client's) only when it cannot forge a log line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    method: str
    path: str
    status: int = 500
    duration_ms: float = 0.0
    operation_name: str | None = None
    operation_type: str | None = None
    user_id: str | None = None
    error_codes: list[str] = field(default_factory=list)


current_request: ContextVar[RequestRecord | None] = ContextVar("current_request", default=None)


class RequestObserver(Protocol):
    def observe(self, record: RequestRecord) -> None: ...


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if SANE_REQUEST_ID.fullmatch(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestLogging:
    """Request id, access log line and metrics for every HTTP request, whatever it hits."""

    def __init__(self, app: ASGIApp, observer: RequestObserver | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(
            request_id=_request_id(scope), method=scope["method"], path=scope["path"]
        )
        token = current_request.set(record)
        started = time.perf_counter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                record.status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = record.request_id
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here with the request id; the client gets the id and no trace.
            log.exception("unhandled error")
            record.error_codes.append("INTERNAL_SERVER_ERROR")
            if not response_started:
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json; charset=utf-8")],
                    }
                )
                body = error_body(
                    "Internal server error", "INTERNAL_SERVER_ERROR", errorId=record.request_id
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("request", extra={"fields": asdict(record)})
            if self.observer is not None:
                self.observer.observe(record)
            current_request.reset(token)


def record_operation(name: str | None, operation_type: OperationType) -> None:
    """Notes the operation's name and type on the request record once it is known."""
    record = current_request.get()
    if record is not None:
        record.operation_name = name
        record.operation_type = operation_type.value
