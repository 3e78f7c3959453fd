"""One local SparkSession for every Spark test: starting a JVM takes seconds."""

from __future__ import annotations

import pytest
from ci_components import require

# Under CI=true a missing pyspark or Java fails the run by name; elsewhere the folder skips.
require("pyspark")
require("java", why="PySpark 4 needs Java 17")


@pytest.fixture(scope="session")
def spark(moto_server):
    # Executors take AWS credentials from their own environment, never from the task
    # (snuk_assets/engines/delta_io.executor_s3_options); in local mode that is the driver's
    # environment when the JVM starts, so the moto server's variables are set before it.
    from snuk_assets.engines.spark_session import spark_session

    session = spark_session("snuk-tests", master="local[2]")
    yield session
    session.stop()
