"""One local SparkSession for every Spark test: starting a JVM takes seconds."""

from __future__ import annotations

import pytest
from ci_components import require

# Under CI=true a missing pyspark or Java fails the run by name; elsewhere the folder skips.
require("pyspark")
require("java", why="PySpark 4 needs Java 17")


@pytest.fixture(scope="session")
def spark():
    from snuk_assets.engines.spark_session import spark_session

    session = spark_session("snuk-tests", master="local[2]")
    yield session
    session.stop()
