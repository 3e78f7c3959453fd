"""The EMR launcher against a moto server on loopback: what it asks EMR for, read back from EMR.

moto accepts clusters and steps but never runs them (a step stays RUNNING or PENDING), so each
run here ends by the launcher's own ``timeout_seconds``, which terminates the cluster it created
or cancels the steps it added: the requests, the polling and the clean-up are all real HTTP.
The success path (steps that run, report through Pipes and complete): test_emr_success.py.
"""

import copy
import datetime as dt

import boto3
import pytest
from dagster import AssetExecutionContext, DagsterEventType, asset, materialize
from dagster_pipes import decode_param

from snuk_assets.emr import EmrPipesLauncher, resample_step
from snuk_assets.emr.cluster import NODE_PYTHON, NODE_REGISTRIES
from snuk_assets.settings import SnukSettings

pytestmark = pytest.mark.s3

DAYS = ["2016-06-02", "2016-06-03"]


def launcher(bucket: str, **overrides) -> EmrPipesLauncher:
    fields = {
        "pipes_bucket": bucket,
        "code_uri": f"s3://{bucket}/emr",
        "log_uri": f"s3://{bucket}/logs/",
        "release_label": "emr-7.5.0",
        "master_instance_type": "m5.xlarge",
        "core_instance_type": "r5.2xlarge",
        "core_instance_count": 3,
        "service_role": "snuk-emr-service",
        "job_flow_role": "snuk-emr-nodes",
        "tags": {"project": "snuk"},
        "poll_seconds": 0.1,
        "timeout_seconds": 1.0,
    }
    return EmrPipesLauncher(**(fields | overrides))


def run(launch) -> tuple[bool, list[str]]:
    """Materialize an asset whose body is ``launch(context)``; success and failure messages."""

    @asset
    def on_emr(context: AssetExecutionContext):
        yield from launch(context)

    result = materialize([on_emr], raise_on_error=False)
    failures = [
        event.step_failure_data.error.message
        for event in result.all_events
        if event.event_type == DagsterEventType.STEP_FAILURE
    ]
    return result.success, failures


def emr():
    return boto3.client("emr")


def steps(cluster_id: str) -> list[dict]:
    """The cluster's steps in the order they were submitted (list_steps is newest first)."""
    return list(reversed(emr().list_steps(ClusterId=cluster_id)["Steps"]))


def spark_submit_confs(step: dict) -> dict[str, str]:
    args = step["Config"]["Args"]
    return dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "--conf")


def test_run_job_flow_asks_for_the_cluster_the_steps_and_the_pipes_session(s3_bucket):
    spark_steps = [
        {"name": "resample", "script": "resample_tseries.py", "args": ["--start", DAYS[0]]},
        {"name": "train", "script": "train_occupancy.py", "args": ["--start", DAYS[1]]},
    ]
    params = {
        "Configurations": [
            {"Classification": "spark-defaults", "Properties": {"spark.executor.memory": "6g"}},
            {"Classification": "yarn-site", "Properties": {"yarn.log-aggregation-enable": "true"}},
        ],
        "Tags": [{"Key": "team", "Value": "facilities"}],
        "StepConcurrencyLevel": 1,
    }
    steps_before, params_before = copy.deepcopy(spark_steps), copy.deepcopy(params)
    emr_launcher = launcher(s3_bucket)

    success, failures = run(lambda ctx: emr_launcher.run_job_flow(ctx, spark_steps, params=params))

    # Never changed what it was given (dagster issue 27526).
    assert spark_steps == steps_before and params == params_before
    # moto never finishes a step: the launcher's own timeout ended the run and the cluster.
    assert not success and "still running after 1.0 s" in failures[0]
    [summary] = emr().list_clusters()["Clusters"]
    cluster = emr().describe_cluster(ClusterId=summary["Id"])["Cluster"]
    assert cluster["Status"]["State"] == "TERMINATED"
    assert cluster["Name"] == "snuk" and cluster["ReleaseLabel"] == "emr-7.5.0"
    assert [app["Name"] for app in cluster["Applications"]] == ["Spark"]
    assert cluster["LogUri"] == f"s3://{s3_bucket}/logs/"
    assert cluster["ServiceRole"] == "snuk-emr-service"
    assert cluster["Ec2InstanceAttributes"]["IamInstanceProfile"] == "snuk-emr-nodes"
    assert cluster["AutoTerminate"] is True
    groups = emr().list_instance_groups(ClusterId=summary["Id"])["InstanceGroups"]
    sizes = [
        (g["InstanceGroupType"], g["InstanceType"], g["RequestedInstanceCount"]) for g in groups
    ]
    assert sorted(sizes) == [
        ("CORE", "r5.2xlarge", 3),
        ("MASTER", "m5.xlarge", 1),
    ]
    tags = {tag["Key"]: tag["Value"] for tag in cluster["Tags"]}
    assert tags["project"] == "snuk" and tags["team"] == "facilities"
    assert {"dagster/run-id", "dagster/job"} <= set(tags)  # which run started it
    # The caller's spark-defaults keep their settings beside SNUK's; the rest is kept as given.
    configurations = {c["Classification"]: c for c in cluster["Configurations"]}
    assert configurations["spark-defaults"]["Properties"] == {
        "spark.executor.memory": "6g",
        "spark.pyspark.python": NODE_PYTHON,
        "spark.pyspark.driver.python": NODE_PYTHON,
        "spark.sql.session.timeZone": "UTC",
    }
    assert configurations["yarn-site"] == params["Configurations"][1]
    [bootstrap] = emr().list_bootstrap_actions(ClusterId=summary["Id"])["BootstrapActions"]
    assert bootstrap["ScriptPath"] == f"s3://{s3_bucket}/emr/install_snuk.sh"
    assert bootstrap["Args"] == [
        f"s3://{s3_bucket}/emr/snuk_assets-0.1.0-py3-none-any.whl",
        f"s3://{s3_bucket}/emr/constraints.txt",
        f"s3://{s3_bucket}/emr/reference_office.yaml",
    ]
    resample, train = steps(summary["Id"])
    assert [resample["Name"], train["Name"]] == ["resample", "train"]
    assert {resample["ActionOnFailure"], train["ActionOnFailure"]} == {"TERMINATE_CLUSTER"}
    assert resample["Config"]["Jar"] == "command-runner.jar"
    args = resample["Config"]["Args"]
    assert args[:5] == ["spark-submit", "--master", "yarn", "--deploy-mode", "cluster"]
    assert args[-3:] == [f"s3://{s3_bucket}/emr/resample_tseries.py", "--start", DAYS[0]]
    assert train["Config"]["Args"][-3:] == [
        f"s3://{s3_bucket}/emr/train_occupancy.py",
        "--start",
        DAYS[1],
    ]
    # Each step its own Pipes session, on the Pipes bucket below pipes/.
    sessions = []
    for step in (resample, train):
        confs = spark_submit_confs(step)
        assert confs["spark.pyspark.python"] == NODE_PYTHON
        context = decode_param(confs["spark.yarn.appMasterEnv.DAGSTER_PIPES_CONTEXT"])
        messages = decode_param(confs["spark.yarn.appMasterEnv.DAGSTER_PIPES_MESSAGES"])
        assert context["bucket"] == messages["bucket"] == s3_bucket
        assert context["key"].startswith("pipes/") and messages["key_prefix"].startswith("pipes/")
        assert messages["include_stdio_in_messages"] is True
        sessions.append(messages["key_prefix"])
    assert sessions[0] != sessions[1]


def test_add_steps_runs_on_a_running_cluster_and_cancels_them_on_timeout(s3_bucket):
    cluster_id = emr().run_job_flow(
        Name="running",
        ReleaseLabel="emr-7.5.0",
        Instances={
            "MasterInstanceType": "m5.xlarge",
            "InstanceCount": 1,
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
    )["JobFlowId"]
    settings = SnukSettings(
        landing_uri="s3://lake", lakehouse_uri="s3://lake/house", registry_path="/opt/snuk/b.yaml"
    )
    step = resample_step(settings, [dt.date(2016, 6, 2)])
    emr_launcher = launcher(s3_bucket)

    success, failures = run(lambda ctx: emr_launcher.add_steps(ctx, cluster_id, [step]))

    assert not success and "still running after 1.0 s" in failures[0]
    [added] = steps(cluster_id)
    assert added["Name"] == step.name and added["ActionOnFailure"] == "CANCEL_AND_WAIT"
    assert added["Config"]["Args"][-len(step.args) :] == list(step.args)
    assert "spark.yarn.appMasterEnv.DAGSTER_PIPES_CONTEXT" in spark_submit_confs(added)
    # The cluster was running before and is left running: only the steps were the run's.
    state = emr().describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
    assert state not in {"TERMINATING", "TERMINATED"}


def test_a_portfolio_step_reads_the_registries_folder_shipped_to_the_nodes(s3_bucket, tmp_path):
    registries = tmp_path / "registries"
    registries.mkdir()
    for building in ("b1", "b2"):
        (registries / f"{building}.yaml").write_text(f"building_id: {building}\n")
    settings = SnukSettings(
        landing_uri="s3://lake", lakehouse_uri="s3://lake/house", registries_path=str(registries)
    ).for_building("b2")
    days = [dt.date(2016, 6, 2)]
    before = {cluster["Id"] for cluster in emr().list_clusters()["Clusters"]}

    # Without a folder to ship, the run fails before any cluster starts, naming the field.
    success, failures = run(
        lambda ctx: launcher(s3_bucket).run_stage(ctx, "resample", settings, days)
    )
    assert not success and "registries field" in failures[0] and str(registries) in failures[0]
    assert {cluster["Id"] for cluster in emr().list_clusters()["Clusters"]} == before

    emr_launcher = launcher(s3_bucket, registries="portfolio/registries/")
    success, failures = run(lambda ctx: emr_launcher.run_stage(ctx, "resample", settings, days))

    assert not success and "still running after 1.0 s" in failures[0]
    [cluster_id] = {cluster["Id"] for cluster in emr().list_clusters()["Clusters"]} - before
    [bootstrap] = emr().list_bootstrap_actions(ClusterId=cluster_id)["BootstrapActions"]
    assert bootstrap["Args"][-1] == f"s3://{s3_bucket}/emr/portfolio/registries/"
    [step] = steps(cluster_id)
    args = step["Config"]["Args"]
    on_node = SnukSettings.from_json(args[args.index("--settings") + 1])
    assert on_node.registries_path == NODE_REGISTRIES and on_node.registry_path == ""
    assert on_node.building == "b2"
    assert on_node.values() == settings.replaced(registries_path=NODE_REGISTRIES).values()
