"""Shared fixtures: real storage roots (a tmp folder, or a bucket on a moto S3 server)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import yaml
from ci_components import HANG_GUARD_S, in_ci, require
from hypothesis import settings as hypothesis_settings

from snuk_assets.registry import default_registry_path

MOTO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ALLOW_HTTP": "true",
}


# Hypothesis: under CI=true the examples are derandomized (a fixed seed derived from each test),
# so a run is reproducible and a red CI is red again on rerun; each property test states its
# example count in its own @settings (100 where it does not). On a developer's machine examples
# are fresh every run and failures are kept in .hypothesis/ (the default database).
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if in_ci() else "dev"))


def pytest_sessionfinish(session, exitstatus):
    """Under ``CI=true`` a run that skipped anything fails, naming what skipped and why.

    ``ci_components.require`` already fails a missing component by name; this also catches a
    skip that does not go through it (a stray ``pytest.skip`` or ``importorskip``).
    """
    if not in_ci():
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if not skipped:
        return
    lines = [f"CI=true: {len(skipped)} skipped; CI must run everything:"]
    for report in skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        lines.append(f"  {report.nodeid}: {reason}")
    reporter.ensure_newline()
    reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto S3 server in its own process on loopback: real HTTP, no in-process patching.

    The AWS variables point every client (boto3, delta-rs, spawned workers) at it.
    """
    require("moto")
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + HANG_GUARD_S  # returns once it answers; fails if it exits
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the moto server did not start") from None
            time.sleep(0.1)
    saved = {k: os.environ.get(k) for k in [*MOTO_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(MOTO_ENV, AWS_ENDPOINT_URL=endpoint)
    try:
        yield endpoint
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_bucket(moto_server: str) -> str:
    """A fresh, empty bucket on the moto server; returns its name."""
    from snuk_assets.storage import s3_client

    name = f"snuk-test-{uuid.uuid4().hex[:12]}"
    s3_client().create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def storage_root(request, tmp_path) -> str:
    """A root URI for tables or raw files: a tmp folder, or a prefix in a moto S3 bucket."""
    if request.param == "local":
        return str(tmp_path / "root")
    bucket = request.getfixturevalue("s3_bucket")
    return f"s3://{bucket}/root"


@pytest.fixture(scope="session")
def small_registry():
    """Write the reference office cut down to some rooms: ``small_registry(path, rooms) -> str``."""

    def write(path, rooms: list[str]) -> str:
        document = yaml.safe_load(default_registry_path().read_text())
        document["rooms"] = [r for r in document["rooms"] if r["room_id"] in rooms]
        document["sensors"] = [s for s in document["sensors"] if s["room_id"] in rooms]
        path.write_text(yaml.safe_dump(document))
        return str(path)

    return write


@pytest.fixture
def sigkill_at_marker():
    """Wait until a subprocess (started with ``start_new_session=True``) writes ``marker``,
    then SIGKILL its whole process group; fails if it ends or ``timeout`` passes first."""

    def kill(process: subprocess.Popen, marker, *, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        try:
            while not marker.exists():
                assert process.poll() is None, "the process ended before writing its marker"
                assert time.monotonic() < deadline, "the marker never appeared"
                time.sleep(0.2)
            os.killpg(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)

    return kill
