"""The forecast stage's own logic: the rooms called free ahead, and why a room gets no forecast.

Hand-built rooms and frames; the whole asset runs in tests/assets/test_occupancy_pipeline.py.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pandas as pd

from snuk_assets.stages.forecasts import forecast_room, rooms_free_ahead

DAY = dt.date(2016, 6, 7)


def forecast(room_id: str, day: dt.date, occupied: list[bool]) -> pd.DataFrame:
    """A forecast stage summary row: the room called free if no bin is occupied."""
    return pd.DataFrame(
        {"room_id": [room_id], "date": [day], "free": [not any(occupied)], "reason": [None]}
    )


def summary(*rows: pd.DataFrame) -> pd.DataFrame:
    return (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({"room_id": [], "date": [], "free": [], "reason": []})
    )


def test_rooms_free_ahead_are_the_rooms_called_free_at_every_bin_per_day():
    later = DAY + dt.timedelta(days=1)
    skipped = forecast("7106", DAY, [False]).assign(reason="no complete feature window")
    rows = [
        forecast("7102", DAY, [False, False, False]),
        forecast("7101", DAY, [False, False, False]),
        forecast("7103", DAY, [False, True, False]),  # one bin occupied: not free
        forecast("7104", DAY, [True, True, True]),
        forecast("7101", later, [True, False, False]),
        forecast("7105", later, [False, False, False]),
        skipped,  # no forecast: never called free
    ]
    assert rooms_free_ahead(summary(*rows)) == {str(DAY): ["7101", "7102"], str(later): ["7105"]}
    assert rooms_free_ahead(summary(forecast("7104", DAY, [True]))) == {}
    assert rooms_free_ahead(summary()) == {}


def room_day(occupancy) -> pd.DataFrame:
    """A room's room_series rows for the day before DAY and DAY (5-minute bins)."""
    bins = pd.date_range(
        pd.Timestamp(DAY, tz="UTC") - pd.Timedelta("1D"), periods=2 * 288, freq="5min"
    )
    return pd.DataFrame({"room_id": "7101", "bin_start": bins, "occupancy": occupancy})


def model_row(feature_names: list[str]) -> SimpleNamespace:
    # No model blob: every branch below answers before a model would be loaded.
    return SimpleNamespace(room_id="7101", feature_names=feature_names, model=None)


LAGS = ["occupancy_t-2", "occupancy_t-1", "occupancy_t", "time_of_day_sin"]


def reason(room: pd.DataFrame, features: list[str]) -> str:
    got = forecast_room(room, model_row(features), day=DAY, freq="5min", timezone="UTC")
    assert isinstance(got, str), got
    return got


def test_a_room_without_occupancy_on_the_day_gets_no_forecast_and_says_why():
    assert reason(room_day(np.nan).iloc[:0], LAGS) == "no occupancy data on the day"
    assert reason(room_day(np.nan), LAGS) == "no occupancy data on the day"


def test_a_room_without_a_complete_window_gets_no_forecast():
    # Every other bin missing: no three consecutive bins, so no window anchored on the day.
    assert reason(room_day([0.5, np.nan] * 288), LAGS) == "no complete feature window on the day"


def test_a_model_feature_the_day_cannot_give_is_named():
    # co2 is a signal the windows lag (issue 15): a room without it says so by name
    assert reason(room_day(0.0), [*LAGS, "co2_t"]) == "no co2 data on the day"
    got = reason(room_day(0.0), [*LAGS, "day_of_year"])  # no window has such a column
    assert got == "the day lacks the model's features ['day_of_year']"
