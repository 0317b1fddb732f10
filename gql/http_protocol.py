"""uvicorn's httptools protocol, writing each response in one ``send()``.

uvicorn writes a response's head when the application sends ``http.response.start`` and its
body when it sends ``http.response.body``: two system calls, and two wake-ups of the client,
which on a busy machine may take the core between them. Here the connection's writes are
gathered until the event loop's current pass ends, then written together. Nothing waits
longer than that pass: the application has sent everything it had by then. Closing the
connection writes what is gathered first; aborting it drops it, as aborting a transport
drops its buffer.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GatheredWrites:
    """A transport whose writes are gathered and written once per pass of the event loop."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._gathered: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._gathered:
            self._loop.call_soon(self._flush)
        self._gathered.append(data if type(data) is bytes else bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        if self._gathered:
            data = b"".join(self._gathered)
            self._gathered.clear()
            self._transport.write(data)

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._gathered.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._gathered))

    def __getattr__(self, name: str) -> Any:
        # Reading, flow control, extra info: the transport's own.
        return getattr(self._transport, name)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol over ``GatheredWrites``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheredWrites(transport, self.loop))  # type: ignore[arg-type]


# What uvicorn's ``http`` setting takes (an import string pickles into spawned workers).
HTTP_PROTOCOL = "gql.http_protocol:GatheringHttpToolsProtocol"
