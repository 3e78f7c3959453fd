"""The EMR steps on an EMR cluster: a new one per run (``run_job_flow``) or a running one.

Unlike dagster-aws's ``PipesEMRClient``, this launcher polls without its 30-minute waiter cap
(dagster issue 27469), never changes the parameters it is given (issue 27526), merges its
settings into the caller's ``spark-defaults`` instead of dropping them, gives each step its
own Pipes variables, and fails the asset with the failed step's own reason.
"""

import copy
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetExecutionContext,
    DagsterExecutionInterruptedError,
    Failure,
    OpExecutionContext,
    PipesExecutionResult,
    PipesSession,
)
from pydantic import Field

from snuk_assets.emr.launcher import SparkStepLauncher, StepLike, reported_results
from snuk_assets.emr.state import StepWatch, merge_configurations
from snuk_assets.emr.steps import SparkStep, spark_submit_args
from snuk_assets.settings import SnukSettings

# Where install_snuk.sh puts SNUK's venv, the building registry and a portfolio's registries
# folder on every node.
NODE_PYTHON = "/opt/snuk/venv/bin/python"
NODE_REGISTRY = "/opt/snuk/building.yaml"
NODE_REGISTRIES = "/opt/snuk/registries"


class EmrPipesLauncher(SparkStepLauncher):
    """Runs the steps on EMR with Pipes: a new cluster per run, or steps on a running cluster."""

    region: str = Field(default="", description="AWS region; empty: the AWS_REGION chain.")
    cluster_name: str = Field(default="snuk", description="Name of the clusters it creates.")
    release_label: str = Field(default="emr-7.5.0", description="EMR release (Spark 3.5).")
    master_instance_type: str = Field(default="m5.xlarge")
    core_instance_type: str = Field(default="m5.xlarge")
    core_instance_count: int = Field(default=2, ge=0)
    subnet_id: str = Field(default="", description="Ec2SubnetId; empty: the default VPC.")
    service_role: str = Field(default="EMR_DefaultRole", description="EMR service role.")
    job_flow_role: str = Field(
        default="EMR_EC2_DefaultRole", description="EC2 instance profile of the nodes."
    )
    log_uri: str = Field(default="", description="s3://bucket/logs/ for the cluster's logs.")
    code_uri: str = Field(
        description="s3://bucket/emr: install_snuk.sh, the entry points, the wheel, "
        "constraints.txt and the building registry (or a portfolio's registries folder)."
    )
    wheel: str = Field(default="snuk_assets-0.1.0-py3-none-any.whl", description="in code_uri")
    constraints: str = Field(default="constraints.txt", description="in code_uri; empty: none")
    registry: str = Field(default="reference_office.yaml", description="in code_uri")
    registries: str = Field(
        default="",
        description="A folder in code_uri holding a portfolio's registries (SNUK_REGISTRIES's "
        "files, uploaded as they are); empty: a deployment of one building (registry).",
    )
    tags: dict[str, str] = Field(default={}, description="Tags on every cluster it creates.")
    poll_seconds: float = Field(default=30, description="Seconds between step status checks.")
    timeout_seconds: float | None = Field(
        default=None,
        description="Give up (terminate the cluster, or cancel the added steps) after this "
        "long; none: wait as long as the steps run.",
    )

    def run_steps(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        steps: Sequence[StepLike],
    ) -> Iterator[PipesExecutionResult]:
        return self.run_job_flow(context, steps)

    def step_settings(self, settings: SnukSettings) -> SnukSettings:
        """The registry file or a portfolio's registries folder where install_snuk.sh put them
        on the nodes (a step of a portfolio is one building's: ``settings.building``)."""
        if not settings.registries_path:
            return settings.replaced(registry_path=NODE_REGISTRY)
        if not self.registries:
            raise Failure(
                f"SNUK_REGISTRIES is a folder of registries ({settings.registries_path}), but "
                "the EMR launcher ships none to the nodes: upload the folder below code_uri "
                f"({self.code_uri}) and name it in the launcher's registries field "
                "(SNUK_EMR_REGISTRIES=registries for s3://.../emr/registries/)"
            )
        return settings.replaced(registries_path=NODE_REGISTRIES)

    def check_lakehouse(self, uri: str) -> None:
        if not uri.startswith("s3://"):
            raise Failure(
                f"the lakehouse {uri!r} is not on S3: EMR nodes cannot read it; set "
                "SNUK_LAKEHOUSE_URI=s3://BUCKET/lakehouse"
            )

    # -- requests ---------------------------------------------------------------------------

    def step_request(
        self, step: SparkStep, pipes_env: Mapping[str, str], *, action_on_failure: str
    ) -> dict[str, Any]:
        """The EMR step that spark-submits ``step`` in YARN cluster mode."""
        args = spark_submit_args(
            step,
            script=f"{self.code_uri.rstrip('/')}/{step.script}",
            python=NODE_PYTHON,
            driver_env=pipes_env,
            submit_options=["--master", "yarn", "--deploy-mode", "cluster"],
        )
        return {
            "Name": step.name,
            "ActionOnFailure": action_on_failure,
            "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", *args]},
        }

    def job_flow_request(
        self,
        step_requests: Sequence[Mapping[str, Any]],
        *,
        params: Mapping[str, Any] | None = None,
        run_tags: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``run_job_flow``'s parameters: the launcher's, then the caller's ``params`` on top.

        The caller's ``Configurations`` are merged with SNUK's (theirs win per property), their
        ``Tags`` and ``BootstrapActions`` come after SNUK's, their ``Steps`` before SNUK's.
        """
        extra = copy.deepcopy(dict(params or {}))
        code = self.code_uri.rstrip("/")
        install_args = [f"{code}/{self.wheel}"]
        install_args.append(f"{code}/{self.constraints}" if self.constraints else "")
        install_args.append(f"{code}/{self.registry}")
        if self.registries:
            install_args.append(f"{code}/{self.registries.strip('/')}/")
        instances = {
            "InstanceGroups": [
                _instance_group("primary", "MASTER", self.master_instance_type, 1),
                *(
                    [_instance_group("core", "CORE", self.core_instance_type, count)]
                    if (count := self.core_instance_count)
                    else []
                ),
            ],
            # The cluster ends with its last step: nothing idles after a run.
            "KeepJobFlowAliveWhenNoSteps": False,
            "TerminationProtected": False,
            **({"Ec2SubnetId": self.subnet_id} if self.subnet_id else {}),
            **extra.pop("Instances", {}),
        }
        tags = {**self.tags, **(run_tags or {})}
        request = {
            "Name": self.cluster_name,
            "ReleaseLabel": self.release_label,
            "Applications": [{"Name": "Spark"}],
            "Instances": instances,
            "BootstrapActions": [
                {
                    "Name": "install snuk",
                    "ScriptBootstrapAction": {
                        "Path": f"{code}/install_snuk.sh",
                        "Args": install_args,
                    },
                },
                *extra.pop("BootstrapActions", []),
            ],
            "Steps": [*extra.pop("Steps", []), *copy.deepcopy(list(step_requests))],
            "Configurations": merge_configurations(
                _snuk_configurations(), extra.pop("Configurations", [])
            ),
            "Tags": [
                *({"Key": key, "Value": value} for key, value in tags.items()),
                *extra.pop("Tags", []),
            ],
            "ServiceRole": self.service_role,
            "JobFlowRole": self.job_flow_role,
            "VisibleToAllUsers": True,
            **({"LogUri": self.log_uri} if self.log_uri else {}),
        }
        return {**request, **extra}

    # -- runs -------------------------------------------------------------------------------

    def run_job_flow(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        steps: Sequence[StepLike],
        *,
        params: Mapping[str, Any] | None = None,
    ) -> Iterator[PipesExecutionResult]:
        """Start a cluster that installs SNUK, runs ``steps`` in order and terminates; yield
        what the steps reported. ``params``: more ``run_job_flow`` parameters (never changed)."""
        spark_steps = [SparkStep.of(step) for step in steps]
        emr = self._client()
        with self.pipes_sessions(context, spark_steps) as sessions:
            requests = self._step_requests(spark_steps, sessions, "TERMINATE_CLUSTER")
            run_tags = sessions[0].default_remote_invocation_info
            request = self.job_flow_request(requests, params=params, run_tags=run_tags)
            cluster_id = emr.run_job_flow(**request)["JobFlowId"]
            context.log.info(f"EMR cluster {cluster_id} started: {len(requests)} steps")
            # list_steps is newest first; ours are the last ones of the request.
            listed = list(reversed(emr.list_steps(ClusterId=cluster_id)["Steps"]))
            step_ids = [step["Id"] for step in listed[-len(requests) :]]
            self._watch(context, emr, cluster_id, step_ids, on_stop=_terminate)
        yield from reported_results(sessions)

    def add_steps(
        self,
        context: AssetExecutionContext | OpExecutionContext,
        cluster_id: str,
        steps: Sequence[StepLike],
    ) -> Iterator[PipesExecutionResult]:
        """Add ``steps`` to a running cluster (SNUK already installed by its bootstrap action),
        wait for them and yield what they reported; a failed step cancels the ones after it."""
        spark_steps = [SparkStep.of(step) for step in steps]
        emr = self._client()
        with self.pipes_sessions(context, spark_steps) as sessions:
            requests = self._step_requests(spark_steps, sessions, "CANCEL_AND_WAIT")
            step_ids = emr.add_job_flow_steps(JobFlowId=cluster_id, Steps=requests)["StepIds"]
            context.log.info(f"{len(step_ids)} steps added to EMR cluster {cluster_id}")
            self._watch(context, emr, cluster_id, step_ids, on_stop=_cancel)
        yield from reported_results(sessions)

    def _step_requests(
        self, steps: Sequence[SparkStep], sessions: Sequence[PipesSession], action_on_failure: str
    ) -> list[dict[str, Any]]:
        if not steps:
            raise ValueError("no Spark steps to run: pass at least one")
        return [
            self.step_request(
                step, session.get_bootstrap_env_vars(), action_on_failure=action_on_failure
            )
            for step, session in zip(steps, sessions, strict=True)
        ]

    def _watch(self, context, emr, cluster_id: str, step_ids: Sequence[str], *, on_stop) -> None:
        """Poll until every step completed; on failure, timeout or interrupt, stop the rest."""
        watch = StepWatch(
            emr,
            cluster_id,
            step_ids,
            log=context.log.info,
            log_uri=self.log_uri,
        )
        deadline = None if self.timeout_seconds is None else time.monotonic() + self.timeout_seconds
        try:
            while not watch.poll():
                if deadline is not None and time.monotonic() > deadline:
                    raise Failure(
                        f"EMR steps on cluster {cluster_id} still running after "
                        f"{self.timeout_seconds} s (timeout_seconds): {watch.describe_states()}"
                    )
                time.sleep(self.poll_seconds)
        except (Failure, DagsterExecutionInterruptedError):
            on_stop(context, emr, cluster_id, step_ids)
            raise

    def _region(self) -> str:
        return (
            self.region
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        )

    def _client(self):
        import boto3

        return boto3.client("emr", region_name=self._region())


def _instance_group(name: str, role: str, instance_type: str, count: int) -> dict[str, Any]:
    return {
        "Name": name,
        "InstanceRole": role,
        "Market": "ON_DEMAND",
        "InstanceType": instance_type,
        "InstanceCount": count,
    }


def _snuk_configurations() -> list[dict[str, Any]]:
    # The venv for every PySpark process, also for a spark-submit typed by hand on the
    # primary node; UTC like spark_session().
    return [
        {
            "Classification": "spark-defaults",
            "Properties": {
                "spark.pyspark.python": NODE_PYTHON,
                "spark.pyspark.driver.python": NODE_PYTHON,
                "spark.sql.session.timeZone": "UTC",
            },
        },
        {
            "Classification": "spark-env",
            "Configurations": [
                {"Classification": "export", "Properties": {"PYSPARK_PYTHON": NODE_PYTHON}}
            ],
        },
    ]


def _terminate(context, emr, cluster_id: str, step_ids: Sequence[str]) -> None:
    context.log.warning(f"terminating EMR cluster {cluster_id}")
    emr.terminate_job_flows(JobFlowIds=[cluster_id])


def _cancel(context, emr, cluster_id: str, step_ids: Sequence[str]) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    context.log.warning(f"cancelling steps {list(step_ids)} on EMR cluster {cluster_id}")
    try:
        emr.cancel_steps(ClusterId=cluster_id, StepIds=list(step_ids))
    except (BotoCoreError, ClientError) as error:
        context.log.warning(
            f"could not cancel the steps ({error}): cancel them with `aws emr cancel-steps "
            f"--cluster-id {cluster_id} --step-ids {' '.join(step_ids)}`"
        )
