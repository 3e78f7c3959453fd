"""feature_windows on a two-room building: the day's first anchors look back into the day before."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building

START = dt.date(2016, 6, 6)  # a Monday: the rooms are in use
BSTEPS = 12


def test_the_first_anchors_of_a_day_take_their_lags_from_the_day_before(tmp_path, small_registry):
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registry_path=small_registry(tmp_path / "building.yaml", ["7101", "7103"]),
    )
    simulate_building(
        registry=load_registry(settings.registry_path),
        landing_uri=settings.landing_uri,
        truth_dir=tmp_path / "truth",
        start=START,
        days=3,
        seed=7,
    )
    second_day = START + dt.timedelta(days=1)
    materialize_days([raw_observations], settings, START, START + dt.timedelta(days=6))
    materialize_days([resampled_series, room_series], settings, START, START + dt.timedelta(days=2))
    materialize_days([feature_windows], settings, second_day, second_day)
    lakehouse = settings.lakehouse()
    windows = lakehouse.read("feature_windows", dates=[second_day]).to_pandas()
    rooms = lakehouse.read("room_series", dates=[START, second_day]).to_pandas()

    # Without the previous day (12 lags of 5 minutes) the first anchor would be 00:55.
    midnight = pd.Timestamp(second_day, tz="UTC")
    first = windows[windows["bin_start"] == midnight]
    assert sorted(first["room_id"]) == ["7101", "7103"], "no window at the day's first bin"
    # The oldest lag of the midnight window is room_series at 23:05 the day before.
    oldest = rooms[rooms["bin_start"] == midnight - (BSTEPS - 1) * pd.Timedelta("5min")]
    oldest = oldest.set_index("room_id")["occupancy"]
    for row in first.to_dict("records"):
        assert row[f"occupancy_t-{BSTEPS - 1}"] == oldest[row["room_id"]], row["room_id"]
        assert (
            row["occupancy_t"]
            == rooms[(rooms["room_id"] == row["room_id"]) & (rooms["bin_start"] == midnight)][
                "occupancy"
            ].item()
        )
