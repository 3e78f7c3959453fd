"""occupancy_estimate on small simulated buildings, real Delta tables: taught by the counter room,
or the motion label where the building has no counter."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import pytest
from dagster import DagsterInstance, materialize
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.occupancy_estimate import occupancy_estimate
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.engines import LocalEngine
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building

START = dt.date(2016, 6, 6)  # a Monday: the rooms are in use
DAYS = 4
LAST = START + dt.timedelta(days=DAYS - 1)
SECOND = START + dt.timedelta(days=1)
KEYS = ["room_id", "bin_start"]


def building(tmp_path, small_registry, rooms: list[str]) -> SnukSettings:
    """``rooms`` of the reference office, simulated for ``DAYS`` days up to room_series; the
    estimate trains on one day before the days it estimates."""
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registry_path=small_registry(tmp_path / "building.yaml", rooms),
        estimate_history_days=1,
    )
    simulate_building(
        registry=load_registry(settings.registry_path),
        landing_uri=settings.landing_uri,
        truth_dir=tmp_path / "truth",
        start=START,
        days=DAYS,
        seed=11,
    )
    materialize_days([raw_observations], settings, START, LAST + dt.timedelta(days=4))
    materialize_days([resampled_series, room_series], settings, START, LAST)
    return settings


def estimate(settings: SnukSettings) -> tuple[dict, list[str]]:
    """Materialize occupancy_estimate for SECOND .. LAST; its metadata and warnings."""
    instance = DagsterInstance.ephemeral()
    result = materialize(
        [occupancy_estimate],
        instance=instance,
        resources={"settings": settings, "engine": LocalEngine(max_workers=1)},
        tags={
            "dagster/asset_partition_range_start": SECOND.isoformat(),
            "dagster/asset_partition_range_end": LAST.isoformat(),
        },
    )
    assert result.success
    events = result.get_asset_materialization_events()  # one per partition, the run's metadata
    assert len(events) == DAYS - 1
    metadata = {name: value.value for name, value in events[0].materialization.metadata.items()}
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING and not entry.is_dagster_event
    ]
    return metadata, warnings


def test_rooms_are_estimated_from_what_the_counter_room_taught(tmp_path, small_registry):
    settings = building(tmp_path, small_registry, ["7101", "7103", "7116"])  # 7101 counts
    metadata, warnings = estimate(settings)
    lakehouse = settings.lakehouse()
    days = [SECOND + dt.timedelta(days=n) for n in range(DAYS - 1)]
    rows = lakehouse.read("occupancy_estimate", dates=days).to_pandas()
    rooms = lakehouse.read("room_series", dates=days).to_pandas()
    assert len(rows) == len(rooms) == 3 * 288 * (DAYS - 1)
    both = rows.merge(rooms, on=KEYS, suffixes=("", "_room"))
    assert len(both) == len(rows)

    # Trained on the counter room's counted bins of the run's days and the one day before.
    every_day = lakehouse.read("room_series", dates=[START, *days]).to_pandas()
    counted = every_day[(every_day["room_id"] == "7101") & every_day["occupancy"].notna()]
    assert metadata["trained_on"] == ["7101"]
    assert metadata["training_bins"] == len(counted)
    assert metadata["training_occupied_bins"] == int((counted["occupancy"] > 0).sum())
    assert metadata["training_days"] == f"{START} .. {LAST}"
    assert metadata["untrained_because"] == ""
    assert set(metadata["decided_shares"]) == {"motion", "co2", "luminosity", "sound", "devices"}
    assert "estimate_by_room" in metadata
    assert warnings == []

    assert rows["estimate"].between(0, 1).all()
    counter_room = both[both["room_id"] == "7101"]
    counter_verdict = counter_room["occupancy"].notna()
    assert (counter_room.loc[counter_verdict, "source"] == "counter").all()
    assert (counter_room["estimate"] == counter_room["occupancy"])[counter_verdict].all()
    others = both[both["room_id"] != "7101"]
    assert (others["source"] == "estimator").all()
    assert metadata["estimator_bins"] == len(others)
    # The motion label is the motion sensors' own, beside the estimate.
    motion = others["occupancy"].notna()
    assert (others.loc[motion, "motion_label"] == (others.loc[motion, "occupancy"] > 0)).all()
    assert set(others.loc[others["room_id"] == "7103", "inputs"]) <= {
        "motion,co2,luminosity",
        "co2,luminosity",
        "motion,luminosity",
    }
    assert metadata["occupied_shares"]["occupied_by_estimate"] == pytest.approx(
        (both.dropna(subset=["estimate", "motion_label"])["estimate"] >= 0.5).mean(), abs=1e-4
    )


def test_without_a_counter_the_estimate_is_the_motion_label(tmp_path, small_registry):
    settings = building(tmp_path, small_registry, ["7103", "7116"])
    metadata, warnings = estimate(settings)
    rows = settings.lakehouse().read("occupancy_estimate").to_pandas()
    assert len(rows) == 2 * 288 * (DAYS - 1)
    assert metadata["trained_on"] == "none (motion label)"
    assert metadata["untrained_because"] == "no counter room with counted bins"
    assert metadata["decided_shares"] == {}
    assert len(warnings) == 1 and "nothing trained" in warnings[0]
    labelled = rows["motion_label"].notna()
    assert (rows.loc[labelled, "source"] == "motion label").all()
    assert pd.Series(rows["estimate"]).equals(rows["motion_label"])
    assert set(rows["estimate"].dropna()) == {0.0, 1.0}


def test_feature_windows_take_their_labels_from_the_estimate(tmp_path, small_registry):
    settings = building(tmp_path, small_registry, ["7101", "7103"])
    estimate(settings)
    third = SECOND + dt.timedelta(days=1)  # its windows reach estimates of SECOND .. third + 1
    result = materialize_days([feature_windows], settings, third, third)
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["labels_from"].value == (
        "occupancy_estimate (estimate >= 0.5)"
    )
    lakehouse = settings.lakehouse()
    windows = lakehouse.read("feature_windows", dates=[third]).to_pandas()
    assert len(windows) > 2 * 250
    ahead = windows.assign(bin_start=windows["bin_start"] + pd.Timedelta("5min"))[
        [*KEYS, "occupied_t+1", "motion_label_t+1"]
    ]
    days = [third, third + dt.timedelta(days=1)]
    estimates = lakehouse.read("occupancy_estimate", dates=days).to_pandas()
    rooms = lakehouse.read("room_series", dates=days).to_pandas()
    both = ahead.merge(estimates, on=KEYS).merge(rooms[[*KEYS, "occupancy"]], on=KEYS)
    assert len(both) == len(windows)
    assert (both["occupied_t+1"] == (both["estimate"] >= 0.5)).all()
    assert (both["motion_label_t+1"] == (both["occupancy"] > 0)).all()
    # In the office the estimate and the motion label disagree in some bins.
    office = both[both["room_id"] == "7103"]
    assert (office["occupied_t+1"] != office["motion_label_t+1"]).any()
