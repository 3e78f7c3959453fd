"""ROBOD savings on a hand-made room file: what each policy switches off, counted exactly."""

from __future__ import annotations

import pandas as pd
import pytest

from snuk_assets.control.robod import ROOMS, robod_savings


def write_room(path, presence, lighting, *, fan_column="fcu_fan_energy", start="2021-09-07 06:00"):
    stamps = pd.date_range(start, periods=len(presence), freq="5min")
    pd.DataFrame(
        {
            "timestamp": [f"{t:%Y-%m-%d %H:%M} +08:00" for t in stamps],
            "ceiling_fan_energy": 0.0,
            "lighting_energy": lighting,
            fan_column: 0.0,
            "chilled_water_energy": 1.0,
            "occupant_presence": presence,
        }
    ).to_csv(path, index=False)


def test_savings_per_policy_and_dark_minutes(tmp_path):
    # 06:00 .. 07:55 on a Tuesday: present at 07:00 and 07:05 only, lamps logged on throughout.
    presence = [0] * 12 + [1, 1] + [0] * 10
    for name in ROOMS:
        fan = "ahu_fan_energy" if name == "Room3" else "fcu_fan_energy"
        write_room(tmp_path / f"combined_{name}.csv", presence, [1.0] * 24, fan_column=fan)
    room = robod_savings(tmp_path)["Room1"]
    assert room["switched_kwh"] == 24 and room["switched_kwh_empty"] == 22
    assert room["chilled_water_kwh_empty"] == 22
    policies = room["policies"]
    assert policies["oracle"]["switched_kwh_saved"] == 22
    # Reactive: on in the 4 rows after a present row (20 min), decided on earlier rows only,
    # so it is off in the first present row (5 dark minutes).
    assert policies["reactive"]["switched_kwh_saved"] == 24 - 5
    assert policies["reactive"]["occupied_minutes_off"] == 5
    # The schedule: off 06:00-06:55 (12 rows), on from 07:00.
    assert policies["fixed_schedule"]["switched_kwh_saved"] == 12
    assert policies["fixed_schedule"]["occupied_minutes_off"] == 0


def test_incomplete_rows_are_counted_not_used(tmp_path):
    for name in ROOMS:
        fan = "ahu_fan_energy" if name == "Room3" else "fcu_fan_energy"
        write_room(tmp_path / f"combined_{name}.csv", [0, 1, 0], [1.0, None, 1.0], fan_column=fan)
    room = robod_savings(tmp_path)["Room2"]
    assert room["rows"] == 3 and room["rows_incomplete"] == 1
    assert room["switched_kwh"] == 2


def test_a_missing_room_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="combined_Room1.csv"):
        robod_savings(tmp_path)


def test_the_schedule_keeps_singapores_holidays(tmp_path):
    # 9 August 2021, a Monday, is Singapore's National Day: the schedule stays off all day.
    presence = [0] * 12 + [1, 1] + [0] * 10
    for name in ROOMS:
        fan = "ahu_fan_energy" if name == "Room3" else "fcu_fan_energy"
        write_room(
            tmp_path / f"combined_{name}.csv",
            presence,
            [1.0] * 24,
            fan_column=fan,
            start="2021-08-09 06:00",
        )
    schedule = robod_savings(tmp_path)["Room1"]["policies"]["fixed_schedule"]
    assert schedule["switched_kwh_saved"] == 24
    assert schedule["occupied_minutes_off"] == 10
