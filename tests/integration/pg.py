"""A throwaway PostgreSQL server for the tests: `initdb` into a temporary folder, started with
`pg_ctl` on 127.0.0.1 at a free port, password authentication on, removed after.

As root (PostgreSQL refuses to run as root) the server runs as `nobody`, through `runuser`.
`find_bin()` says why no server can run here, so the tests that need one skip with that reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

USER, PASSWORD = "mnist", "s3cret-Pw-7f2e"  # the password the tests look for in every output


def find_bin() -> tuple[str | None, str]:
    """(the folder holding initdb and pg_ctl, or None; why not)."""
    found = shutil.which("pg_ctl")
    folders = [os.path.dirname(found)] if found else []
    folders += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in folders:
        if all(os.access(os.path.join(folder, b), os.X_OK) for b in ("initdb", "pg_ctl")):
            if os.geteuid() == 0 and not shutil.which("runuser"):
                return None, "running as root and no runuser to start PostgreSQL as nobody"
            return folder, ""
    return None, "no PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: str  # the temporary folder: data, socket, log
    port: int
    bin: str

    def url(self, database: str, password: bool = True) -> str:
        secret = f":{PASSWORD}" if password else ""
        return f"postgresql://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL (with the password)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run(self, [f"{self.bin}/pg_ctl", "-D", f"{self.folder}/data", "-m", "immediate", "-w",
                    "stop"], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _run(server_or_none, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "nobody", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=check)


def start() -> Server:
    """Start a server; raise RuntimeError (with its log) if it does not come up."""
    folder_bin, why = find_bin()
    if folder_bin is None:
        raise RuntimeError(why)
    folder = tempfile.mkdtemp(prefix="mnist-tui-pg-")
    os.chmod(folder, 0o755)
    pwfile = os.path.join(folder, "pw")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    if os.geteuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        os.chown(pwfile, nobody.pw_uid, nobody.pw_gid)
    server = Server(folder, _free_port(), folder_bin)
    try:
        _run(server, [f"{folder_bin}/initdb", "-D", f"{folder}/data", "-U", USER, "-A",
                      "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync"])
        opts = (f"-p {server.port} -h 127.0.0.1 -k {folder} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        _run(server, [f"{folder_bin}/pg_ctl", "-D", f"{folder}/data", "-o", opts, "-l",
                      f"{folder}/log", "-w", "-t", "60", "start"])
    except subprocess.CalledProcessError as e:
        log = open(f"{folder}/log").read()[-2000:] if os.path.exists(f"{folder}/log") else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {e.stderr[-2000:]} {log}") from None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("PostgreSQL did not accept connections within 30 s")
