"""The server's HTTP protocol writes each response in one send(): writes gathered within a
pass of the event loop go out together, in order; closing writes them first."""

import asyncio
from typing import Any

import httpx
import uvicorn

from gql.http_protocol import HTTP_PROTOCOL, GatheredWrites


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[Any] = []

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.events.append("close")

    def abort(self) -> None:
        self.events.append("abort")

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return "close" in self.events


async def test_writes_of_one_pass_go_out_together_in_order() -> None:
    transport = RecordingTransport()
    gathered = GatheredWrites(transport, asyncio.get_running_loop())

    gathered.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathered.write(memoryview(b"body"))
    assert transport.events == []
    assert gathered.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
    await asyncio.sleep(0)
    gathered.write(b"next")
    await asyncio.sleep(0)

    assert transport.events == [b"HTTP/1.1 200 OK\r\n\r\nbody", b"next"]


async def test_closing_writes_what_is_gathered_first_and_aborting_drops_it() -> None:
    closed, aborted = RecordingTransport(), RecordingTransport()
    loop = asyncio.get_running_loop()
    for transport, end in ((closed, "close"), (aborted, "abort")):
        gathered = GatheredWrites(transport, loop)
        gathered.write(b"last words")
        getattr(gathered, end)()
    await asyncio.sleep(0)  # the scheduled pass finds nothing left to write

    assert closed.events == [b"last words", "close"]
    assert aborted.events == ["abort"]
    assert GatheredWrites(closed, loop).is_closing()  # the rest is the transport's own


async def test_a_server_on_the_protocol_answers_keep_alive_requests_whole() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = scope["path"].encode() * 1000  # larger than one socket read
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=HTTP_PROTOCOL, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [await client.get(f"/{name}") for name in ("a", "bb", "a")]
    finally:
        server.should_exit = True
        await serving

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer.content for answer in answers] == [b"/a" * 1000, b"/bb" * 1000, b"/a" * 1000]
