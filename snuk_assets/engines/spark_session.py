"""A SparkSession for SNUK: local (``local[2]``) on a laptop or CI, or a cluster's master.

The master comes from ``SNUK_SPARK_MASTER`` (default ``local[2]``). Sessions run in UTC so
timestamps and ``date`` partitions mean the same on the driver, the executors and in Delta.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from snuk_assets.environment import spark_master

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_MASTER = "local[2]"
# The tables are small per day; Spark's default of 200 shuffle partitions would be 200 tiny
# tasks (and 200 tiny files) per stage.
DEFAULT_SHUFFLE_PARTITIONS = 8


def spark_session(
    app_name: str = "snuk",
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """The active SparkSession, or a new one configured for SNUK.

    Parameters
    ----------
    app_name : str
        Shown in the cluster's application list.
    master : str, optional
        Spark master URL; default ``SNUK_SPARK_MASTER``, else ``local[2]``. Under
        ``spark-submit`` (EMR), with neither set, spark-submit's ``--master`` is kept.
    conf : mapping of str to str, optional
        Extra Spark settings, applied last.
    """
    from pyspark.sql import SparkSession

    master = master or spark_master() or None
    # spark-submit starts this interpreter with a gateway to its JVM, configured already.
    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = DEFAULT_MASTER
    if master and master.startswith("local"):
        # Local workers must run this interpreter (the venv with snuk_assets), not the
        # system python3 Spark would start otherwise. On EMR, spark-submit names the venv
        # the bootstrap action built (resources/emr/README.md).
        os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(DEFAULT_SHUFFLE_PARTITIONS))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.pyspark.fallback.enabled", "false")
    )
    if master:
        builder = builder.master(master)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
