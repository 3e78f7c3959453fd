"""``snuk forget --room``: no row of the room in any table, and no file holding it, after.

On a copy of the live tests' batch building (every pipeline table, models and forecasts
included), with the live table and the command audit added, and its landing zone.
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import write_deltalake

from snuk_assets.cli import main
from snuk_assets.control.safety import Actuation
from snuk_assets.privacy import RAW_TABLES, expire_raw, room_sensor_ids
from snuk_assets.settings import SnukSettings

ROOM = "7103"


@pytest.fixture
def building(batch_building, tmp_path, monkeypatch):
    source = batch_building.settings
    for part in ("landing", "lakehouse"):
        shutil.copytree(pathlib.Path(getattr(source, f"{part}_uri")), tmp_path / part)
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"),
        lakehouse_uri=str(tmp_path / "lakehouse"),
        registry_path=source.registry_path,
    )
    lakehouse = settings.lakehouse()
    building_id = settings.registry().building_id
    when = dt.datetime(2016, 6, 7, 8, tzinfo=dt.UTC)
    actuation = Actuation(lakehouse, building_id)
    for room in ("7101", ROOM):
        actuation.set(room, True, by="ada", role="admin", reason="pilot", when=when)
    forecasts = lakehouse.read("occupancy_forecasts").to_pandas().assign(building_id=building_id)
    # appended: a live service test of the same session has made the table in the copy already
    write_deltalake(
        lakehouse.table_uri("live_room_forecasts"),
        forecasts,
        mode="append",
        partition_by=["date"],
        schema_mode="merge",
    )
    for name, value in {
        "SNUK_LANDING_URI": settings.landing_uri,
        "SNUK_LAKEHOUSE_URI": settings.lakehouse_uri,
        "SNUK_REGISTRY": settings.registry_path,
    }.items():
        monkeypatch.setenv(name, value)
    return settings


def room_mask(frame: pd.DataFrame, sensors: set[str]) -> pd.Series:
    mask = pd.Series(False, index=frame.index)
    if "room_id" in frame:
        mask |= frame["room_id"] == ROOM
    if "sensor_id" in frame:
        mask |= frame["sensor_id"].isin(sensors)
    if "raw_text" in frame:
        mask |= frame["raw_text"].fillna("").str.contains("|".join(sensors))
    return mask


def rows_of_room(frame: pd.DataFrame, sensors: set[str]) -> int:
    return int(room_mask(frame, sensors).sum())


def data_file(path: pathlib.Path) -> pd.DataFrame:
    """The identifying columns of one Parquet file, read alone (not through the Delta log)."""
    names = pq.read_schema(path).names
    columns = [c for c in ("room_id", "sensor_id", "raw_text") if c in names]
    table = pq.read_table(path, columns=columns)
    return table.cast(pa.schema([(c, pa.string()) for c in columns])).to_pandas()


def every_table(settings) -> dict[str, pd.DataFrame]:
    lakehouse = settings.lakehouse()
    return {name: lakehouse.table(name).to_pandas() for name in lakehouse.table_names()}


def test_forget_leaves_no_row_and_no_file_of_the_room(building, capsys):
    settings = building
    sensors = room_sensor_ids(settings, ROOM)
    assert len(sensors) >= 2
    before = every_table(settings)
    holding = {name for name, frame in before.items() if rows_of_room(frame, sensors)}
    # every table of the pipeline, the live table and the audit hold the room before
    assert {
        "raw_observations",
        "resampled_series",
        "room_series",
        "feature_windows",
        "occupancy_models",
        "occupancy_forecasts",
        "live_room_forecasts",
        "control_commands",
    } <= holding

    assert main(["forget", "--room", ROOM]) == 0
    printed = capsys.readouterr().out
    assert "raw_observations" in printed

    after = every_table(settings)
    assert set(after) == set(before)
    for name, frame in after.items():
        assert rows_of_room(frame, sensors) == 0, name
        others = len(before[name]) - rows_of_room(before[name], sensors)
        assert len(frame) == others, name  # every other room's row is still there
    lake = pathlib.Path(settings.lakehouse_uri)
    for path in lake.rglob("*.parquet"):  # every data file and checkpoint on disk
        if "_delta_log" in path.parts:
            text = json.dumps(pq.read_table(path).to_pylist(), default=str)
            assert f'\\"{ROOM}\\"' not in text and not any(s in text for s in sensors), path
        else:
            assert rows_of_room(data_file(path), sensors) == 0, path
    for path in lake.rglob("_delta_log/*.json"):  # file statistics, delete predicates
        text = path.read_text()
        assert f'"{ROOM}"' not in text and f"'{ROOM}'" not in text, path
        assert not any(s in text for s in sensors), path
    for path in pathlib.Path(settings.landing_uri).rglob("*"):
        if path.is_file():
            assert not any(s.encode() in path.read_bytes() for s in sensors), path
    # the audit's enable rows went too: the room is no longer enabled for actuation
    assert Actuation(settings.lakehouse(), settings.registry().building_id).enabled_rooms() == {
        "7101"
    }


def test_forget_before_a_date_keeps_the_later_days(building):
    settings = building
    sensors = room_sensor_ids(settings, ROOM)
    cut = dt.date(2016, 6, 5)
    assert main(["forget", "--room", ROOM, "--before", cut.isoformat()]) == 0
    for name, frame in every_table(settings).items():
        if "date" not in frame:
            continue
        mine = frame[room_mask(frame, sensors)]
        assert (pd.to_datetime(mine["date"]).dt.date >= cut).all(), name
    raw = settings.lakehouse().read("raw_observations").to_pandas()
    assert raw["sensor_id"].isin(sensors).any()  # the later days' rows are kept


def test_raw_observations_expire_after_the_retention(building):
    settings = building
    today = dt.date(2016, 6, 9)  # the batch building's days are 2016-06-01 .. 06-08
    lakehouse = settings.lakehouse()
    aggregates = len(lakehouse.read("room_series"))
    done = expire_raw(settings, retention_days=3, today=today)
    assert done["cutoff"] == "2016-06-06" and done["raw_observations"] > 0
    for name in RAW_TABLES:
        if lakehouse.exists(name):
            dates = lakehouse.read(name).to_pandas()["date"]
            assert (pd.to_datetime(dates).dt.date >= dt.date(2016, 6, 6)).all()
    folders = {p.parent for p in pathlib.Path(settings.landing_uri, "raw_data").rglob("*.jsonl")}
    assert sorted(f.name for f in folders) == ["06", "07", "08"]
    assert len(lakehouse.read("room_series")) == aggregates  # aggregates stay
