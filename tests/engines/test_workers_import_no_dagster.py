"""Worker processes never import Dagster: they unpickle stage functions, and stages are plain.

(The Spark executors' counterpart is ``tests/spark/test_executors_import_no_dagster.py``;
``lint-imports`` checks the same rule statically, in ``.importlinter``.)
"""

from __future__ import annotations

import datetime as dt
import functools
import os

import pandas as pd
import pyarrow as pa
import worker_probe

from snuk_assets.engines import LocalEngine
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.stages.rooms import combine_room

PROBE_SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("pid", pa.int64()),
        ("dagster", pa.bool_()),
        ("deltalake", pa.bool_()),
    ]
)


def sensor_bins() -> pd.DataFrame:
    bins = pd.date_range("2016-06-06", periods=3, freq="5min", tz="UTC")
    return pd.DataFrame(
        {
            "room_id": ["A"] * 3 + ["B"] * 3,
            "sensor_type": "motion",
            "bin_start": list(bins) * 2,
            "value": [0.0, 1.0, 0.5] * 2,
            "coverage": 1.0,
            "idle_minutes": 0.0,
            "date": [b.date() for b in bins] * 2,
        }
    )


def test_spawned_workers_run_a_stage_without_importing_dagster():
    probe = functools.partial(
        worker_probe.loaded_modules, fn=functools.partial(combine_room, picture_freq="1h")
    )
    report = LocalEngine(max_workers=2).apply_per_group(
        sensor_bins(), key="room_id", fn=probe, output_schema=PROBE_SCHEMA
    )
    assert list(report["room_id"]) == ["A", "B"]
    assert os.getpid() not in set(report["pid"])  # the groups ran in spawned workers
    assert not report["dagster"].any()
    assert not report["deltalake"].any()


def test_the_workers_of_a_stage_of_slow_groups_import_neither_dagster_nor_delta_rs(tmp_path):
    # The pool's workers are started by handing them a function: one from engines.local
    # would import the engine (a Dagster resource) and the lakehouse (delta-rs) in each.
    lakehouse = Lakehouse(str(tmp_path / "lakehouse"))
    day = dt.date(2016, 6, 6)
    rooms = pa.table({"room_id": ["A", "B", "C"], "date": [day] * 3})
    lakehouse.replace_partitions("rooms", rooms, dates=[day])
    LocalEngine(max_workers=2).transform_partitions(
        lakehouse,
        source="rooms",
        source_dates=[day],
        key="room_id",
        fn=worker_probe.dated_probe,  # not from this module, which imports the engine
        output_schema=PROBE_SCHEMA.append(pa.field("date", pa.date32())),
        target="probes",
        target_dates=[day],
        parallel=True,
    )
    report = lakehouse.read("probes").to_pandas()
    assert sorted(report["room_id"]) == ["A", "B", "C"]
    assert os.getpid() not in set(report["pid"])
    assert not report["dagster"].any()
    assert not report["deltalake"].any()
