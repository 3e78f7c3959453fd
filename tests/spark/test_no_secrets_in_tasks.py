"""No AWS credential travels inside a Spark task: executors use their own environment.

Every task function Spark ships is serialized by PySpark's ``CloudPickleSerializer``; the test
records those bytes (passing them through unchanged) while a real read and write of an S3
table on the moto server run, with a marked secret in the driver's environment.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from snuk_assets.engines.delta_io import read_partitions, replace_partitions
from snuk_assets.engines.spark_arrow import arrow_to_spark, spark_to_arrow
from snuk_assets.lakehouse import Lakehouse

DAY = dt.date(2016, 6, 1)
SECRET = "SECRET-MARKER-do-not-ship-3f9a"
KEY_ID = "KEYID-MARKER-7c21"


@pytest.fixture
def recorded_tasks(monkeypatch):
    from pyspark import serializers

    blobs: list[bytes] = []
    dumps = serializers.CloudPickleSerializer.dumps

    def recording(self, obj):
        blob = dumps(self, obj)
        blobs.append(blob)
        return blob

    monkeypatch.setattr(serializers.CloudPickleSerializer, "dumps", recording)
    return blobs


def test_s3_tasks_carry_the_endpoint_but_no_credential(
    spark, s3_bucket, monkeypatch, recorded_tasks
):
    # The driver's credentials (moto accepts any); the executors keep the JVM's.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRET + "-token")
    lakehouse = Lakehouse(f"s3://{s3_bucket}/lake")
    assert lakehouse.storage_options["AWS_SECRET_ACCESS_KEY"] == SECRET  # the driver has it
    schema = pa.schema([("sensor_id", pa.string()), ("value", pa.float64()), ("date", pa.date32())])
    data = pa.table(
        {"sensor_id": ["a", "b"], "value": [1.0, 2.0], "date": [DAY, DAY]}, schema=schema
    )
    replace_partitions(arrow_to_spark(spark, data), lakehouse, "t", dates=[DAY], schema=schema)
    back = spark_to_arrow(read_partitions(spark, lakehouse, "t"))
    assert sorted(back.column("sensor_id").to_pylist()) == ["a", "b"]
    shipped = b"".join(recorded_tasks)
    assert lakehouse.storage_options["AWS_ENDPOINT_URL"].encode() in shipped  # the right tasks
    assert SECRET.encode() not in shipped
    assert KEY_ID.encode() not in shipped
