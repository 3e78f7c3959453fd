"""One local SparkSession for every Spark test: starting a JVM takes seconds."""

from __future__ import annotations

import pytest

pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark():
    from snuk_assets.engines.spark_session import spark_session

    session = spark_session("snuk-tests", master="local[2]")
    yield session
    session.stop()
