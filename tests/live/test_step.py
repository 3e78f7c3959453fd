"""The live step against the batch pipeline: a day replayed with every observation on time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from live_building import PARITY_DAY, arrivals

from snuk_assets.live.step import (
    BuildingState,
    building_config,
    live_step,
)
from snuk_assets.stages.estimate import counter_room_motion
from snuk_assets.stages.forecasts import latest_models
from snuk_assets.transforms.counter_taught import estimate_by_counters
from snuk_assets.transforms.models.blobs import load_model
from snuk_assets.transforms.models.training import positive_proba

TOL = 1e-9
CLIMATE = ["temperature", "humidity", "luminosity"]


def replay_day(observations: pd.DataFrame, config, day: dt.date, hours=(0, 24)):
    """Prime with the three days before ``day`` (and its first ``hours[0]``) in one step, then
    one step per bin up to ``hours[1]`` (and the next bin: its climate needs the next reports).
    """
    freq = pd.Timedelta(config.freq)
    day_start = pd.Timestamp(day, tz="UTC")
    ts = observations["ts"]
    state = BuildingState()
    fed = ts < day_start - pd.Timedelta(days=3)
    closed, rooms, forecasts, estimates = [], [], [], []
    bin_end = day_start + pd.Timedelta(hours=hours[0])
    while bin_end <= day_start + pd.Timedelta(hours=hours[1]) + freq:
        now = bin_end + config.delay
        new = ~fed & (ts < now)
        result = live_step(state, arrivals(observations[new]), now, config)
        fed |= new
        state = result.state
        closed.append(result.closed_bins)
        rooms.append(result.room_states)
        forecasts.append(result.forecasts)
        estimates.append(result.estimates)
        bin_end += freq

    first, end = (day_start + pd.Timedelta(hours=h) for h in hours)

    def of_day(frames, column="bin_start"):
        frame = pd.concat(frames, ignore_index=True)
        return frame[(frame[column] >= first) & (frame[column] < end)].reset_index(drop=True)

    return Replayed(
        of_day(closed),
        of_day(rooms),
        of_day(forecasts, "anchor_bin_start"),
        state,
        of_day(estimates),
    )


@dataclass(frozen=True)
class Replayed:
    """``replay_day``'s rows of the day (``hours``), and the state after."""

    bins: pd.DataFrame
    rooms: pd.DataFrame
    forecasts: pd.DataFrame
    state: BuildingState
    estimates: pd.DataFrame

    def __iter__(self):  # bins, rooms, forecasts, state = replay_day(...)
        return iter((self.bins, self.rooms, self.forecasts, self.state))


def assert_same(live: pd.DataFrame, batch: pd.DataFrame, keys: list[str], columns: list[str]):
    live = live.sort_values(keys).reset_index(drop=True)
    batch = batch.sort_values(keys).reset_index(drop=True)
    assert len(live) == len(batch)
    for key in keys:
        assert (live[key].astype(str).to_numpy() == batch[key].astype(str).to_numpy()).all(), key
    for column in columns:
        a, b = live[column].to_numpy(dtype=float), batch[column].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), column
        assert np.nanmax(np.abs(a - b), initial=0) <= TOL, column


@pytest.fixture(scope="module")
def batch_day(batch_building):
    lakehouse = batch_building.settings.lakehouse()
    day = [PARITY_DAY]
    return {
        "bins": lakehouse.read("resampled_series", dates=day).to_pandas(),
        "rooms": lakehouse.read("room_series", dates=day).to_pandas(),
        "windows": lakehouse.read("feature_windows", dates=day).to_pandas(),
        "forecasts": lakehouse.read("occupancy_forecasts", dates=day).to_pandas(),
    }


BIN_COLUMNS = ["value", "coverage", "n_obs", "idle_minutes"]
ROOM_COLUMNS = [
    "occupancy",
    "idle_minutes",
    "occupancy_coverage",
    *CLIMATE,
    *(f"{c}_coverage" for c in CLIMATE),
]


def within(frame: pd.DataFrame, hours, column="bin_start") -> pd.DataFrame:
    start = pd.Timestamp(PARITY_DAY, tz="UTC")
    inside = (frame[column] >= start + pd.Timedelta(hours=hours[0])) & (
        frame[column] < start + pd.Timedelta(hours=hours[1])
    )
    return frame[inside].reset_index(drop=True)


def forecast_parity(live_forecasts, batch_day, lakehouse, *, last_of_day=True):
    """Live probabilities at every anchor of the day = the batch model on the batch windows."""
    models = latest_models(lakehouse, PARITY_DAY).set_index("room_id")
    windows = batch_day["windows"]
    assert len(models) >= 2
    compared = 0
    for room_id, row in models.iterrows():
        room = windows[windows["room_id"] == room_id].set_index("bin_start")
        expected = positive_proba(load_model(row["model"]), room[list(row["feature_names"])])
        live = live_forecasts[live_forecasts["room_id"] == room_id]
        got = live.pivot(index="anchor_bin_start", columns="horizon", values="occupied_probability")
        # the batch has windows only where the labels are complete
        got = got.loc[room.index.intersection(got.index)]
        expected = expected[room.index.isin(got.index)]
        assert np.abs(got.to_numpy() - expected).max() <= TOL
        compared += expected.size
    assert compared > 500
    if not last_of_day:
        return
    # and the batch's own forecast of the day (its last complete window) is the live one
    batch = batch_day["forecasts"]
    merged = batch.merge(
        live_forecasts, on=["room_id", "anchor_bin_start", "horizon"], suffixes=("", "_live")
    )
    assert len(merged) == len(batch) > 0
    assert (merged["occupied_probability"] - merged["occupied_probability_live"]).abs().max() <= TOL
    assert (merged["occupied"] == merged["occupied_live"]).all()


@pytest.fixture(scope="module")
def day_on_time(batch_building):
    """The parity day replayed with the allowed delay covering the climate sensors' 60 s
    reports; its config and what it gave."""
    config = building_config(batch_building.settings, PARITY_DAY, delay=pd.Timedelta(seconds=90))
    return config, replay_day(batch_building.observations, config, PARITY_DAY)


def test_a_day_replayed_on_time_gives_the_batch_tables(batch_building, batch_day, day_on_time):
    """With the allowed delay covering the climate sensors' 60 s reports: every column."""
    settings = batch_building.settings
    _, (bins, rooms, forecasts, state) = day_on_time
    assert_same(bins, batch_day["bins"], ["sensor_id", "bin_start"], BIN_COLUMNS)
    assert (
        bins.sort_values(["sensor_id", "bin_start"])["status"].to_numpy()
        == batch_day["bins"].sort_values(["sensor_id", "bin_start"])["status"].to_numpy()
    ).all()
    assert_same(rooms, batch_day["rooms"], ["room_id", "bin_start"], ROOM_COLUMNS)
    forecast_parity(forecasts, batch_day, settings.lakehouse())
    # the state holds what later bins need, not the history: well under a day of rows
    assert state.observations.num_rows < len(batch_building.observations) / 20


def test_default_delay_motion_and_forecasts_exact(batch_building, batch_day):
    """At the default 30 s, motion, occupancy, idle minutes and forecasts are still exact;
    climate bins whose next report came after the delay miss only their last seconds. The
    morning arrivals, 06:00 .. 10:00, after closing the night's bins in one step."""
    settings = batch_building.settings
    config = building_config(settings, PARITY_DAY)
    assert config.delay == pd.Timedelta(seconds=30)
    hours = (6, 10)
    bins, rooms, forecasts, _ = replay_day(batch_building.observations, config, PARITY_DAY, hours)
    motion = bins[bins["sensor_type"] == "motion"]
    batch = within(batch_day["bins"], hours)
    batch_day = {**batch_day, "rooms": within(batch_day["rooms"], hours)}
    assert_same(
        motion, batch[batch["sensor_type"] == "motion"], ["sensor_id", "bin_start"], BIN_COLUMNS
    )
    assert_same(
        rooms,
        batch_day["rooms"],
        ["room_id", "bin_start"],
        ["occupancy", "idle_minutes", "occupancy_coverage"],
    )
    windows = within(batch_day["windows"], hours)
    forecast_parity(
        forecasts, {**batch_day, "windows": windows}, settings.lakehouse(), last_of_day=False
    )
    climate = bins[bins["sensor_type"] != "motion"].sort_values(["sensor_id", "bin_start"])
    expected = batch[batch["sensor_type"] != "motion"].sort_values(["sensor_id", "bin_start"])
    shortfall = expected["coverage"].to_numpy() - climate["coverage"].to_numpy()
    assert shortfall.min() >= -TOL and shortfall.max() <= 70 / 300  # at most one report period


def test_the_live_estimate_is_the_batch_estimators_on_the_batch_rooms(batch_building, day_on_time):
    """Each bin's occupancy estimate, live, equals the batch transform's with the same
    estimator (``occupancy_estimate``'s run of the day before) on the batch room_series: the
    counter's in the counter room, the estimator's elsewhere. The replay saw the three days
    before, so the CO2 baseline's 24 hours are the batch's."""
    config, replayed = day_on_time
    assert config.estimator is not None, config.estimator_note
    lakehouse = batch_building.settings.lakehouse()
    days = [PARITY_DAY - dt.timedelta(days=1), PARITY_DAY]
    rooms = lakehouse.read("room_series", dates=days).to_pandas()
    rooms["bin_start"] = pd.to_datetime(rooms["bin_start"], utc=True)
    counters = sorted(config.counter_rooms)
    batch = estimate_by_counters(
        rooms.drop(columns=["date"]),
        counter_motion=counter_room_motion(lakehouse, counters, days),
        counter_rooms=counters,
        estimator=config.estimator,
        estimate_from=pd.Timestamp(PARITY_DAY, tz="UTC"),
        freq=config.freq,
    )
    live = replayed.estimates
    assert set(live["source"]) == {"counter", "estimator"}
    keys = ["room_id", "bin_start"]
    assert_same(live, batch, keys, ["estimate", "motion_label"])
    live, batch = (f.sort_values(keys).reset_index(drop=True) for f in (live, batch))
    assert (live["source"] == batch["source"]).all()
    assert (live["inputs"] == batch["inputs"]).all()
    # and each forecast row carries its anchor bin's
    forecasts = replayed.forecasts.merge(
        live.rename(columns={"bin_start": "anchor_bin_start"}), on=["room_id", "anchor_bin_start"]
    )
    assert len(forecasts) == len(replayed.forecasts) > 0
    assert (forecasts["estimate_now"] == forecasts["estimate"]).all()
    assert (forecasts["estimate_source"] == forecasts["source"]).all()
