"""resampled_series end to end: late data, repeated deliveries, day-by-day equals range."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dagster import AssetKey, materialize

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import offline_check, resampled_series
from snuk_assets.definitions import build_definitions
from snuk_assets.engines import LocalEngine
from snuk_assets.settings import SnukSettings

SENSOR_T = "7513-133-195-250-t"
SENSOR_M = "8514-294-220-250-m"
D1 = dt.datetime(2016, 8, 14, tzinfo=dt.UTC)


def line(sensor: str, when: dt.datetime, value: float) -> str:
    return f"sensor_id='{sensor}', timestamp={int(when.timestamp() * 1000)}, value={value},\n"


def write_day(settings: SnukSettings, arrival: dt.date, name: str, lines: list[str]) -> None:
    settings.landing().write_bytes(f"raw_data/{arrival:%Y/%m/%d}/{name}", "".join(lines).encode())


@pytest.fixture
def settings(tmp_path) -> SnukSettings:
    (tmp_path / "landing").mkdir()
    return SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "lakehouse")
    )


def fill_landing(settings: SnukSettings) -> None:
    """Two days of a temperature sensor every 10 min and a motion sensor, some of it late."""
    minutes = range(0, 2 * 24 * 60, 10)
    temps = [line(SENSOR_T, D1 + dt.timedelta(minutes=m), 20 + (m % 60) / 10) for m in minutes]
    # Day one lands on time except its last hour, which arrives two days late.
    write_day(settings, dt.date(2016, 8, 14), "gw-a.txt", temps[:138])
    write_day(settings, dt.date(2016, 8, 16), "gw-late.txt", temps[138:144])
    write_day(settings, dt.date(2016, 8, 15), "gw-a.txt", temps[144:])
    motion = [
        line(SENSOR_M, D1 + dt.timedelta(hours=9), 1.0),
        line(SENSOR_M, D1 + dt.timedelta(hours=9, minutes=2, seconds=30), 0.0),
        line(SENSOR_M, D1 + dt.timedelta(hours=33), 1.0),
    ]
    write_day(settings, dt.date(2016, 8, 14), "gw-m.txt", motion[:2])
    # Redelivered the next day: the same observation, and one with a corrected value.
    write_day(
        settings,
        dt.date(2016, 8, 15),
        "gw-m.txt",
        [motion[0], line(SENSOR_T, D1 + dt.timedelta(minutes=20), 35.0), motion[2]],
    )


def ingest(settings: SnukSettings) -> None:
    result = materialize(
        [raw_observations],
        resources={"settings": settings},
        tags={
            "dagster/asset_partition_range_start": "2016-08-13",
            "dagster/asset_partition_range_end": "2016-08-19",
        },
    )
    assert result.success


def resample(settings: SnukSettings, first: str, last: str):
    return materialize(
        [resampled_series],
        resources={"settings": settings, "engine": LocalEngine()},
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )


def read_series(settings: SnukSettings) -> pd.DataFrame:
    table = settings.lakehouse().read("resampled_series").to_pandas()
    return table.sort_values(["sensor_id", "bin_start"]).reset_index(drop=True)


def test_day_by_day_equals_a_range_and_late_data_counts(settings):
    fill_landing(settings)
    ingest(settings)

    assert resample(settings, "2016-08-14", "2016-08-14").success
    assert resample(settings, "2016-08-15", "2016-08-15").success
    one_by_one = read_series(settings)
    result = resample(settings, "2016-08-14", "2016-08-15")
    assert result.success
    as_range = read_series(settings)
    pd.testing.assert_frame_equal(one_by_one, as_range)

    temps = as_range[as_range.sensor_id == SENSOR_T].set_index("bin_start")
    # The late hour (arrived on the 16th) is in day one's bins.
    late_bin = temps.loc[pd.Timestamp("2016-08-14 23:30", tz="UTC")]
    assert late_bin["status"] == "observed" and late_bin["coverage"] == 1.0
    # The corrected value, delivered a day later, won over the first delivery.
    corrected = temps.loc[pd.Timestamp("2016-08-14 00:20", tz="UTC")]
    assert corrected["value"] > 30  # the first delivery said 22 degrees
    assert len(temps) == 2 * 288
    assert dict(zip(as_range["sensor_id"], as_range["room_id"], strict=True)) == {
        SENSOR_T: "7102",
        SENSOR_M: "7115",
    }

    motion = as_range[as_range.sensor_id == SENSOR_M].set_index("bin_start")
    nine = motion.loc[pd.Timestamp("2016-08-14 09:00", tz="UTC")]
    assert nine["value"] == pytest.approx(150 / 300, abs=1e-9)  # ON for 2.5 of 5 minutes
    meta = result.asset_materializations_for_node("resampled_series")[0].metadata
    assert meta["observations_redelivered"].value == 1
    assert meta["observations_conflicting"].value == 1
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["values_in_range"].passed
    # The motion sensor is undefined before its first event at 09:00: offline 37.5 % of day 1.
    assert checks["sensors_mostly_online"].passed
    strict = offline_check(as_range, max_share=0.3)
    assert not strict.passed and strict.severity.value == "WARN"
    assert f"2016-08-14 {SENSOR_M}" in strict.metadata["worst"].value
    picture = meta["motion_by_room"].value
    assert picture.startswith("![motion share per room and bin](data:image/png")


def test_a_late_arrival_day_marks_exactly_its_measurement_days_stale():
    defs = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
    graph = defs.resolve_asset_graph()
    raw, series = AssetKey("raw_observations"), AssetKey("resampled_series")
    mapping = graph.get_partition_mapping(series, raw)
    partitions = graph.get(raw).partitions_def
    downstream = mapping.get_downstream_partitions_for_partitions(
        partitions.subset_with_partition_keys(["2016-08-16"]),
        partitions,
        graph.get(series).partitions_def,
    )
    # Arrival day A holds measurements of A-3 .. A; those are also the last observations before
    # midnight for up to 3 days later (a motion report holds through a quiet weekend), and A-4's
    # first observation after its end.
    assert sorted(downstream.get_partition_keys()) == [f"2016-08-{day}" for day in range(12, 20)]


def test_motion_on_without_a_report_goes_offline_after_max_on(tmp_path):
    (tmp_path / "landing").mkdir()
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        max_on="1h",
    )
    fill_landing(settings)
    ingest(settings)
    assert resample(settings, "2016-08-15", "2016-08-15").success
    motion = read_series(settings).query("sensor_id == @SENSOR_M").set_index("bin_start")
    # ON at 09:00 on the 15th with no report after it: ON for an hour, then offline.
    at = motion.index
    on = motion[(at >= "2016-08-15 09:00Z") & (at < "2016-08-15 10:00Z")]
    assert len(on) == 12 and (on["value"] == 1.0).all()
    assert (motion.loc[at >= "2016-08-15 10:00Z", "status"] == "offline").all()
