"""The Spark step launcher chosen from environment variables, read once where definitions are built.

=============================  ==============================  ================================
variable                       default                         meaning
=============================  ==============================  ================================
``SNUK_SPARK_LAUNCHER``        ``local``                       ``local`` (spark-submit here) or
                                                               ``emr`` (a new cluster per run)
``SNUK_PIPES_BUCKET``          (required)                      bucket for Pipes (``pipes/``)
``SNUK_EMR_CODE_URI``          ``s3://<pipes bucket>/emr``     bootstrap action, entry points,
                                                               wheel, constraints, registry
``SNUK_EMR_LOG_URI``           ``s3://<pipes bucket>/logs/``   the clusters' logs
``SNUK_EMR_RELEASE_LABEL``     ``emr-7.5.0``                   EMR release
``SNUK_EMR_INSTANCE_TYPE``     ``m5.xlarge``                   primary and core nodes
``SNUK_EMR_CORE_INSTANCES``    ``2``                           core nodes
``SNUK_EMR_SERVICE_ROLE``      ``EMR_DefaultRole``             EMR service role
``SNUK_EMR_INSTANCE_PROFILE``  ``EMR_EC2_DefaultRole``         the nodes' instance profile
``SNUK_EMR_SUBNET_ID``         (default VPC)                   subnet of the cluster
``SNUK_EMR_REGISTRIES``        (none)                          a portfolio's registries folder
                                                               in the code URI (``registries``)
=============================  ==============================  ================================
"""

import os
from collections.abc import Mapping

from snuk_assets.emr.cluster import EmrPipesLauncher
from snuk_assets.emr.launcher import SparkStepLauncher
from snuk_assets.emr.local import LocalSparkSubmitLauncher

LAUNCHERS = ("local", "emr")


def spark_launcher_from_env(environ: Mapping[str, str] | None = None) -> SparkStepLauncher:
    """The launcher named by ``SNUK_SPARK_LAUNCHER``, configured from the variables above."""
    env = os.environ if environ is None else environ
    kind = env.get("SNUK_SPARK_LAUNCHER", "local")
    if kind not in LAUNCHERS:
        raise ValueError(f"SNUK_SPARK_LAUNCHER={kind!r}: expected one of {', '.join(LAUNCHERS)}")
    bucket = env.get("SNUK_PIPES_BUCKET", "")
    if not bucket:
        raise ValueError(
            "SNUK_PIPES_BUCKET is not set: name the S3 bucket for the Dagster Pipes context "
            "and messages (the launchers write below pipes/)"
        )
    if kind == "local":
        return LocalSparkSubmitLauncher(pipes_bucket=bucket)
    instance_type = env.get("SNUK_EMR_INSTANCE_TYPE", "m5.xlarge")
    return EmrPipesLauncher(
        pipes_bucket=bucket,
        code_uri=env.get("SNUK_EMR_CODE_URI", f"s3://{bucket}/emr"),
        log_uri=env.get("SNUK_EMR_LOG_URI", f"s3://{bucket}/logs/"),
        release_label=env.get("SNUK_EMR_RELEASE_LABEL", "emr-7.5.0"),
        master_instance_type=instance_type,
        core_instance_type=instance_type,
        core_instance_count=int(env.get("SNUK_EMR_CORE_INSTANCES", "2")),
        service_role=env.get("SNUK_EMR_SERVICE_ROLE", "EMR_DefaultRole"),
        job_flow_role=env.get("SNUK_EMR_INSTANCE_PROFILE", "EMR_EC2_DefaultRole"),
        subnet_id=env.get("SNUK_EMR_SUBNET_ID", ""),
        registries=env.get("SNUK_EMR_REGISTRIES", ""),
        tags={"project": "snuk"},
    )
