"""Serving with N worker processes, each on its own SO_REUSEPORT socket.

``uvicorn --workers`` shares one listening socket, and under a few keep-alive clients the
kernel was seen to hand every connection to the same worker. With one SO_REUSEPORT socket
per process the kernel balances new connections across the workers instead.
"""

import multiprocessing
import socket
from typing import Any

import uvicorn

APP = "gql.app:app_from_environment"


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(host: str, port: int, options: dict[str, Any]) -> None:
    config = uvicorn.Config(APP, factory=True, **options)
    uvicorn.Server(config).run(sockets=[_socket(host, port)])


def serve(host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """Run the app on host:port with ``workers`` processes until stopped (SIGINT/SIGTERM)."""
    if workers <= 1:
        uvicorn.run(APP, factory=True, host=host, port=port, **options)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(host, port, options), name=f"learntrack-{i}")
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    finally:
        # Stopped from outside: each worker drains its connections on SIGTERM.
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=30)
