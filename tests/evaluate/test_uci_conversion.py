"""The UCI file shape (7 names, 8 fields a row) becomes gateway-shaped observations, and each
dataset's windows keep the public holidays of where it was recorded."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from snuk_assets.evaluate.datasets import (
    ROOM_CLIMATE_HOLIDAYS,
    UCI_HOLIDAYS,
    UCI_TIMEZONE,
    landing_lines,
    uci_observations,
)
from snuk_assets.evaluate.run import EvalParams, windows_of
from snuk_assets.sensor_types import is_valid_sensor_id

UCI_SAMPLE = (
    '"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n'
    '"1","2015-02-04 17:51:00",23.18,27.272,426,721.25,0.00479298817650529,1\n'
    '"2","2015-02-04 17:51:59",23.15,27.2675,429.5,714,0.00478344094931065,0\n'
)


def test_uci_rows_become_four_sensors_in_utc(tmp_path):
    path = tmp_path / "datatraining.txt"
    path.write_text(UCI_SAMPLE)
    observations = uci_observations(path)
    assert observations["sensor_id"].map(is_valid_sensor_id).all()
    assert sorted(observations["sensor_id"].str[-1].unique()) == ["h", "l", "m", "t"]
    light = observations[observations["sensor_id"].str.endswith("-l")]
    assert light["value"].tolist() == [426.0, 429.5]  # Light, not CO2, after the row index
    assert light["ts"].iloc[0] == pd.Timestamp("2015-02-04 16:51:00", tz="UTC")  # CET
    motion = observations[observations["sensor_id"].str.endswith("-m")]
    assert motion["value"].tolist() == [1.0, 0.0]
    assert landing_lines(light.head(1)) == (
        "sensor_id='9000-001-001-001-l', timestamp=1423068660000, value=426.0,\n"
    )


# The command itself (parsing, conversion, scoring) runs in tests/test_cli.py.


def uci_hour(path, start: str) -> None:
    """An hour of UCI-shaped rows from ``start`` (Belgian wall clock), occupied throughout."""
    stamps = pd.date_range(start, periods=60, freq="1min")
    rows = [
        f'"{i}","{t:%Y-%m-%d %H:%M:%S}",21.0,30.0,{400 + i},600,0.0048,1'
        for i, t in enumerate(stamps, start=1)
    ]
    path.write_text(
        '"date","Temperature","Humidity","Light","CO2","HumidityRatio","Occupancy"\n'
        + "\n".join(rows)
        + "\n"
    )


@pytest.mark.parametrize(
    ("day", "working"),
    [("2015-07-21", 0.0), ("2015-07-22", 1.0)],  # Belgian National Day (not Berlin's), a Wednesday
)
def test_uci_windows_keep_belgian_holidays(tmp_path, day, working):
    path = tmp_path / "datatraining.txt"
    uci_hour(path, f"{day} 10:00")
    windows = windows_of(
        uci_observations(path),
        timezone=UCI_TIMEZONE,
        holidays=UCI_HOLIDAYS,
        params=EvalParams(bsteps=6, fsteps=6),
    )
    assert len(windows) > 0
    assert set(windows["working_day"]) == {working}


def test_each_dataset_has_the_calendar_of_where_it_was_recorded():
    assert (UCI_HOLIDAYS.country, UCI_HOLIDAYS.subdivision) == ("BE", None)
    assert (ROOM_CLIMATE_HOLIDAYS.country, ROOM_CLIMATE_HOLIDAYS.subdivision) == ("DE", "BY")
    # 6 January is a holiday in Bavaria (Erlangen), not in Berlin.
    assert dt.date(2016, 1, 6) in ROOM_CLIMATE_HOLIDAYS.dates([2016])
