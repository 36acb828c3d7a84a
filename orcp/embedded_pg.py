"""A private PostgreSQL cluster under the project's data directory.

Used when no ``ORCP_DATABASE_URL`` is set, and by the tests where no server answers.
PostgreSQL refuses to run as root, so as root the server binaries run as ``postgres``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    pass


def find_bin_dir() -> Path:
    """Directory holding initdb/pg_ctl: $ORCP_PG_BIN, PATH, then Debian's versioned dirs."""
    candidates = [os.environ.get("ORCP_PG_BIN", "")]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise EmbeddedPostgresError(
        "No PostgreSQL server binaries (initdb, pg_ctl) found. Install them "
        "(Debian: apt-get install postgresql) or set ORCP_PG_BIN, or point the project "
        "at a running server with ORCP_DATABASE_URL=postgresql://user@host:5432/dbname."
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def _chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _running_port(cluster_dir: Path) -> int | None:
    """Port of a live server of this cluster, read from postmaster.pid."""
    pid_file = cluster_dir / "data" / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    try:
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (IndexError, ValueError, ProcessLookupError, PermissionError):
        return None
    return port


def ensure_running(cluster_dir: Path) -> int:
    """Start (initialising if needed) the cluster in cluster_dir; return its TCP port."""
    port = _running_port(cluster_dir)
    if port:
        return port
    bin_dir = find_bin_dir()
    data_dir, socket_dir = cluster_dir / "data", cluster_dir / "socket"
    for directory in (cluster_dir, socket_dir):
        directory.mkdir(parents=True, exist_ok=True)
        _chown_for_server(directory)
    if not (data_dir / "PG_VERSION").exists():
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER,
              "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"], "initdb")
    port = _free_port()
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={socket_dir}"
    _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(cluster_dir / "server.log"),
          "-o", options, "-w", "start"], "pg_ctl start")
    _wait_for_port(port)
    return port


def stop(cluster_dir: Path) -> bool:
    """Stop the cluster; False when it was not running."""
    if not _running_port(cluster_dir):
        return False
    _run([str(find_bin_dir() / "pg_ctl"), "-D", str(cluster_dir / "data"), "-m", "fast", "-w", "stop"],
         "pg_ctl stop")
    return True


def _run(cmd: list[str], what: str) -> None:
    result = subprocess.run(_as_server_user(cmd), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise EmbeddedPostgresError(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise EmbeddedPostgresError(f"embedded PostgreSQL did not answer on 127.0.0.1:{port}")
