"""The EMR launcher's success path: steps that run, report through Pipes on S3, and complete.

moto (5.2) accepts clusters and steps but has no lifecycle for them: a cluster is WAITING (or
TERMINATED once asked), its first step RUNNING and the others PENDING, forever; its state
manager covers no EMR model. So the test plays EMR's part, through the moto backend of a moto
server running in this process (``ThreadedMotoServer``: the launcher still talks real HTTP on
loopback): for each step in order it starts the step (RUNNING), runs the step's process, a
real Python process with the Pipes environment the launcher put in the step's spark-submit
``--conf``, which reports a materialization to S3, then marks the step COMPLETED; after the
last one the cluster terminates, as an auto-terminating cluster does.
"""

import os
import subprocess
import sys
import threading
import time

import boto3
import pytest
from ci_components import HANG_GUARD_S, require
from dagster import AssetExecutionContext, AssetKey, DagsterInstance, asset, materialize

from snuk_assets.emr import EmrPipesLauncher

pytestmark = pytest.mark.s3

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
STEP_PROCESS = """
import os
import boto3
from dagster_pipes import PipesS3ContextLoader, PipesS3MessageWriter, open_dagster_pipes

s3 = boto3.client("s3")
with open_dagster_pipes(
    context_loader=PipesS3ContextLoader(client=s3),
    message_writer=PipesS3MessageWriter(client=s3, interval=0.1),
) as pipes:
    pipes.log.info("step " + os.environ["STEP_NAME"] + " running")
    # The step named after the asset writes it (as the entry points do); the other one only logs.
    if os.environ["STEP_NAME"] == pipes.asset_key == os.environ["STEP_ASSET"]:
        pipes.report_asset_materialization(metadata={"step": os.environ["STEP_NAME"], "rows": 42})
"""


@pytest.fixture
def emr_moto(tmp_path, monkeypatch):
    """A moto server in this process (its EMR backend reachable) and a bucket on it."""
    require("moto")
    from moto.emr.models import emr_backends
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    bucket = "snuk-emr-success"
    boto3.client("s3").create_bucket(Bucket=bucket)
    try:
        yield bucket, emr_backends[ACCOUNT][REGION]
    finally:
        server.stop()


def spark_submit_env(step) -> dict[str, str]:
    """The driver's environment the launcher asked for (spark.yarn.appMasterEnv.*)."""
    args = step.args
    prefix = "spark.yarn.appMasterEnv."
    confs = [args[i + 1] for i, arg in enumerate(args) if arg == "--conf"]
    return {
        key.removeprefix(prefix): value
        for key, value in (conf.split("=", 1) for conf in confs)
        if key.startswith(prefix)
    }


def play_emr(backend, asset_name: str, errors: list, done: threading.Event) -> None:
    """Wait for the launcher's cluster, then run and complete its steps in order."""
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while not backend.clusters and time.monotonic() < deadline:
            time.sleep(0.05)
        [cluster] = backend.clusters.values()
        for step in cluster.steps:
            step.state = "RUNNING"
            env = {
                **os.environ,
                **spark_submit_env(step),
                "STEP_NAME": step.name,
                "STEP_ASSET": asset_name,
            }
            subprocess.run(
                [sys.executable, "-c", STEP_PROCESS], env=env, check=True, timeout=HANG_GUARD_S
            )
            step.state = "COMPLETED"
        cluster.state = "TERMINATED"
    except Exception as error:  # noqa: BLE001 - reported by the test below
        errors.append(error)
    finally:
        done.set()


def test_run_job_flow_yields_what_the_steps_reported_once_they_completed(emr_moto):
    bucket, backend = emr_moto
    launcher = EmrPipesLauncher(
        pipes_bucket=bucket,
        code_uri=f"s3://{bucket}/emr",
        log_uri=f"s3://{bucket}/logs/",
        poll_seconds=0.1,
        pipes_poll_seconds=0.1,
        timeout_seconds=HANG_GUARD_S,  # a hang guard: the run ends when the steps do
    )
    steps = [
        {"name": "prepare", "script": "resample_tseries.py", "args": ["--start", "2016-06-02"]},
        {"name": "on_emr", "script": "train_occupancy.py", "args": ["--start", "2016-06-02"]},
    ]

    @asset
    def on_emr(context: AssetExecutionContext):
        yield from launcher.run_job_flow(context, steps)

    errors: list = []
    done = threading.Event()
    emr_side = threading.Thread(target=play_emr, args=(backend, "on_emr", errors, done))
    emr_side.start()
    instance = DagsterInstance.ephemeral()
    result = materialize([on_emr], instance=instance, raise_on_error=False)
    assert done.wait(HANG_GUARD_S)
    emr_side.join()
    assert not errors, errors
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    # Both steps ran; the materialization is the one a step reported, with its metadata.
    [materialization] = result.asset_materializations_for_node("on_emr")
    assert materialization.asset_key == AssetKey("on_emr")
    assert materialization.metadata["rows"].value == 42
    assert materialization.metadata["step"].value == "on_emr"
    [cluster] = backend.clusters.values()
    assert [step.state for step in cluster.steps] == ["COMPLETED", "COMPLETED"]
    # The launcher logged the state changes it saw, and the steps' own log lines came back.
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert sum("-> COMPLETED" in m for m in logs) == 2, logs
    assert any("step prepare running" in m for m in logs)
    assert any("step on_emr running" in m for m in logs)
