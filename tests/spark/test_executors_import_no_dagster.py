"""Spark executors never import Dagster: they unpickle stage functions, and stages are plain."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyspark")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engines"))
import worker_probe  # noqa: E402
from test_workers_import_no_dagster import PROBE_SCHEMA, sensor_bins  # noqa: E402

from snuk_assets.engines import SparkEngine  # noqa: E402
from snuk_assets.stages.rooms import combine_room  # noqa: E402


def test_executors_run_a_stage_without_importing_dagster(spark):
    from pyspark import cloudpickle

    # The probe is a test module, not installed on the executors: it travels by value.
    cloudpickle.register_pickle_by_value(worker_probe)
    try:
        probe = functools.partial(
            worker_probe.loaded_modules, fn=functools.partial(combine_room, picture_freq="1h")
        )
        report = SparkEngine.on(spark).apply_per_group(
            sensor_bins(), key="room_id", fn=probe, output_schema=PROBE_SCHEMA
        )
    finally:
        cloudpickle.unregister_pickle_by_value(worker_probe)
    assert sorted(report["room_id"]) == ["A", "B"]
    assert not report["dagster"].any()
    assert not report["deltalake"].any()
