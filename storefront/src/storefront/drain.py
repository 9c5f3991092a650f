"""A graceful stop that answers every connection it accepted, or closes it cleanly: never a TCP reset.

uvicorn's own stop closes the listening socket and, at once, every connection without a request in
progress. Two kinds of client lose their request that way, with a reset rather than an answer:
- a connection the server accepted whose request bytes it has not read yet (they sit in the socket's
  receive buffer, or are on the wire): closing a socket with unread data sends RST, and the client sees
  "connection reset" for a request it sent to a server that had accepted it;
- a connection the kernel accepted that uvicorn had not yet taken from the listen backlog: closing the
  listening socket resets it.
Here the stop first takes every connection waiting in the backlog, then gives each connection without a
request in progress a grace period (`GRACE_S`) for its request to arrive: one that arrives is answered
with `Connection: close`, like the requests in flight; one that does not is half-closed (FIN), anything
the client still sends is read and dropped for `LINGER_S`, and only then is the socket closed, with nothing
unread. A client connecting after the listening socket closed is refused at connect (nothing was sent).
The whole drain stays inside ECS's stop timeout: StopTask sends SIGTERM and, 30 s later by default, SIGKILL
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html); requests in flight get up to
20 s (`timeout_graceful_shutdown` in cli.py) and this adds at most GRACE_S + LINGER_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import Server

GRACE_S = 0.5  # for bytes an accepted connection already sent to be read (one loop turn is enough)
LINGER_S = 1.0  # after the FIN, for the client's own close, reading and dropping what it still sends


class DrainingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a stop that answers or cleanly closes a connection in any state."""

    _draining = False
    _dropping = False  # half-closed: whatever arrives now is read and dropped
    _reading_headers = False  # a request's first bytes are in, its headers not complete yet
    _grace: asyncio.TimerHandle | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = True

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False  # answered, then closed

    def data_received(self, data: bytes) -> None:
        if self._dropping:
            return
        super().data_received(data)

    def _idle(self) -> bool:
        return (self.cycle is None or self.cycle.response_complete) and not self._reading_headers

    def shutdown(self) -> None:
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # in flight: answered, then closed (uvicorn's own behaviour)
            return
        self._grace = self.loop.call_later(GRACE_S, self._end_grace)

    def _end_grace(self) -> None:
        if self.transport.is_closing():
            return
        if not self._idle():
            # A request arrived in the grace period: it is answered with Connection: close, unless its
            # headers stall; then the connection is closed as idle after one more grace period.
            if self._reading_headers:
                self._reading_headers = False
                self._grace = self.loop.call_later(GRACE_S, self._end_grace)
            return
        self._dropping = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:  # pragma: no cover - TCP transports can always half-close
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._grace is not None:
            self._grace.cancel()
        super().connection_lost(exc)


class DrainingServer(Server):
    """uvicorn's server, taking the connections waiting in the listen backlog before it stops listening."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self._accept_backlog()
        await super().shutdown(sockets)

    async def _accept_backlog(self) -> None:
        loop = asyncio.get_running_loop()
        create_protocol = functools.partial(
            self.config.http_protocol_class,  # type: ignore[call-arg]  # uvicorn's protocols take these
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        pending = []
        for server in self.servers:
            for listening in server.sockets:
                # A duplicate of the listening descriptor (the server's own object is a wrapper without
                # accept()); both share the non-blocking flag, so accept() stops at an empty backlog.
                with socket.socket(fileno=os.dup(listening.fileno())) as dup:
                    dup.setblocking(False)
                    while True:
                        try:
                            conn, _ = dup.accept()
                        except OSError:  # BlockingIOError: the backlog is empty
                            break
                        conn.setblocking(False)
                        pending.append(loop.connect_accepted_socket(create_protocol, conn))
        for accepted in pending:
            with contextlib.suppress(OSError):
                await accepted


def serve(*, workers: int, **config: Any) -> None:
    """uvicorn.run with the draining protocol; one process (the container's) also drains the backlog.

    Several workers are uvicorn's own supervisor, whose processes run uvicorn's Server: their connections
    drain as above, the listen backlog as uvicorn leaves it.
    """
    import uvicorn

    if workers > 1:
        uvicorn.run(http=DrainingHttpToolsProtocol, workers=workers, **config)
        return
    server = DrainingServer(uvicorn.Config(http=DrainingHttpToolsProtocol, **config))
    server.run()
    if not server.started:
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE, as uvicorn.run exits
