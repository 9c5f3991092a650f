"""A graceful stop (SIGTERM) answers every connection the server accepted, or closes it cleanly: a request
sent on an accepted connection just before or during the drain gets its answer, never a TCP reset
(storefront/src/storefront/drain.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from storefront.db.embedded import free_port

from tests.storefront.conftest import ADMIN_TOKEN

CONNECTIONS = 16


def _serve(database: str, scratch: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
    env |= {"DATABASE_URL": database, "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN, "STOREFRONT_STATIC_DIR": str(scratch)}
    command = [str(Path(sys.executable).parent / "storefront"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = scratch / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, port, log
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection; b"RESET" for a reset."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        return b"RESET"
    return b"".join(chunks)


def _wait_until_refused(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            return
        time.sleep(0.01)
    raise AssertionError("the server kept listening 10 s after SIGTERM")


def test_sigterm_answers_requests_on_connections_accepted_but_not_yet_read(database: str, scratch: Path) -> None:
    proc, port, log = _serve(database, scratch)
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    socks = []
    try:
        for _ in range(CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            socks.append(sock)
        time.sleep(0.3)  # every connection accepted by the server, none has sent a byte
        proc.send_signal(signal.SIGTERM)
        early, late = socks[: CONNECTIONS // 2], socks[CONNECTIONS // 2 :]
        for sock in early:  # sent as the signal arrives: read before or as the drain begins
            sock.sendall(request)
        # The drain has begun once the listening socket refuses a new connection; uvicorn tells every open
        # connection to shut down in the same turn of its loop. The late requests come after that, on
        # connections the server accepted long ago and has read nothing from.
        _wait_until_refused(port)
        for sock in late:
            sock.sendall(request)
        answers = [_answer(sock) for sock in socks]
        assert proc.wait(timeout=20) == 0, log.read_text()
    finally:
        for sock in socks:
            sock.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    for i, answer in enumerate(answers):
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 200"), (i, answer[:200])
        if i >= CONNECTIONS // 2:
            assert b"connection: close" in head, (i, answer[:200])
