"""A real PostgreSQL server for tests, from Debian's packages (``make install`` puts them there).

initdb refuses to run as root, and CI runs as root: the cluster then belongs to ``nobody`` and
every server command runs through ``runuser``.  The server listens on loopback only, with its
socket in its own temporary directory, and trusts local connections (a throwaway cluster).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

PG_ROOT = Path("/usr/lib/postgresql")
UNPRIVILEGED = "nobody"


def pg_bin() -> Path | None:
    """The newest installed server's bin directory (Debian: /usr/lib/postgresql/<major>/bin)."""
    found = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").is_file() and p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    return found[-1] if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bin: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", UNPRIVILEGED, "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *args], capture_output=True, text=True, timeout=120, check=False, cwd=self.root
        )

    def ctl(self, action: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        done = self.run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            log,
            "-w",
            "-m",
            "fast",
            action,
        )
        if done.returncode != 0:
            tail = (
                (self.root / "server.log").read_text(errors="replace")[-2000:]
                if (self.root / "server.log").exists()
                else ""
            )
            raise RuntimeError(f"pg_ctl {action} failed: {done.stdout}{done.stderr}{tail}")

    def create_database(self) -> str:
        """A fresh database (each test its own schema), returned as a DSN."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # a fixed-form name made above
        return self.dsn(name)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """initdb + pg_ctl start on a free loopback port; stopped and removed afterwards."""
    binary = pg_bin()
    if binary is None:
        raise FileNotFoundError(
            f"no PostgreSQL server under {PG_ROOT} (make install adds Debian's postgresql)"
        )
    root = Path(tempfile.mkdtemp(prefix="pg-"))
    root.chmod(0o755)  # the unprivileged owner must reach its cluster under this root-made directory
    if os.geteuid() == 0:
        shutil.chown(root, UNPRIVILEGED)
    server = PostgresServer(binary, root, _free_port())
    try:
        done = server.run(
            str(binary / "initdb"),
            "-D",
            str(server.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stdout}{done.stderr}")
        server.ctl("start")
        yield server
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if (server.data / "postmaster.pid").exists():
                server.ctl("stop")
        shutil.rmtree(root, ignore_errors=True)
