"""Resampling: exact time-weighted bins against hand-computed and brute-force references."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snuk_assets.sensor_types import SensorType
from snuk_assets.transforms.resample.bins import default_max_gap, resample_observations
from snuk_assets.transforms.resample.sorted_input import sort_observations

DAY0 = pd.Timestamp("2024-03-04", tz="UTC")
MOTION, TEMPERATURE, HUMIDITY = "8514-294-220-250-m", "8514-294-220-250-t", "8514-294-220-250-h"
SENSOR_OF_TYPE = {"motion": MOTION, "temperature": TEMPERATURE, "humidity": HUMIDITY}
MS = 1_000_000  # ns


def frame(rows: list[tuple[str, str, pd.Timestamp, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["sensor_id", "sensor_type", "ts", "value"])


def at(hms: str) -> pd.Timestamp:
    return DAY0 + pd.Timedelta(hms)


def motion_example() -> pd.DataFrame:
    """The issue's motion sensor: on for 50 s in the first 15 minutes, 30 s in the next."""
    times = ["00:00:00", "00:03:20", "00:04:10", "00:21:00", "00:21:30"]
    return frame(
        [(MOTION, "motion", at(t), v) for t, v in zip(times, [0, 1, 0, 1, 0.0], strict=True)]
    )


def test_motion_example_is_the_fraction_of_time_on():
    out = resample_observations(motion_example(), start=DAY0, end=at("00:30:00"), freq="15min")
    assert out["value"].to_numpy() == pytest.approx([50 / 900, 30 / 900], abs=1e-9)
    assert out["coverage"].tolist() == [1.0, 1.0]
    assert out["n_obs"].tolist() == [3, 2]
    assert out["status"].tolist() == ["observed", "observed"]
    assert out["bin_start"].tolist() == [DAY0, at("00:15:00")]


def test_two_step_reproduces_the_prototype_recipe():
    data = motion_example().set_index("ts")["value"]
    tmp = data.resample("1min").mean().interpolate()
    recipe = tmp.resample("15min").ffill()

    out = resample_observations(
        motion_example(), start=DAY0, end=at("00:30:00"), freq="15min", method="two_step"
    )
    assert out["value"].to_numpy() == pytest.approx(recipe.to_numpy(), abs=1e-12)
    assert out["value"].round(3).tolist() == [0.0, 0.324]
    assert out["coverage"].tolist() == [1.0, 1.0]


def test_output_columns_and_types():
    out = resample_observations(motion_example(), start=DAY0, end=at("00:30:00"))
    assert list(out.columns) == [
        "sensor_id",
        "sensor_type",
        "bin_start",
        "value",
        "coverage",
        "n_obs",
        "status",
        "idle_minutes",
    ]
    assert str(out["bin_start"].dtype) == "datetime64[ns, UTC]"
    assert out["value"].dtype == np.float64 and out["coverage"].dtype == np.float64
    assert out["n_obs"].dtype == np.int64
    assert len(out) == 6  # 30 minutes of 5-minute bins
    assert set(out["status"]) <= {"observed", "filled", "offline"}


# --- offline gaps ---------------------------------------------------------------------------


def test_a_linear_gap_longer_than_max_gap_is_never_bridged():
    minutes = [*range(0, 8), *range(120, 131)]  # silent from 00:07 to 02:00
    data = frame(
        [(TEMPERATURE, "temperature", DAY0 + pd.Timedelta(minutes=m), 20.0 + m) for m in minutes]
    )
    out = resample_observations(data, start=DAY0, end=at("02:10:00"), freq="5min")
    by_start = out.set_index("bin_start")

    partial = by_start.loc[at("00:05:00")]  # defined from 00:05 to 00:07 only
    assert partial["coverage"] == pytest.approx(2 / 5)
    assert partial["value"] == pytest.approx(26.0)  # mean of 25..27 over [00:05, 00:07]
    assert partial["status"] == "observed"

    inside = by_start.loc[at("00:10:00") : at("01:55:00")]
    assert len(inside) == 22
    assert inside["value"].isna().all()
    assert (inside["coverage"] == 0).all() and (inside["status"] == "offline").all()
    assert by_start.loc[at("02:00:00"), "coverage"] == 1.0


def on_at_midnight_off_at_three(**holds) -> pd.DataFrame:
    """Motion ON at 00:00 and OFF at 03:00, in 20-minute bins to 04:00."""
    data = frame([(MOTION, "motion", DAY0, 1.0), (MOTION, "motion", at("03:00:00"), 0.0)])
    return resample_observations(data, start=DAY0, end=at("04:00:00"), freq="20min", **holds)


def test_a_step_signal_is_held_for_max_gap_then_offline():
    out = on_at_midnight_off_at_three(max_gap={"motion": pd.Timedelta(minutes=50)})
    # On until 00:50; off from 03:00, the last observation, held until 03:50.
    assert out["coverage"].tolist() == pytest.approx([1, 1, 0.5, 0, 0, 0, 0, 0, 0, 1, 1, 0.5])
    assert out["value"].tolist()[:3] == [1.0, 1.0, 1.0]  # the defined half of bin 3 is on
    assert out["value"].iloc[3:9].isna().all()
    assert out["value"].tolist()[9:] == [0.0, 0.0, 0.0]
    assert out["status"].tolist()[:4] == ["observed", "filled", "filled", "offline"]


def test_motion_on_holds_at_most_max_on_and_quiet_holds_max_gap():
    out = on_at_midnight_off_at_three(
        max_gap={"motion": pd.Timedelta(hours=2)}, max_on=pd.Timedelta(minutes=30)
    )
    # ON for 30 minutes, then a sensor that died while ON: offline until the OFF report,
    # which holds for the rest of the window (max_gap 2 h).
    assert out["coverage"].tolist() == pytest.approx([1, 0.5, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    idle = [0.0] + [math.nan] * 8 + [20.0, 40.0, 60.0]
    assert out["idle_minutes"].to_numpy() == pytest.approx(idle, nan_ok=True)


def test_a_room_quiet_all_weekend_is_empty_not_offline():
    friday_evening = pd.Timestamp("2016-06-03 18:00", tz="UTC")
    monday = pd.Timestamp("2016-06-06 09:00", tz="UTC")
    data = frame(
        [
            (MOTION, "motion", friday_evening - pd.Timedelta("1min"), 1.0),
            (MOTION, "motion", friday_evening, 0.0),
            (MOTION, "motion", monday, 1.0),
        ]
    )
    sunday = pd.Timestamp("2016-06-05", tz="UTC")
    out = resample_observations(data, start=sunday, end=sunday + pd.Timedelta(days=1))
    assert (out["value"] == 0.0).all() and (out["coverage"] == 1.0).all()
    assert out["idle_minutes"].iloc[-1] == pytest.approx(54 * 60)  # Friday 18:00 to Monday 0:00


def test_a_linear_signal_is_undefined_before_the_first_and_after_the_last_observation():
    data = frame(
        [(HUMIDITY, "humidity", at("00:07:00"), 40.0), (HUMIDITY, "humidity", at("00:12:00"), 50.0)]
    )
    out = resample_observations(data, start=DAY0, end=at("00:20:00"), freq="5min")
    assert out["coverage"].tolist() == pytest.approx([0, 3 / 5, 2 / 5, 0])
    assert out["value"].iloc[1] == pytest.approx(43.0)  # 40 -> 46 over 00:07..00:10
    assert out["value"].iloc[2] == pytest.approx(48.0)  # 46 -> 50 over 00:10..00:12
    assert out["status"].tolist() == ["offline", "observed", "observed", "offline"]


# --- window boundaries ------------------------------------------------------------------------


def _window_input(data: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows in [start, end) plus each sensor's last row before start and first at/after end."""
    data = data.sort_values(["sensor_id", "ts"])
    inside = data[(data["ts"] >= start) & (data["ts"] < end)]
    before = data[data["ts"] < start].groupby("sensor_id").tail(1)
    after = data[data["ts"] >= end].groupby("sensor_id").head(1)
    return pd.concat([before, inside, after]).sample(frac=1.0, random_state=1)


def _building(days: int, seed: int) -> pd.DataFrame:
    """A few sensors of each model over ``days``, with offline gaps, ms timestamps."""
    rng = np.random.default_rng(seed)
    parts = []
    for sensor_type, sensor_id, mean_gap_s in [
        ("motion", MOTION, 900),
        ("temperature", TEMPERATURE, 120),
        ("humidity", HUMIDITY, 1200),
    ]:
        gaps_ms = rng.exponential(mean_gap_s * 1000, size=int(days * 86400 / mean_gap_s) + 10)
        ts_ms = DAY0.value // MS - 3_600_000 + np.cumsum(gaps_ms.astype(np.int64) + 1)
        value = (
            rng.integers(0, 2, len(ts_ms))
            if sensor_type == "motion"
            else rng.normal(20, 3, len(ts_ms))
        )
        parts.append(
            pd.DataFrame(
                {
                    "sensor_id": sensor_id,
                    "sensor_type": sensor_type,
                    "ts": pd.to_datetime(ts_ms, unit="ms", utc=True),
                    "value": value.astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_adjacent_days_computed_apart_equal_both_days_at_once():
    data = _building(days=3, seed=5)
    day1, day2, day3 = (
        DAY0 + pd.Timedelta(days=1),
        DAY0 + pd.Timedelta(days=2),
        DAY0 + pd.Timedelta(days=3),
    )
    together = resample_observations(_window_input(data, day1, day3), start=day1, end=day3)
    apart = pd.concat(
        [
            resample_observations(_window_input(data, day1, day2), start=day1, end=day2),
            resample_observations(_window_input(data, day2, day3), start=day2, end=day3),
        ]
    ).sort_values(["sensor_id", "bin_start"], ignore_index=True)
    assert together["status"].value_counts().get("offline", 0) > 0  # gaps are exercised
    pd.testing.assert_frame_equal(together, apart, check_exact=False, rtol=1e-12, atol=1e-12)


def test_row_order_and_input_format_do_not_matter():
    data = _building(days=1, seed=9)
    end = DAY0 + pd.Timedelta(days=1)
    expected = resample_observations(data, start=DAY0, end=end, freq="10min")
    shuffled = data.sample(frac=1.0, random_state=3)
    by_time = data.sort_values("ts")
    table = pa.Table.from_pandas(shuffled, preserve_index=False)
    dictionary = table.set_column(0, "sensor_id", table.column("sensor_id").dictionary_encode())
    for variant in [shuffled, by_time, table, dictionary]:
        got = resample_observations(variant, start=DAY0, end=end, freq="10min")
        pd.testing.assert_frame_equal(got, expected)


# --- status and n_obs ---------------------------------------------------------------------


def test_status_and_n_obs():
    data = frame(
        [
            (TEMPERATURE, "temperature", at("00:01:00"), 20.0),
            (TEMPERATURE, "temperature", at("00:02:00"), 21.0),
            (TEMPERATURE, "temperature", at("00:13:00"), 22.0),  # bins 00:05 filled between
            (TEMPERATURE, "temperature", at("01:00:00"), 23.0),  # 47 min silent: offline
            (MOTION, "motion", at("00:20:00"), 1.0),  # motion defined from 00:20 only
        ]
    )
    out = resample_observations(data, start=DAY0, end=at("00:25:00"), freq="5min")
    temp = out[out["sensor_id"] == TEMPERATURE]
    motion = out[out["sensor_id"] == MOTION]
    assert temp["n_obs"].tolist() == [2, 0, 1, 0, 0]
    assert temp["status"].tolist() == ["observed", "filled", "observed", "offline", "offline"]
    assert motion["n_obs"].tolist() == [0, 0, 0, 0, 1]
    assert motion["status"].tolist() == ["offline"] * 4 + ["observed"]
    assert list(out["sensor_id"].unique()) == sorted([TEMPERATURE, MOTION])


# --- errors ---------------------------------------------------------------------------------


def test_duplicate_sensor_and_time_is_an_error():
    data = pd.concat([motion_example(), motion_example().iloc[[2]].assign(value=1.0)])
    with pytest.raises(ValueError, match="duplicate .sensor_id, ts."):
        resample_observations(data, start=DAY0, end=at("00:30:00"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(sensor_type="pressure"), "unknown sensor_type"),
        (
            lambda d: d.assign(sensor_type=["motion"] * 4 + ["humidity"]),
            "more than one sensor_type",
        ),
        (lambda d: d.drop(columns="value"), "lack column"),
        (lambda d: d.assign(value=[0, 1, np.nan, 1, 0]), r"nulls .* \[.value.\]"),
    ],
)
def test_bad_input_is_an_error(change, message):
    with pytest.raises(ValueError, match=message):
        resample_observations(change(motion_example()), start=DAY0, end=at("00:30:00"))


def test_a_window_of_partial_bins_is_an_error():
    with pytest.raises(ValueError, match="whole number"):
        resample_observations(motion_example(), start=DAY0, end=at("00:31:00"), freq="15min")


# --- properties against a brute-force reference -------------------------------------------------


def hold_ns(value, *, max_gap_ns, max_on_ns):
    """How long a step value holds without a report: ON (nonzero) at most max_on too."""
    return min(max_gap_ns, max_on_ns) if value != 0 else max_gap_ns


def reference_bins(
    times_ns, values, *, step, max_gap_ns, start_ns, width_ns, n_bins, max_on_ns=math.inf
):
    """Mean, coverage and n_obs per bin, segment by segment in exact rational arithmetic."""
    segments = []  # (from, to, level at from, slope per ns)
    for i, (t, v) in enumerate(zip(times_ns, values, strict=True)):
        last = i + 1 == len(times_ns)
        gap = math.inf if last else times_ns[i + 1] - t
        if step:
            hold = hold_ns(v, max_gap_ns=max_gap_ns, max_on_ns=max_on_ns)
            segments.append((t, t + min(gap, hold), Fraction(v), Fraction(0)))
        elif not last and gap <= max_gap_ns:
            slope = (Fraction(values[i + 1]) - Fraction(v)) / gap
            segments.append((t, times_ns[i + 1], Fraction(v), slope))
    out = []
    for k in range(n_bins):
        lo_bin, hi_bin = start_ns + k * width_ns, start_ns + (k + 1) * width_ns
        integral, covered = Fraction(0), 0
        for a, b, level, slope in segments:
            lo, hi = max(a, lo_bin), min(b, hi_bin)
            if hi > lo:
                covered += hi - lo
                integral += (hi - lo) * (level + slope * (Fraction(lo + hi, 2) - a))
        mean = float(integral / covered) if covered else math.nan
        n_obs = sum(lo_bin <= t < hi_bin for t in times_ns)
        out.append((mean, covered / width_ns, n_obs))
    return out


def reference_idle(times_ns, values, *, max_gap_ns, width_ns, n_bins, max_on_ns=math.inf):
    """Minutes a step signal has been 0 at each bin end, by walking back through the rows."""
    out = []
    for k in range(1, n_bins + 1):
        end = k * width_ns
        last = max((i for i, t in enumerate(times_ns) if t < end), default=None)
        if last is None or end - times_ns[last] > hold_ns(
            values[last], max_gap_ns=max_gap_ns, max_on_ns=max_on_ns
        ):
            out.append(math.nan)
        elif values[last] != 0:
            out.append(0.0)
        else:
            head = last
            while (
                head > 0
                and values[head - 1] == 0
                and times_ns[head] - times_ns[head - 1] <= max_gap_ns
            ):
                head -= 1
            out.append((end - times_ns[head]) / 60e9)
    return out


@st.composite
def sensor_series(draw, sensor_type: str, *, width_ms: int, n_bins: int, max_gap_ms: int):
    """Observations of one sensor, drawing the cases a bin kernel gets wrong on purpose.

    Times fall on bin edges (an observation at a bin's end belongs to the next bin), gaps equal
    ``max_gap`` exactly or one millisecond either side (held, or offline), and whole bins.
    """
    n = draw(st.integers(1, 20))
    gap = st.one_of(
        st.integers(1, 600_000),  # short
        st.integers(600_000, 7_200_000),  # beyond most max_gaps drawn
        st.sampled_from([max_gap_ms - 1, max_gap_ms, max_gap_ms + 1]).filter(lambda g: g > 0),
        st.integers(1, 3).map(lambda k: k * width_ms),  # from one bin edge to another
    )
    gaps = draw(st.lists(gap, min_size=n - 1, max_size=n - 1))
    window_ms = width_ms * n_bins
    first = draw(
        st.one_of(
            st.integers(-3_600_000, window_ms),
            st.integers(-2, n_bins).map(lambda k: k * width_ms),  # on a bin edge
        )
    )
    times_ms = np.cumsum([first, *gaps])
    if sensor_type == "motion":
        level = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(-5, 5))
    else:
        level = st.floats(-1e4, 1e4, allow_nan=False)
    values = draw(st.lists(level, min_size=n, max_size=n))
    return [int(t) for t in times_ms], values


@st.composite
def resampling_cases(draw):
    width_ms = draw(st.sampled_from([1_000, 7_000, 60_000, 300_000, 900_000, 1_800_000]))
    n_bins = draw(st.integers(1, 12))
    types = draw(
        st.lists(st.sampled_from(list(SENSOR_OF_TYPE)), min_size=1, max_size=3, unique=True)
    )
    max_gap_ms = {t: draw(st.integers(1_000, 3_600_000)) for t in types}
    series = {
        t: draw(sensor_series(t, width_ms=width_ms, n_bins=n_bins, max_gap_ms=max_gap_ms[t]))
        for t in types
    }
    # Below or above the step type's max_gap, or equal to it.
    max_on_ms = draw(
        st.one_of(st.integers(1_000, 7_200_000), st.just(max_gap_ms.get("motion", 1_000)))
    )
    order = draw(st.permutations(range(sum(len(s[0]) for s in series.values()))))
    return width_ms, n_bins, series, max_gap_ms, max_on_ms, order


@settings(max_examples=300, deadline=None)
@given(resampling_cases())
def test_exact_bins_match_a_brute_force_integral(case):
    width_ms, n_bins, series, max_gap_ms, max_on_ms, order = case
    start_ms = DAY0.value // MS
    rows = [
        (SENSOR_OF_TYPE[t], t, start_ms + ms, v)
        for t, (times, values) in series.items()
        for ms, v in zip(times, values, strict=True)
    ]
    data = pa.table(
        {
            "sensor_id": [rows[i][0] for i in order],
            "sensor_type": [rows[i][1] for i in order],
            "ts": pa.array([rows[i][2] for i in order], pa.timestamp("ms", tz="UTC")),
            "value": [float(rows[i][3]) for i in order],
        }
    )
    out = resample_observations(
        data,
        start=DAY0,
        end=DAY0 + pd.Timedelta(milliseconds=width_ms * n_bins),
        freq=f"{width_ms}ms",
        max_gap={t: pd.Timedelta(milliseconds=g) for t, g in max_gap_ms.items()},
        max_on=pd.Timedelta(milliseconds=max_on_ms),
    )
    for sensor_type, (times, values) in series.items():
        got = out[out["sensor_id"] == SENSOR_OF_TYPE[sensor_type]]
        expected = reference_bins(
            [t * MS for t in times],
            values,
            step=sensor_type == "motion",
            max_gap_ns=max_gap_ms[sensor_type] * MS,
            max_on_ns=max_on_ms * MS,
            start_ns=0,
            width_ns=width_ms * MS,
            n_bins=n_bins,
        )
        for (mean, coverage, n_obs), row in zip(expected, got.itertuples(), strict=True):
            assert row.coverage == pytest.approx(coverage, abs=1e-12)
            assert row.n_obs == n_obs
            if math.isnan(mean):
                assert math.isnan(row.value) and row.status == "offline"
            else:
                assert row.value == pytest.approx(mean, rel=1e-9, abs=1e-9)
        if sensor_type == "motion":
            idle = reference_idle(
                [t * MS for t in times],
                values,
                max_gap_ns=max_gap_ms[sensor_type] * MS,
                max_on_ns=max_on_ms * MS,
                width_ns=width_ms * MS,
                n_bins=n_bins,
            )
            assert got["idle_minutes"].to_numpy() == pytest.approx(idle, nan_ok=True, abs=1e-12)
        else:
            assert got["idle_minutes"].isna().all()


def test_idle_minutes_count_from_the_last_off_report_to_each_bin_end():
    # Motion ON 00:01, OFF 00:07, ON 00:20, OFF 00:21; an observation at a bin's end belongs
    # to the next bin, so at 00:20 the room has been quiet for 13 minutes.
    minute = pd.Timedelta("1min")
    motion = pd.DataFrame(
        {
            "sensor_id": "m1",
            "sensor_type": "motion",
            "ts": [DAY0 + k * minute for k in (1, 7, 20, 21)],
            "value": [1.0, 0.0, 1.0, 0.0],
        }
    )
    out = resample_observations(motion, start=DAY0, end=at("00:30:00"))
    assert out["idle_minutes"].tolist() == [0.0, 3.0, 8.0, 13.0, 4.0, 9.0]


def test_idle_minutes_are_unknown_offline_and_for_linear_signals():
    minute = pd.Timedelta("1min")
    readings = pd.DataFrame(
        {
            "sensor_id": ["m1", "m1", "t1", "t1"],
            "sensor_type": ["motion", "motion", "temperature", "temperature"],
            "ts": [DAY0 + 6 * minute, DAY0 + 12 * minute, DAY0, DAY0 + 20 * minute],
            "value": [0.0, 1.0, 21.0, 21.5],
        }
    )
    out = resample_observations(
        readings, start=DAY0, end=at("00:25:00"), max_gap={"motion": pd.Timedelta("10min")}
    )
    motion = out[out["sensor_id"] == "m1"]["idle_minutes"].tolist()
    # Before the first report: unknown; the OFF report at 00:06 starts the quiet time; the ON
    # report at 00:12 holds until 00:22 (max_gap), then the sensor counts as offline.
    assert np.isnan(motion[0])
    assert motion[1:4] == [4.0, 0.0, 0.0]
    assert np.isnan(motion[4])
    assert out[out["sensor_id"] == "t1"]["idle_minutes"].isna().all()


def test_a_declared_max_gap_wins_over_the_signal_models_default():
    linear = SensorType("co2", "c", "ppm", 0.0, 10_000.0, "linear", max_gap="2h")
    step = SensorType("door", "d", "0 or 1", 0.0, 1.0, "step")
    plain = SensorType("noise", "n", "dB", 0.0, 200.0, "linear")
    assert default_max_gap({"co2": linear, "door": step, "noise": plain}) == {
        "co2": pd.Timedelta(hours=2),
        "door": pd.Timedelta(hours=72),
        "noise": pd.Timedelta(minutes=30),
    }


def test_a_missing_window_end_is_named_and_no_rows_sort_to_nothing():
    nothing = pd.DataFrame(
        {
            "sensor_id": pd.Series([], dtype=str),
            "sensor_type": pd.Series([], dtype=str),
            "ts": pd.Series([], dtype="datetime64[ns, UTC]"),
            "value": pd.Series([], dtype=float),
        }
    )
    with pytest.raises(ValueError, match="^end must be a timestamp, not NaT$"):
        resample_observations(nothing, start=pd.Timestamp("2016-08-14", tz="UTC"), end=pd.NaT)
    empty = sort_observations(nothing)
    assert (empty.sensor_ids, empty.sensor_types) == ([], [])
    assert empty.offsets.tolist() == [0]
