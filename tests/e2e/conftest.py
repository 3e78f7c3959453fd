"""End-to-end fixtures: a real ``dagster dev`` (webserver + daemon) on a simulated building.

One server per test session (starting it and loading the code location takes ~20 s). Its
instance lives in a tmp ``DAGSTER_HOME`` holding a copy of the project's ``dagster.yaml``; the
landing zone and the lakehouse are tmp folders. The server runs in its own session; on teardown
every process of that session (and every descendant, should one have left the session) is
stopped by pid: SIGTERM, a short grace, then SIGKILL, and the fixture asserts none is left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ci_components import HANG_GUARD_S
from ports import free_port

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
START = dt.date(2016, 6, 1)
DAYS = 3
LOCATION = "snuk"
REPOSITORY = "__repository__"
STARTUP_TIMEOUT_S = HANG_GUARD_S

TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


# -- processes ------------------------------------------------------------------------------
def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, session id) of ``pid``, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1]), int(fields[3])


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _session_processes(leader: int) -> set[int]:
    """Live (non-zombie) processes of ``leader``'s session plus all its descendants."""
    stats = {pid: s for pid in _all_pids() if (s := _proc_stat(pid)) is not None}
    found = {pid for pid, (_, _, sid) in stats.items() if sid == leader}
    found.add(leader)
    grew = True
    while grew:  # descendants that may have called setsid themselves
        grew = False
        for pid, (_, ppid, _) in stats.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return {pid for pid in found if pid in stats and stats[pid][0] != "Z"}


def _signal_all(pids: set[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def stop_process_session(process: subprocess.Popen, grace_s: float = 5.0) -> set[int]:
    """Stop ``process`` (a session leader) and every process of its session; return survivors."""
    leader = process.pid
    seen = _session_processes(leader)
    _signal_all(seen, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        process.poll()
        seen |= _session_processes(leader) if process.returncode is None else set()
        if not {pid for pid in seen if _alive(pid)}:
            break
        time.sleep(0.2)
    # dagster dev's children ignore SIGTERM when backgrounded: SIGKILL whatever is left.
    for _ in range(3):
        left = {pid for pid in seen | _session_processes(leader) if _alive(pid)}
        if not left:
            break
        _signal_all(left, signal.SIGKILL)
        time.sleep(0.5)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)
    return {pid for pid in seen | _session_processes(leader) if _alive(pid)}


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] != "Z"


# -- the server -----------------------------------------------------------------------------
@dataclass
class DagsterServer:
    """A running ``dagster dev`` and the folders it works on."""

    url: str
    landing: Path
    lakehouse: Path
    truth: Path
    dagster_home: Path
    env: dict[str, str]
    log: Path
    runs_seen: list[str] = field(default_factory=list)

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def repository_selector(self) -> dict:
        return {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}

    def run_status(self, run_id: str) -> str:
        data = self.graphql(
            "query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status } } }",
            {"id": run_id},
        )
        return data["runOrError"].get("status", data["runOrError"]["__typename"])

    def wait_for_run(self, run_id: str, timeout_s: float = HANG_GUARD_S) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.run_status(run_id)
            if status in TERMINAL_RUN_STATUSES:
                return status
            time.sleep(1)
        raise AssertionError(f"run {run_id} not finished after {timeout_s} s: {status}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on UnauthorizedError { message }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
  }
}
"""


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _wait_until_loaded(server: DagsterServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"dagster dev exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            json.loads(_get(f"{server.url}/server_info"))
            nodes = server.graphql("{ assetNodes { assetKey { path } } }", timeout=10)
            if nodes["assetNodes"]:
                return
            last_error = "no asset nodes yet"
        except (OSError, urllib.error.URLError, AssertionError, ValueError) as error:
            last_error = error
        time.sleep(1)
    raise RuntimeError(
        f"dagster dev did not load the code location in {STARTUP_TIMEOUT_S} s "
        f"({last_error}):\n{server.log_tail()}"
    )


def _stop_sensors(server: DagsterServer) -> list[str]:
    """Stop every running sensor, so only the tests launch runs (deterministic, 2 cores)."""
    data = server.graphql(
        """query($repo: RepositorySelector!) {
             sensorsOrError(repositorySelector: $repo) {
               __typename
               ... on Sensors { results { name sensorState { id status } } }
             }
           }""",
        {"repo": server.repository_selector()},
    )
    stopped = []
    for sensor in data["sensorsOrError"]["results"]:
        if sensor["sensorState"]["status"] != "RUNNING":
            continue
        result = server.graphql(
            """mutation($id: String!) {
                 stopSensor(id: $id) {
                   __typename
                   ... on StopSensorMutationResult { instigationState { status } }
                   ... on PythonError { message }
                 }
               }""",
            {"id": sensor["sensorState"]["id"]},
        )["stopSensor"]
        assert result["__typename"] == "StopSensorMutationResult", result
        stopped.append(sensor["name"])
    return stopped


@pytest.fixture(scope="session")
def dagster_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterServer]:
    """``dagster dev`` on 3 simulated days of the reference office; yields the server."""
    from snuk_assets.registry import default_registry_path, load_registry
    from snuk_assets.simulate import simulate_building

    root = tmp_path_factory.mktemp("e2e")
    landing, lakehouse, truth, home = (root / n for n in ("landing", "lakehouse", "truth", "home"))
    for folder in (landing, lakehouse, truth, home):
        folder.mkdir()
    # dagster.yaml is read only from $DAGSTER_HOME.
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")

    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SNUK_LANDING_URI": str(landing),
        "SNUK_LAKEHOUSE_URI": str(lakehouse),
        "SNUK_START_DATE": START.isoformat(),
        "PYTHONUNBUFFERED": "1",
    }
    log = root / "dagster-dev.log"
    server = DagsterServer(
        url=f"http://127.0.0.1:{port}",
        landing=landing,
        lakehouse=lakehouse,
        truth=truth,
        dagster_home=home,
        env=env,
        log=log,
    )
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [
                str(VENV_BIN / "dagster"),
                "dev",
                "-w",
                str(REPO / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_loaded(server, process)
        # The landing sensor (running by default) would ingest the simulated days on its own
        # and the automation sensor follow up: stop them first, then write the landing zone.
        _stop_sensors(server)
        simulate_building(
            registry=load_registry(default_registry_path()),
            landing_uri=str(landing),
            truth_dir=str(truth),
            start=START,
            days=DAYS,
            seed=1,
        )
        yield server
    finally:
        left = stop_process_session(process)
        assert not left, f"dagster dev processes still running after teardown: {sorted(left)}"


@pytest.fixture(scope="session")
def sensors_materialized(dagster_server):
    """The registry table, materialized through GraphQL ``launchRun`` (it is unpartitioned)."""
    result = dagster_server.graphql(
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    **dagster_server.repository_selector(),
                    "jobName": "__ASSET_JOB",
                    "assetSelection": [{"path": ["sensors"]}],
                },
                "mode": "default",
            }
        },
    )["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    status = dagster_server.wait_for_run(run_id)
    assert status == "SUCCESS", f"sensors run {run_id}: {status}\n{dagster_server.log_tail()}"
    return run_id
