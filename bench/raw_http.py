"""A minimal keep-alive HTTP/1.1 client for answers that cost the server little (304s,
recorded attempts).

httpx spends a few hundred microseconds of the benchmark's own CPU on each request; against
a 304 that the server answers in about half a millisecond, on the same two cores, the run
would measure the client. This one writes prepared request bytes and reads the status line,
the headers and a ``Content-Length`` body: only what uvicorn sends to it.
"""

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader = reader
        self.writer = writer
        self.host = host

    @classmethod
    async def open(cls, base_url: str) -> "Connection":
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        return cls(reader, writer, f"{url.hostname}:{url.port}")

    def get_request(self, path: str, params: dict[str, str], headers: dict[str, str]) -> bytes:
        """The bytes of a GET, built once and sent many times."""
        lines = [f"GET {path}?{urlencode(params)} HTTP/1.1", f"host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def post_request(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        """The bytes of a POST of ``body``."""
        lines = [f"POST {path} HTTP/1.1", f"host: {self.host}", f"content-length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def send(self, request: bytes) -> Answer:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "transfer-encoding" in headers:
            raise RuntimeError("a chunked answer: this client reads Content-Length bodies only")
        status = int(status_line.split(" ", 2)[1])
        length = int(headers.get("content-length", "0"))
        body = await self.reader.readexactly(length) if length else b""
        return Answer(status, headers, body)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()
