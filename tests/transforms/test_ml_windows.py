"""tseries_to_ml: the shifted table exactly, no look-ahead, missing bins never bridged."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from snuk_assets.transforms.windows import (
    CALENDAR_COLUMNS,
    calendar_features,
    lag_name,
    lagged_signals,
    lags_by_signal,
    model_windows,
    room_windows,
    shifted_table,
    split_lag,
    tseries_to_ml,
)

BINS = pd.date_range("2016-06-01", periods=5, freq="5min", tz="UTC", name="bin_start")


def test_shifted_table_is_exactly_the_documented_one():
    table = shifted_table(pd.Series([0.0, 1, 2, 3, 4], index=BINS), bsteps=3, fsteps=2)
    expected = pd.DataFrame(
        {
            "t-2": [np.nan, np.nan, 0],
            "t-1": [np.nan, 0, 1],
            "t": [0.0, 1, 2],
            "t+1": [1.0, 2, 3],
            "t+2": [2.0, 3, 4],
        },
        index=BINS[:3],
    )
    pd.testing.assert_frame_equal(table.iloc[:3], expected)
    assert table.iloc[3:][["t+2"]].isna().all().all()


def test_only_the_complete_window_is_kept_and_the_rest_counted():
    df = pd.DataFrame({"occupancy": [0.0, 1, 2, 3, 4]}, index=BINS)
    windows = tseries_to_ml(df, bsteps=3, fsteps=2)
    assert windows.features.to_dict("list") == {
        "occupancy_t-2": [0.0],
        "occupancy_t-1": [1.0],
        "occupancy_t": [2.0],
    }
    assert windows.targets.to_dict("list") == {"occupancy_t+1": [3.0], "occupancy_t+2": [4.0]}
    assert windows.features.index.tolist() == [BINS[2]] and windows.dropped == 4


def test_a_missing_bin_is_never_bridged():
    bins = pd.date_range("2016-06-01", periods=10, freq="5min", tz="UTC")
    df = pd.DataFrame({"occupancy": np.arange(10.0)}, index=bins).drop(bins[5])
    windows = tseries_to_ml(df, bsteps=2, fsteps=1, freq="5min")
    # Anchors whose lags or target touch bin 5 (anchors 4, 5, 6) are gone, plus the edges.
    assert [bins.get_loc(t) for t in windows.features.index] == [1, 2, 3, 7, 8]
    assert windows.dropped == 5


BSTEPS, FSTEPS = 4, 3


@st.composite
def series_with_a_complete_window(draw):
    """A series, an anchor whose whole window (lags and targets) is defined, and a later bin.

    Missing bins (NaN) fall anywhere outside that window, so every example reaches both
    assertions: the old strategy needed about 7 consecutive values by chance and returned early
    in 21 % of examples, never reaching the ``tseries_to_ml`` half.
    """
    n = draw(st.integers(BSTEPS + FSTEPS, 30))
    anchor = draw(st.integers(BSTEPS - 1, n - FSTEPS - 1))
    values = draw(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=n, max_size=n))
    window = range(anchor - BSTEPS + 1, anchor + FSTEPS + 1)
    for i in window:
        if values[i] is None:
            values[i] = draw(st.floats(0, 1))
    first_changed = draw(st.integers(anchor + 1, n - 1))
    return values, anchor, first_changed


@settings(max_examples=100, deadline=None)
@given(case=series_with_a_complete_window(), changed=st.floats(0, 1))
def test_no_look_ahead(case, changed):
    values, anchor, first_changed = case
    bins = pd.date_range("2016-06-01", periods=len(values), freq="5min", tz="UTC")
    series = pd.Series([np.nan if v is None else v for v in values], index=bins)
    later = series.copy()
    later.iloc[first_changed:] = changed  # the future changes, the anchor's past does not
    kwargs = {"bsteps": BSTEPS, "fsteps": FSTEPS}

    before, after = shifted_table(series, **kwargs), shifted_table(later, **kwargs)
    past = [c for c in before.columns if "+" not in c]
    assert len(past) == BSTEPS
    pd.testing.assert_series_equal(before.loc[bins[anchor], past], after.loc[bins[anchor], past])

    # Every feature of tseries_to_ml is a past value: none may move when the future does.
    before = tseries_to_ml(series.to_frame("occupancy"), **kwargs).features
    after = tseries_to_ml(later.to_frame("occupancy"), **kwargs).features
    assert bins[anchor] in before.index and bins[anchor] in after.index
    assert before.shape[1] == BSTEPS
    pd.testing.assert_series_equal(before.loc[bins[anchor]], after.loc[bins[anchor]])


def test_calendar_features_use_the_buildings_local_time():
    # 22:30 UTC on Friday 2016-06-03 is 00:30 on Saturday in Berlin (CEST).
    cal = calendar_features(
        pd.DatetimeIndex(["2016-06-03 22:30"], tz="UTC"), timezone="Europe/Berlin"
    )
    assert cal["day_of_week"].tolist() == [5.0] and cal["working_day"].tolist() == [0.0]
    assert np.isclose(cal["time_of_day_sin"].iloc[0], np.sin(2 * np.pi * 0.5 / 24))
    # Whit Monday 2016-05-16 is a holiday.
    assert calendar_features(
        pd.DatetimeIndex(["2016-05-16 10:00"], tz="UTC"), timezone="Europe/Berlin"
    )["working_day"].tolist() == [0.0]


def test_lag_columns_name_their_signal_and_how_far_back_they_look():
    assert split_lag(lag_name("idle_minutes", -2)) == ("idle_minutes", 2)
    assert split_lag("occupancy_t") == ("occupancy", 0)
    for not_a_lag in ("occupied_t+1", "time_of_day_sin", "working_day", "room_id", "x_tab"):
        assert split_lag(not_a_lag) is None
    names = ["occupancy_t-11", "occupancy_t", "idle_minutes_t-2", "working_day", "occupied_t+1"]
    assert lagged_signals(names) == {"occupancy": 12, "idle_minutes": 3}
    assert lags_by_signal(names) == {
        "occupancy": [(11, "occupancy_t-11"), (0, "occupancy_t")],
        "idle_minutes": [(2, "idle_minutes_t-2")],
    }


def test_room_windows_lags_signals_adds_the_local_calendar_and_labels_occupancy():
    # ten 5-minute bins from Friday 2016-06-03 21:35 UTC (23:35 in Berlin, CEST); the bin at
    # 21:50 is missing, so only the windows anchored at 22:00, 22:05 and 22:10 UTC (00:00 ..
    # 00:10 on Saturday in Berlin) have both lags and both future bins
    bins = pd.date_range("2016-06-03 21:35", periods=10, freq="5min", tz="UTC")
    occupancy = [0.0, 0.5, 0, 0.9, 0.25, 0, 0.5, 0, 0, 1.0]  # fraction of the bin
    room = pd.DataFrame(
        {
            "bin_start": bins,
            "occupancy": occupancy,
            "co2": [400.0 + 10 * i for i in range(10)],
            "not_a_signal": 7.0,
        }
    ).drop(index=3)
    room = room.iloc[::-1]  # rows in any order

    windows = room_windows(
        room,
        signals=["occupancy", "co2"],
        bsteps=2,
        fsteps=2,
        freq="5min",
        timezone="Europe/Berlin",
    )

    anchors = pd.DatetimeIndex(
        ["2016-06-03 22:00", "2016-06-03 22:05", "2016-06-03 22:10"], tz="UTC", name="bin_start"
    )
    five, ten = 2 * np.pi * 5 / 1440, 2 * np.pi * 10 / 1440  # 00:05 and 00:10 on the clock
    expected_features = pd.DataFrame(
        {
            "occupancy_t-1": [0.25, 0, 0.5],
            "occupancy_t": [0.0, 0.5, 0],
            "co2_t-1": [440.0, 450, 460],
            "co2_t": [450.0, 460, 470],
            "time_of_day_sin": [0.0, np.sin(five), np.sin(ten)],
            "time_of_day_cos": [1.0, np.cos(five), np.cos(ten)],
            "day_of_week": [5.0, 5, 5],  # Saturday in Berlin, still Friday in UTC
            "working_day": [0.0, 0, 0],
        },
        index=anchors,
    )
    expected_labels = pd.DataFrame(
        {"occupied_t+1": [1, 0, 0], "occupied_t+2": [0, 0, 1]}, index=anchors, dtype="int64"
    )
    pd.testing.assert_frame_equal(windows.features, expected_features, check_freq=False)
    pd.testing.assert_frame_equal(windows.targets, expected_labels, check_freq=False)
    assert windows.dropped == 7

    # only the anchors asked for, and only those are counted
    one = room_windows(
        room,
        signals=["occupancy"],
        bsteps=1,
        fsteps=1,
        freq="5min",
        timezone="Europe/Berlin",
        anchors=pd.DatetimeIndex(["2016-06-03 21:45", "2016-06-03 22:05"], tz="UTC"),
    )
    assert list(one.features.columns) == ["occupancy_t", *CALENDAR_COLUMNS]
    assert list(one.features.index) == list(anchors[1:2])
    assert one.features["occupancy_t"].tolist() == [0.5]
    assert one.targets["occupied_t+1"].tolist() == [0]
    assert one.dropped == 1  # 21:45 needs 21:50, which is missing


def test_model_windows_read_the_stored_models_signals_and_lags_at_the_anchors():
    # six bins from Wednesday 2016-06-01 08:00 UTC (10:00 in Berlin); 08:10 is missing
    bins = pd.date_range("2016-06-01 08:00", periods=6, freq="5min", tz="UTC")
    room = pd.DataFrame(
        {
            "bin_start": bins,
            "occupancy": [0.0, 0.5, 0.25, 0, 1.0, 0.75],
            "idle_minutes": [5.0, 0, 0, 5, 0, 0],
            "temperature": [20.0, 20.5, 21, 21.5, 22, 22.5],
        }
    ).drop(index=2)
    # a model of temperature now and occupancy two bins back: idle minutes are not read
    feature_names = ["temperature_t", "occupancy_t-1", "occupancy_t", *CALENDAR_COLUMNS]
    anchors = pd.DatetimeIndex(
        ["2016-06-01 08:05", "2016-06-01 08:15", "2016-06-01 08:25"], tz="UTC", name="bin_start"
    )

    windows = model_windows(
        room, feature_names, freq="5min", timezone="Europe/Berlin", anchors=anchors
    )

    # 08:15 needs 08:10, which is missing (not bridged to 08:05)
    kept = anchors[[0, 2]]
    angle = 2 * np.pi * np.array([10 * 60 + 5, 10 * 60 + 25]) / 1440
    expected = pd.DataFrame(
        {
            "occupancy_t-1": [0.0, 1.0],
            "occupancy_t": [0.5, 0.75],
            "temperature_t-1": [20.0, 22.0],
            "temperature_t": [20.5, 22.5],
            "time_of_day_sin": np.sin(angle),
            "time_of_day_cos": np.cos(angle),
            "day_of_week": [2.0, 2.0],
            "working_day": [1.0, 1.0],
        },
        index=kept,
    )
    pd.testing.assert_frame_equal(windows.features, expected, check_freq=False)
    assert windows.targets.shape == (2, 0)
    assert windows.dropped == 1


def test_with_an_estimate_the_labels_are_its_and_the_motion_labels_stand_beside_them():
    bins = pd.date_range("2016-06-06 09:00", periods=6, freq="5min", tz="UTC", name="bin_start")
    room = pd.DataFrame(
        {
            "bin_start": bins,
            "occupancy": [0.0, 0.0, 0.3, 0.0, 0.0, 0.0],  # a seated person, seen once
            "estimate": [0.1, 0.9, 0.8, 0.7, np.nan, 0.2],  # no estimate at 09:20
        }
    )
    windows = room_windows(
        room,
        signals=["occupancy"],
        bsteps=1,
        fsteps=1,
        freq="5min",
        timezone="Europe/Berlin",
        label_column="estimate",
    )
    # The estimate is never a feature; 09:15 needs the estimate at 09:20, 09:25 the bin after.
    assert list(windows.features.columns) == ["occupancy_t", *CALENDAR_COLUMNS]
    assert list(windows.features.index) == list(bins[[0, 1, 2, 4]])
    assert list(windows.targets.columns) == ["occupied_t+1", "motion_label_t+1"]
    assert windows.targets["occupied_t+1"].tolist() == [1, 1, 1, 0]
    assert windows.targets["motion_label_t+1"].tolist() == [0, 1, 0, 0]
    assert windows.dropped == 2
