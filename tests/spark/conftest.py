"""One local Spark for the whole test run (its JVM takes seconds to start).

Spark needs Java 17 or newer. The machine image has it; where it is missing and the
tests run as root with apt-get, Debian's headless JRE is installed (as the PostgreSQL and
report tests install their servers; ``.ci/run`` does it too). Workers run this
interpreter (PYSPARK_PYTHON is set before the JVM starts).

Each test module here is marked ``pytest.mark.xdist_group("spark")``: with pytest-xdist's
``--dist loadgroup`` they all run in one worker, so one JVM and one session serve the
run. (A mark added from this conftest's collection hook is not seen by xdist.)"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def _java() -> None:
    if shutil.which("java") or os.environ.get("JAVA_HOME"):
        return
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        import subprocess

        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            [apt, "update", "-q"],
            [apt, "install", "-y", "-q", "openjdk-17-jre-headless"],
        ):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
        if shutil.which("java"):
            return
    pytest.fail(
        "Spark needs Java 17 or newer: install Debian's openjdk-17-jre-headless "
        "(.ci/run does this) or set JAVA_HOME",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    _java()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("segrule-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server (its own JVM, local[2]) on a free port: what a platform
    team's cluster offers a thin client."""
    import socket
    import subprocess
    import time

    import pyspark

    _java()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = Path(pyspark.__file__).parent
    log = tmp_path_factory.mktemp("connect") / "server.log"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                str(home / "bin" / "spark-submit"),
                "--class",
                "org.apache.spark.sql.connect.service.SparkConnectServer",
                "--master",
                "local[2]",
                "--conf",
                f"spark.connect.grpc.binding.port={port}",
                "--conf",
                "spark.connect.grpc.binding.address=127.0.0.1",
                "--conf",
                "spark.ui.enabled=false",
                "--conf",
                "spark.sql.shuffle.partitions=4",
                "spark-internal",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Spark Connect server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
