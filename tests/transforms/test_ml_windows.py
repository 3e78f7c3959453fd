"""tseries_to_ml: the shifted table exactly, no look-ahead, missing bins never bridged."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from snuk_assets.transforms.windows import (
    calendar_features,
    lag_name,
    lagged_signals,
    lags_by_signal,
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
