"""How the launcher reads EMR's step and cluster states, and what a failure tells the user.

moto keeps a step RUNNING (or PENDING) for ever and has no way to fail one, so the FAILED case
is a real ``describe_step`` answer from the moto server with its status changed, in a copy, to
what EMR returns for a failed step (``FailureDetails``). The cluster-ended case is real: the
moto cluster is terminated while its step still runs.
"""

import copy
import datetime as dt

import boto3
import pytest
from dagster import Failure

from snuk_assets.emr import EmrPipesLauncher, resample_step
from snuk_assets.emr.state import StepWatch, merge_configurations, step_is_done
from snuk_assets.settings import SnukSettings

pytestmark = pytest.mark.s3


@pytest.fixture
def cluster(s3_bucket) -> tuple[str, str]:
    """A moto cluster started from the launcher's own request, with one step; its ids."""
    launcher = EmrPipesLauncher(pipes_bucket=s3_bucket, code_uri=f"s3://{s3_bucket}/emr")
    settings = SnukSettings(landing_uri="", lakehouse_uri=f"s3://{s3_bucket}/lakehouse")
    step = resample_step(settings, [dt.date(2016, 6, 2)])
    request = launcher.job_flow_request(
        [launcher.step_request(step, {}, action_on_failure="TERMINATE_CLUSTER")]
    )
    emr = boto3.client("emr")
    cluster_id = emr.run_job_flow(**request)["JobFlowId"]
    [listed] = emr.list_steps(ClusterId=cluster_id)["Steps"]
    return cluster_id, listed["Id"]


def describe_step(cluster_id: str, step_id: str) -> dict:
    return boto3.client("emr").describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]


def test_a_running_step_is_not_done(cluster):
    cluster_id, step_id = cluster
    step = describe_step(cluster_id, step_id)
    assert step["Status"]["State"] == "RUNNING"
    assert step_is_done(step, cluster_id=cluster_id) is False
    completed = copy.deepcopy(step)
    completed["Status"]["State"] = "COMPLETED"
    assert step_is_done(completed, cluster_id=cluster_id) is True


def test_a_failed_step_fails_with_its_reason_message_and_log(cluster):
    cluster_id, step_id = cluster
    failed = copy.deepcopy(describe_step(cluster_id, step_id))
    failed["Status"]["State"] = "FAILED"
    failed["Status"]["FailureDetails"] = {
        "Reason": "Unknown Error.",
        "Message": "FileNotFoundError: no raw_observations table at s3://b/lakehouse",
        "LogFile": f"s3://b/logs/{cluster_id}/steps/{step_id}/stderr.gz",
    }

    with pytest.raises(Failure) as raised:
        step_is_done(failed, cluster_id=cluster_id, log_uri="s3://b/logs/")

    message = str(raised.value)
    assert f"({step_id}) on cluster {cluster_id} FAILED" in message
    assert "Unknown Error.: FileNotFoundError: no raw_observations table at s3://b/lakehouse" in (
        message
    )
    assert f"log: s3://b/logs/{cluster_id}/steps/{step_id}/stderr.gz" in message
    assert raised.value.metadata["reason"].value == "Unknown Error."


def test_a_cancelled_step_without_details_points_to_its_logs(cluster):
    cluster_id, step_id = cluster
    cancelled = copy.deepcopy(describe_step(cluster_id, step_id))
    cancelled["Status"]["State"] = "CANCELLED"

    with pytest.raises(Failure, match=f"CANCELLED; log: s3://b/logs/{cluster_id}/steps/{step_id}/"):
        step_is_done(cancelled, cluster_id=cluster_id, log_uri="s3://b/logs/")


def test_the_watch_fails_when_the_cluster_ends_before_its_step(cluster):
    cluster_id, step_id = cluster
    states = []
    watch = StepWatch(boto3.client("emr"), cluster_id, [step_id], log=states.append)
    assert watch.poll() is False  # the step is RUNNING on a live cluster
    assert watch.poll() is False
    assert len(states) == 2  # one line per state change, not per poll

    boto3.client("emr").terminate_job_flows(JobFlowIds=[cluster_id])

    with pytest.raises(Failure, match=f"cluster {cluster_id} is TERMINATED before steps"):
        watch.poll()
    assert states[-1].endswith("-> TERMINATED")


def test_configurations_merge_without_dropping_or_changing_either_side():
    ours = [{"Classification": "spark-defaults", "Properties": {"a": "1", "b": "2"}}]
    theirs = [
        {"Classification": "spark-defaults", "Properties": {"b": "3", "c": "4"}},
        {
            "Classification": "spark-env",
            "Configurations": [{"Classification": "export", "Properties": {"X": "1"}}],
        },
    ]
    before = copy.deepcopy((ours, theirs))

    merged = merge_configurations(ours, theirs)

    assert (ours, theirs) == before
    assert merged == [
        {"Classification": "spark-defaults", "Properties": {"a": "1", "b": "3", "c": "4"}},
        theirs[1],
    ]
