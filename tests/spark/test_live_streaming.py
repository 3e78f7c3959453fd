"""The live step under Spark Structured Streaming (local mode) against the live step itself.

The live tests' building (tests/live/live_building.py) is trained through the batch pipeline;
then a simulated morning of its parity day lands as gateway files in a landing zone of its own,
in two steps, with the query stopped and restarted from its checkpoint between them. The
streaming query's forecasts must be those of one ``live_step`` over the same observations, and
no file may be read twice.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from deltalake import DeltaTable

# The live tests' helpers, imported from their folder (tests/ is on sys.path: tests/conftest.py).
from live.live_building import DAYS, MODEL_DAY, PARITY_DAY, ROOMS, START, arrivals, write_on_time
from live.live_building import simulated_observations as simulate
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.landing import day_folder
from snuk_assets.live.outputs import TABLE
from snuk_assets.live.step import BuildingState, building_config, live_step
from snuk_assets.live.streaming import STATE_DIR, LiveStream
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings

DAY = pd.Timestamp(PARITY_DAY, tz="UTC")
MORNING = (DAY + pd.Timedelta(hours=5), DAY + pd.Timedelta(hours=10))
FILE_SPAN = pd.Timedelta(minutes=30)  # one gateway upload per half hour
TOL = 1e-9


@pytest.fixture(scope="module")
def building(tmp_path_factory, small_registry):
    """Trained models in a lakehouse; the streaming query gets a landing zone of its own."""
    root = tmp_path_factory.mktemp("streaming_building")
    history = SnukSettings(
        landing_uri=str(root / "history"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=small_registry(root / "building.yaml", ROOMS),
    )
    observations = simulate(load_registry(history.registry_path), START, DAYS, seed=11)
    write_on_time(history.landing(), observations[observations["ts"] < DAY])
    materialize_days([raw_observations], history, START, MODEL_DAY)
    materialize_days([resampled_series, room_series, feature_windows], history, START, MODEL_DAY)
    materialize_days([occupancy_models], history, MODEL_DAY, MODEL_DAY)
    (root / "live_landing" / day_folder(PARITY_DAY)).mkdir(parents=True)
    live = SnukSettings(
        landing_uri=str(root / "live_landing"),
        lakehouse_uri=history.lakehouse_uri,
        registry_path=history.registry_path,
    )
    ts = observations["ts"]
    morning = observations[(ts >= MORNING[0]) & (ts < MORNING[1])].reset_index(drop=True)
    return live, morning, root / "checkpoint"


def drop_files(landing, morning: pd.DataFrame, first: pd.Timestamp, end: pd.Timestamp) -> list:
    """Gateway text files of ``[first, end)``, one per FILE_SPAN, oldest modified first."""
    paths = []
    start = first
    while start < end:
        rows = morning[(morning["ts"] >= start) & (morning["ts"] < start + FILE_SPAN)]
        lines = [
            f"sensor_id='{s}', timestamp={t.value // 1_000_000}, value={v!r},"
            for s, t, v in zip(rows["sensor_id"], rows["ts"], rows["value"], strict=True)
        ]
        path = f"{day_folder(PARITY_DAY)}/gateway-1-{start:%H%M}.txt"
        landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
        # The file source takes the oldest first: make the upload order unambiguous (the files
        # are dropped while no query runs: a listing never sees one before its utime).
        mtime = (start + FILE_SPAN).timestamp()
        os.utime(landing.location.key(path), (mtime, mtime))
        paths.append(path)
        start += FILE_SPAN
    return paths


def run_until_idle(settings, checkpoint, spark) -> LiveStream:
    """Start the query from ``checkpoint``, let it process every file there is, stop it."""
    stream = LiveStream(settings, str(checkpoint), max_files_per_trigger=2)
    query = stream.start(spark)
    try:
        query.processAllAvailable()
    finally:
        query.stop()
    return stream


def test_streaming_gives_the_live_step_and_a_restart_reads_no_file_twice(building, spark):
    settings, morning, checkpoint = building
    landing = settings.landing()
    middle = MORNING[0] + pd.Timedelta(hours=3)

    first_paths = drop_files(landing, morning, MORNING[0], middle)
    first = run_until_idle(settings, checkpoint, spark)
    assert first.files_read == first_paths
    assert first.last_batch == 2  # three micro-batches of two files
    rows_before = DeltaTable(settings.lakehouse().table_uri(TABLE)).to_pandas()
    assert len(rows_before) > 0

    # Restarted from the checkpoint: only the files that landed since are read.
    second_paths = drop_files(landing, morning, middle, MORNING[1])
    second = run_until_idle(settings, checkpoint, spark)
    assert second.files_read == second_paths
    assert second.last_batch == 4  # two more, from the state saved after batch 2
    idle = run_until_idle(settings, checkpoint, spark)
    assert idle.files_read == [] and idle.last_batch == 4

    # Parity: one live step over the whole morning at its newest measurement closes the same
    # bins; the forecasts (motion only) do not depend on how the files were batched.
    config = building_config(settings, PARITY_DAY)
    direct = live_step(
        BuildingState(), arrivals(morning, "simulated"), morning["ts"].max(), config
    ).forecasts
    streamed = DeltaTable(settings.lakehouse().table_uri(TABLE)).to_pandas()
    keys = ["room_id", "anchor_bin_start", "horizon"]
    assert not streamed.duplicated(keys).any()
    assert len(direct) > 0 and len(streamed) == len(direct)
    assert streamed["anchor_bin_start"].min() < middle < streamed["anchor_bin_start"].max()
    merged = direct.merge(streamed, on=keys, suffixes=("", "_streamed"))
    assert len(merged) == len(direct)
    gap = (merged["occupied_probability"] - merged["occupied_probability_streamed"]).abs()
    assert gap.max() <= TOL
    assert (merged["occupied"] == merged["occupied_streamed"]).all()
    assert np.all(merged["model_date"].astype(str) == merged["model_date_streamed"].astype(str))

    # Killed after its table append and before its state was saved, the driver's batch 4 runs
    # again from batch 3's state when Spark reruns it: the Delta transaction keeps it once.
    (checkpoint / STATE_DIR / "4.pickle").unlink()
    rerun = LiveStream(settings, str(checkpoint), max_files_per_trigger=2)
    assert rerun.last_batch == 3
    uris = [(Path(landing.location.key(p)).as_uri(),) for p in second_paths[-2:]]
    rerun.process_batch(spark.createDataFrame(uris, "path STRING"), 4)
    assert rerun.files_read == second_paths[-2:] and rerun.last_batch == 4
    after = DeltaTable(settings.lakehouse().table_uri(TABLE)).to_pandas()
    assert len(after) == len(streamed)
