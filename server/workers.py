"""Several uvicorn workers that share the connections evenly: the parent accepts, workers serve.

Why not `uvicorn --workers`: its workers race to accept() on one shared socket, and whichever is
awake takes a whole burst. Sixteen keep-alive connections opened together (a load balancer's pool,
the peer benchmark's wrk) were split 12/4 and 10/6 between two workers, so one worker queued up to
three times the requests of the other while its neighbour idled (BENCHMARKS.md). No server we
could use (uvicorn, gunicorn, hypercorn) balances connections between processes, so, like Node's
cluster module, the parent process accepts every connection and hands it to the workers in turn
over a Unix socket (SCM_RIGHTS); each worker runs uvicorn's own protocol on the connections it
receives. A worker that dies is replaced (unless none has ever started: then the app cannot start,
and the server stops with the worker's error); SIGINT/SIGTERM stop the workers gracefully.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
import tempfile
import threading
import time
from multiprocessing.context import SpawnProcess
from types import FrameType

import uvicorn
from prometheus_client.multiprocess import mark_process_dead
from uvicorn._subprocess import get_subprocess

log = logging.getLogger("uvicorn.error")

STOP_TIMEOUT_S = 30  # a worker's graceful shutdown (open requests finish) before it is killed
_POLL_S = 0.5  # how often the parent looks for dead workers and stop signals between connections
_BUSY_RETRIES = 100  # 1 ms apart: every worker's queue of connections full (all stuck) before one is dropped


class _Worker(uvicorn.Server):
    """A uvicorn server without a listening socket: it serves the connections the parent sends."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the app's lifespan; no socket to listen on
        loop = asyncio.get_running_loop()
        # What uvicorn's own start-up passes (its protocol classes take these; the type says Protocol).
        protocol = functools.partial(self.config.http_protocol_class, config=self.config,  # type: ignore[call-arg]
                                     server_state=self.server_state, app_state=self.lifespan.state)
        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop, protocol)
        self.channel.send(b"ready")  # the parent treats a death before this as a failed start

    def _receive(self, loop: asyncio.AbstractEventLoop, protocol: functools.partial[asyncio.Protocol]) -> None:
        try:
            message, fds, _, _ = socket.recv_fds(self.channel, 1, 1)
        except BlockingIOError:
            return
        if not message:  # the parent has gone: stop like on SIGTERM
            loop.remove_reader(self.channel.fileno())
            self.should_exit = True
            return
        for fd in fds:
            connection = socket.socket(fileno=fd)
            connection.setblocking(False)
            loop.create_task(loop.connect_accepted_socket(protocol, connection))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().remove_reader(self.channel.fileno())
        await super().shutdown(sockets=None)


def _run_worker(config: uvicorn.Config, sockets: list[socket.socket]) -> None:
    """The child process's entry point (after uvicorn's subprocess start-up has set up logging)."""
    _Worker(config, sockets[0]).run()


class _Slot:
    """One worker process and the parent's end of its channel."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.channel, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.process: SpawnProcess = get_subprocess(config, functools.partial(_run_worker, config), [child_end])
        self.process.start()
        child_end.close()
        self.channel.setblocking(False)  # a stuck worker must not stop the others from getting connections
        self.ready = False

    def started(self) -> bool:
        """Whether the worker has said it finished starting (its app's lifespan ran)."""
        if not self.ready:
            try:
                self.ready = self.channel.recv(16) == b"ready"
            except OSError:
                pass  # not yet
        return self.ready

    def send(self, connection: socket.socket) -> bool:
        try:
            socket.send_fds(self.channel, [b"c"], [connection.fileno()])
            return True
        except OSError:
            return False  # its queue is full (stuck) or it has died (replaced by the loop)

    def stop(self) -> None:
        self.channel.close()
        if self.process.is_alive():
            self.process.terminate()  # SIGTERM: uvicorn finishes open requests first


def _deal(slots: list[_Slot], turn: int, connection: socket.socket) -> int:
    """Hand `connection` to the next worker in turn that takes it; the turn it went to."""
    for attempt in range(_BUSY_RETRIES):
        for _ in range(len(slots)):  # in turn; past a dead or stuck worker to the next
            turn = (turn + 1) % len(slots)
            if slots[turn].send(connection):
                return turn
        time.sleep(0.001 * (attempt > 0))
    log.error("no worker took a connection for %d ms; it was closed", _BUSY_RETRIES)
    return turn


def serve(config: uvicorn.Config, workers: int) -> int:
    """Run `workers` processes of `config`'s app behind one listening socket until SIGINT/SIGTERM;
    the exit code (non-zero when a worker could not start)."""
    listener = config.bind_socket()
    listener.listen(config.backlog)
    # Each worker writes its metrics here and a scrape of any worker sums them (metrics/); set
    # before the workers start, since prometheus-client reads it when first imported.
    metrics_dir = tempfile.TemporaryDirectory(prefix="perisai-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir.name
    listener.settimeout(_POLL_S)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    slots = [_Slot(config) for _ in range(workers)]
    turn = 0
    serving = False  # a worker has started once: the app and its settings can run
    try:
        while not stop.is_set():
            serving = serving or any(slot.started() for slot in slots)
            for i, slot in enumerate(slots):
                if not slot.process.is_alive():
                    # Before any worker has started, a death is the app failing to start (settings, database):
                    # restarting would not help. After, it is one process dying (killed, out of memory), even
                    # while it was starting: replace it.
                    if not serving and not slot.started():
                        log.error("worker %s failed to start (exit code %s); stopping", slot.process.pid,
                                  slot.process.exitcode)
                        exit_code = slot.process.exitcode or 1
                        return exit_code
                    log.warning("worker %s exited (code %s); starting another", slot.process.pid, slot.process.exitcode)
                    slot.stop()
                    mark_process_dead(slot.process.pid)  # its live gauges stop counting
                    slots[i] = _Slot(config)
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                turn = _deal(slots, turn, connection)
        return 0
    finally:
        listener.close()
        for slot in slots:
            slot.stop()
        for slot in slots:
            slot.process.join(STOP_TIMEOUT_S)
            if slot.process.is_alive():
                slot.process.kill()
        metrics_dir.cleanup()
