"""Serving with N supervised worker processes, each on its own SO_REUSEPORT socket.

``uvicorn --workers`` shares one listening socket, and under a few keep-alive clients the
kernel was seen to hand every connection to the same worker. With one SO_REUSEPORT socket
per process the kernel balances new connections across the workers instead.

The ``serve`` process supervises: it replaces a worker that dies, and shares a small board
with the workers (which pid serves in each slot, restarts so far), so that whichever worker
answers ``/readyz`` or ``/metrics`` reports the same thing.
"""

import logging
import multiprocessing
import os
import signal
import socket
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

import uvicorn

APP = "gql.app:app_from_environment"
# A worker that dies before it ever served is restarted after a delay doubling up to this:
# a start-up crash (bad configuration, a broken import) should not spin the machine.
MAX_RESTART_DELAY_S = 30.0
FIRST_RESTART_DELAY_S = 0.5
STOP_GRACE_S = 30.0

log = logging.getLogger("learntrack.workers")


class Board:
    """What the supervisor and its workers share: who serves in each slot, restarts so far.

    A slot holds the pid serving in it, 0 while nobody does, minus the pid while that
    worker shuts down (so the supervisor can still tell it had served).
    """

    def __init__(self, context: SpawnContext, workers: int) -> None:
        # Raw shared memory, no lock: a lock held by a worker killed with SIGKILL would never
        # be released. Each cell has one writer at a time (a worker writes its own slot; the
        # supervisor clears it after reaping that worker, and alone counts restarts), and an
        # aligned 64-bit cell is read and written whole.
        self.slots: Any = context.RawArray("q", workers)
        self.restarts: Any = context.RawValue("q", 0)

    @property
    def expected(self) -> int:
        return len(self.slots)

    def serving(self) -> int:
        return sum(1 for pid in self.slots if pid > 0)


# Set in a supervised worker process; None when serving with one process (or in tests).
_board: Board | None = None


def current_board() -> Board | None:
    """The board of this worker's supervisor, None when this process is not supervised."""
    return _board


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class _WorkerServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, board: Board, slot: int) -> None:
        super().__init__(config)
        self.board, self.slot = board, slot

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # Bound only now, once the app is imported: the kernel hands connections to a
        # socket as soon as it listens, and a worker still importing would sit on them.
        await super().startup([_socket(self.config.host, self.config.port)])
        if self.started:
            self.board.slots[self.slot] = os.getpid()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.board.slots[self.slot] = -os.getpid()
        await super().shutdown(sockets)


def _worker(host: str, port: int, options: dict[str, Any], board: Board, slot: int) -> None:
    global _board
    _board = board
    config = uvicorn.Config(APP, factory=True, host=host, port=port, **options)
    _WorkerServer(config, board, slot).run()


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exited with code {exitcode}"


@dataclass
class _Replacement:
    due: float
    ended: str


class Supervisor:
    """Starts ``workers`` processes and replaces each one that dies, until stopped."""

    def __init__(self, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.board = Board(self.context, workers)
        self.args = (host, port, options, self.board)
        self.processes: dict[int, SpawnProcess] = {}
        self.pending: dict[int, _Replacement] = {}
        self.failures = [0] * workers  # deaths in a row, per slot, before serving
        self.any_served = False

    def _start(self, slot: int) -> SpawnProcess:
        process = self.context.Process(
            target=_worker, args=(*self.args, slot), name=f"learntrack-{slot}"
        )
        process.start()
        self.processes[slot] = process
        return process

    def _reap(self, slot: int) -> bool:
        """Schedule the dead worker's replacement; False when serving never began at all."""
        process = self.processes.pop(slot)
        process.join()
        served = abs(self.board.slots[slot]) == process.pid
        self.board.slots[slot] = 0
        self.any_served = self.any_served or served or self.board.serving() > 0
        ended = f"worker {slot} (pid {process.pid}) {_how_it_ended(process.exitcode)}"
        if not self.any_served:
            log.error("%s before any worker served; stopping", ended)
            return False
        self.failures[slot] = 0 if served else self.failures[slot] + 1
        delay = 0.0
        if self.failures[slot]:
            delay = min(FIRST_RESTART_DELAY_S * 2 ** (self.failures[slot] - 1), MAX_RESTART_DELAY_S)
        self.pending[slot] = _Replacement(time.monotonic() + delay, ended)
        return True

    def _replace_due(self) -> None:
        now = time.monotonic()
        for slot, replacement in list(self.pending.items()):
            if replacement.due <= now:
                del self.pending[slot]
                self.board.restarts.value += 1
                process = self._start(slot)
                log.warning("%s; replaced by pid %d", replacement.ended, process.pid)

    def run(self) -> int:
        for slot in range(self.board.expected):
            self._start(slot)
        try:
            while True:
                by_sentinel = {p.sentinel: slot for slot, p in self.processes.items()}
                timeout = None
                if self.pending:
                    due = min(r.due for r in self.pending.values())
                    timeout = max(due - time.monotonic(), 0.0)
                for sentinel in wait(list(by_sentinel), timeout):
                    if not self._reap(by_sentinel[sentinel]):  # type: ignore[index]
                        return 1
                self._replace_due()
        finally:
            self._stop()

    def _stop(self) -> None:
        # Stopped from outside (or failing): each worker drains its connections on SIGTERM.
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes.values():
            process.join(timeout=max(deadline - time.monotonic(), 0.0))
            if process.is_alive():
                process.kill()
                process.join()


def serve(host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run the app on host:port with ``workers`` processes until stopped; the exit status."""
    if workers <= 1:
        uvicorn.run(APP, factory=True, host=host, port=port, **options)
        return 0
    return Supervisor(host, port, workers, options).run()
