"""combine_sensors: motion union lower bound, coverage-weighted climate, wide view."""

from __future__ import annotations

import numpy as np
import pandas as pd

from snuk_assets.transforms.rooms import combine_sensors, wide_room_view, windowed_columns

T0 = pd.Timestamp("2016-06-01 08:00", tz="UTC")


def rows(room, sensor_type, values, coverages, sensor="s"):
    return pd.DataFrame(
        {
            "sensor_id": sensor,
            "room_id": room,
            "sensor_type": sensor_type,
            "bin_start": [T0 + pd.Timedelta(minutes=5 * i) for i in range(len(values))],
            "value": values,
            "coverage": coverages,
        }
    )


def test_occupancy_is_the_largest_motion_share_and_null_without_coverage():
    series = pd.concat(
        [
            rows("A", "motion", [0.2, np.nan, 0.0], [1.0, 0.0, 1.0], "m1"),
            rows("A", "motion", [0.5, np.nan, np.nan], [0.5, 0.0, 0.0], "m2"),
            rows("A", "temperature", [20.0, 22.0, np.nan], [1.0, 0.5, 0.0], "t1"),
            rows("A", "temperature", [22.0, 24.0, np.nan], [0.0, 0.5, 0.0], "t2"),
        ]
    )
    out = combine_sensors(series)
    assert out["occupancy"].tolist()[0] == 0.5
    assert np.isnan(out["occupancy"].tolist()[1])
    assert out["occupancy"].tolist()[2] == 0.0
    assert out["occupancy_coverage"].tolist() == [1.0, 0.0, 1.0]
    # Only covered sensors count: bin 0 is t1 alone, bin 1 the mean of 22 and 24.
    assert out["temperature"].tolist()[:2] == [20.0, 23.0]
    assert np.isnan(out["temperature"].iloc[2])
    assert out["humidity"].isna().all() and out["humidity_coverage"].isna().all()


def test_wide_view_has_one_column_per_room_and_signal():
    series = pd.concat(
        [rows("B", "motion", [1.0, 0.0], [1, 1]), rows("A", "luminosity", [5.0, 6.0], [1, 1])]
    )
    series["idle_minutes"] = [0.0, 5.0, np.nan, np.nan]
    wide = wide_room_view(combine_sensors(series))
    assert list(wide.columns) == [
        "bin_start",
        *("occ-A", "idle-A", "tmp-A", "hum-A", "lum-A"),
        *("occ-B", "idle-B", "tmp-B", "hum-B", "lum-B"),
    ]
    assert wide["lum-A"].tolist() == [5.0, 6.0] and wide["occ-B"].tolist() == [1.0, 0.0]
    assert wide["idle-B"].tolist() == [0.0, 5.0] and wide["idle-A"].isna().all()


def test_idle_minutes_are_the_least_over_the_rooms_motion_sensors():
    m1 = rows("A", "motion", [0.0, 0.0, 0.3], [1, 1, 1], "m1").assign(idle_minutes=[5, 10, 2])
    m2 = rows("A", "motion", [0.0, 0.0, 0.0], [1, 1, 1], "m2").assign(idle_minutes=[40, np.nan, 50])
    temperature = rows("A", "temperature", [20.0] * 3, [1, 1, 1], "t1").assign(idle_minutes=np.nan)
    out = combine_sensors(pd.concat([m1, m2, temperature]))
    assert out["idle_minutes"].tolist() == [5.0, 10.0, 2.0]


def test_idle_minutes_are_null_for_input_without_them():
    out = combine_sensors(rows("A", "motion", [0.0, 1.0], [1, 1]))
    assert out["idle_minutes"].isna().all()


def test_windowed_columns_follow_the_rooms_sensor_types():
    # a people counter gives occupancy and idle minutes just as motion sensors do
    assert windowed_columns({"people_count", "temperature"}) == [
        "occupancy",
        "idle_minutes",
        "temperature",
    ]
    assert windowed_columns({"luminosity", "motion"}) == ["occupancy", "idle_minutes", "luminosity"]
    assert windowed_columns({"humidity", "co2"}) == ["humidity"]


def test_a_people_counter_gives_occupied_bins_and_unwanted_rows_are_ignored():
    series = pd.concat(
        [
            # mean counts per bin: 0 people, 2.5 people, 0.4 (someone there part of the bin)
            rows("C", "people_count", [0.0, 2.5, 0.4], [1.0, 1.0, 1.0], "p1"),
            # a room with a counter takes its occupancy from it, not from its motion sensors
            rows("C", "motion", [0.9, 0.0, 0.0], [1.0, 1.0, 1.0], "m1"),
            rows("C", "co2", [400.0, 500.0, np.nan], [1.0, 0.5, 0.0], "c1"),
            # ignored: a sensor without a room, and a type not asked for (in a bin of its own)
            rows(None, "motion", [1.0], [1.0], "m9"),
            rows("C", "contact", [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], "d1").iloc[3:],
        ]
    )
    out = combine_sensors(series, sensor_types=["co2"])
    assert out["room_id"].tolist() == ["C", "C", "C"]
    assert out["bin_start"].tolist() == [T0 + pd.Timedelta(minutes=5 * i) for i in range(3)]
    assert out["occupancy"].tolist() == [0.0, 1.0, 1.0]
    assert out["occupancy_coverage"].tolist() == [1.0, 1.0, 1.0]
    assert out["co2"].tolist()[:2] == [400.0, 500.0]
    assert np.isnan(out["co2"].iloc[2])
    assert out["co2_coverage"].tolist() == [1.0, 0.5, 0.0]
