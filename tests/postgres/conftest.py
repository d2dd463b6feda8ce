"""A real PostgreSQL server for the tests of this folder: one per session.

``initdb`` into a temporary folder, ``pg_ctl start`` on a free local port with its
socket in that folder, password authentication over TCP (so that the credential paths
are real), stopped and removed at the end. The binaries are found on PATH or in
/usr/lib/postgresql/*/bin (Debian's ``postgresql`` package, installed by the fixture
with apt-get when missing and running as root, as the report tests install Chromium;
``.ci/run`` installs it too). Without them the fixture fails: these tests are never
skipped. As root
(initdb refuses root) the server runs as the ``postgres`` system user, or ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

USER = "segrule_test"
PASSWORD = "s3cr#t-pw_for/tests"  # characters that need percent-encoding in a URI
DATABASE = "segrule_test"


def _find_bin_dir() -> Path | None:
    found = shutil.which("initdb")
    # Debian puts wrappers or links on PATH; the real binaries sit together.
    if found:
        real = Path(found).resolve().parent
        if (real / "pg_ctl").exists() and (real / "createdb").exists():
            return real
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _bin_dir() -> Path:
    found = _find_bin_dir()
    apt = shutil.which("apt-get")
    if found is None and apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in ([apt, "update", "-q"], [apt, "install", "-y", "-q", "postgresql"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        found = _find_bin_dir()
    if found is not None:
        return found
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
        "/usr/lib/postgresql/*/bin: install Debian's postgresql package "
        "(sudo apt-get install -y postgresql; .ci/run does this)",
        pytrace=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str
    log: Path  # the server's log: every statement is logged (log_statement=all)

    @property
    def uri(self) -> str:
        """A URI with the password in it (percent-encoded)."""
        from urllib.parse import quote

        return (
            f"postgresql://{self.user}:{quote(self.password, safe='')}@{self.host}:"
            f"{self.port}/{self.database}"
        )

    @property
    def bare_uri(self) -> str:
        """The URI without user or password (they come from the environment)."""
        return f"postgresql://{self.host}:{self.port}/{self.database}"

    def connect(self) -> object:
        import adbc_driver_postgresql.dbapi as dbapi

        return dbapi.connect(self.uri)

    def execute(self, *sql: str) -> list[tuple[object, ...]]:
        """Run statements (committed); the last one's rows."""
        conn = self.connect()
        rows: list[tuple[object, ...]] = []
        try:
            with conn.cursor() as cur:  # type: ignore[attr-defined]
                for statement in sql:
                    cur.execute(statement)
                    rows = cur.fetchall() if cur.description else []
            conn.commit()  # type: ignore[attr-defined]
        finally:
            conn.close()  # type: ignore[attr-defined]
        return rows

    def load(self, frame: pl.DataFrame, table: str, schema: str = "public") -> str:
        """``frame`` as a new table (replacing one of that name); its source URI."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}" CASCADE')
                cur.adbc_ingest(table, frame.to_arrow(), mode="create", db_schema_name=schema)
            conn.commit()  # type: ignore[attr-defined]
        finally:
            conn.close()  # type: ignore[attr-defined]
        return f"{self.uri}#{schema}.{table}"

    def statements(self, since: int = 0) -> str:
        """The server log from byte ``since`` on (what was run since then)."""
        with self.log.open("rb") as f:
            f.seek(since)
            return f.read().decode("utf-8", "replace")

    def log_size(self) -> int:
        return self.log.stat().st_size

    def read(self, table: str, order: str = "customer_id") -> pl.DataFrame:
        conn = self.connect()
        try:
            with conn.cursor() as cur:  # type: ignore[attr-defined]
                cur.execute(f"SELECT * FROM {table} ORDER BY {order}")
                return pl.from_arrow(cur.fetch_arrow_table())  # type: ignore[return-value]
        finally:
            conn.close()  # type: ignore[attr-defined]


def _as_owner(owner: pwd.struct_passwd | None) -> dict[str, object]:
    if owner is None:
        return {}
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    """A running PostgreSQL server (see the module docstring)."""
    bindir = _bin_dir()
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        for name in ("postgres", "nobody"):
            try:
                owner = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        else:
            pytest.fail("running as root and no 'postgres' or 'nobody' user to run initdb as")
    root = Path(tempfile.mkdtemp(prefix="segrule-pg-"))
    data, log, pwfile = root / "data", root / "server.log", root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if owner is not None:
        for path in (root, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    for key in [k for k in env if k.startswith("PG")]:
        env.pop(key)
    run = _as_owner(owner)
    subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            USER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        env=env,
        **run,  # type: ignore[arg-type]
    )
    pwfile.unlink()
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c log_statement=all"
    started = subprocess.run(
        [str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w", "-o", options],
        capture_output=True,
        text=True,
        env=env,
        **run,  # type: ignore[arg-type]
    )
    if started.returncode != 0:
        text = log.read_text() if log.exists() else started.stderr
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {text[-2000:]}", pytrace=False)
    server = Server("127.0.0.1", port, USER, PASSWORD, DATABASE, log)
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", str(root), "-p", str(port), "-U", USER, DATABASE],
            check=True,
            capture_output=True,
            env=env,
            **run,  # type: ignore[arg-type]
        )
        yield server
    finally:
        subprocess.run(
            [str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "immediate", "-w"],
            capture_output=True,
            env=env,
            **run,  # type: ignore[arg-type]
        )
        shutil.rmtree(root, ignore_errors=True)
