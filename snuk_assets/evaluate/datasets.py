"""Public occupancy datasets as SNUK raw observations (``sensor_id``, ``ts``, ``value``).

Each room gets gateway-shaped sensor ids; the ground-truth occupancy becomes the room's motion
sensor (1 occupied, 0 free), so the pipeline's own ``occupancy`` is the truth. Channels SNUK
has no type for (UCI's humidity ratio, the room-climate second light sensor) are left out;
UCI's CO2 comes apart (``uci_co2_observations``), for the occupancy estimate.
"""

from __future__ import annotations

import pathlib

import pandas as pd

from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.transforms.holidays import HolidayCalendar

# Each dataset's time zone and public holidays (the windows' working_day): where it was recorded.
UCI_TIMEZONE = "Europe/Brussels"  # the UCI office is in Mons, Belgium
UCI_HOLIDAYS = HolidayCalendar("BE")
ROOM_CLIMATE_TIMEZONE = "Europe/Berlin"  # the room-climate study ran in Erlangen, Germany
ROOM_CLIMATE_HOLIDAYS = HolidayCalendar("DE", "BY")  # Erlangen is in Bavaria
_UCI_COLUMNS = {"Temperature": "t", "Humidity": "h", "Light": "l", "Occupancy": "m"}
UCI_CO2_SENSOR = "9000-001-001-001-co2"
UCI_CATALOG = SensorCatalog(type_by_id={UCI_CO2_SENSOR: "co2"})  # types the CO2 sensor


def sensor_id(room: int, node: int, letter: str) -> str:
    """A gateway-shaped id: ``9000-<room>-<node>-001-<letter>``."""
    return f"9000-{room:03d}-{node:03d}-001-{letter}"


def uci_observations(path: str | pathlib.Path) -> pd.DataFrame:
    """One UCI Occupancy Detection file as observations of room 1 (ts in UTC).

    The header names 7 columns but each row has 8 fields, a quoted row index first; pandas
    then takes the index column as the row label. Times are local (Belgium) wall clock.
    """
    raw = pd.read_csv(path)
    if "date" not in raw.columns or not set(_UCI_COLUMNS) <= set(raw.columns):
        raise ValueError(
            f"{path}: expected the UCI columns date, {', '.join(_UCI_COLUMNS)}; "
            f"found {list(raw.columns)}"
        )
    ts = pd.to_datetime(raw["date"]).dt.tz_localize(UCI_TIMEZONE).dt.tz_convert("UTC")
    frames = [
        pd.DataFrame({"sensor_id": sensor_id(1, 1, letter), "ts": ts, "value": raw[column]})
        for column, letter in _UCI_COLUMNS.items()
    ]
    return _sorted(frames)


def uci_co2_observations(path: str | pathlib.Path) -> pd.DataFrame:
    """The CO2 column (ppm) of one UCI file as sensor ``UCI_CO2_SENSOR`` (``UCI_CATALOG``)."""
    raw = pd.read_csv(path)
    if "CO2" not in raw.columns:
        raise ValueError(f"{path}: expected a CO2 column; found {list(raw.columns)}")
    ts = pd.to_datetime(raw["date"]).dt.tz_localize(UCI_TIMEZONE).dt.tz_convert("UTC")
    return _sorted([pd.DataFrame({"sensor_id": UCI_CO2_SENSOR, "ts": ts, "value": raw["CO2"]})])


def room_climate_observations(folder: str | pathlib.Path) -> pd.DataFrame:
    """Every measurement file of one room-climate location as observations of that room.

    Each node's temperature, humidity and light sensor 1 become sensors of the room; the
    occupant count (``Occ`` > 0) becomes one motion sensor, from each timestamp of the files.
    """
    files = sorted(pathlib.Path(folder).glob("*.csv"))
    if not files:
        raise ValueError(f"{folder}: no room_climate-*.csv measurement files")
    names = [
        "eid",
        "abs_ms",
        "rel_s",
        "node",
        "temp",
        "rel_h",
        "l1",
        "l2",
        "occ",
        "act",
        "door",
        "win",
    ]
    raw = pd.concat([pd.read_csv(f, names=names, skipinitialspace=True) for f in files])
    raw = raw.drop_duplicates(["abs_ms", "node"])
    ts = pd.to_datetime(raw["abs_ms"], unit="ms", utc=True)
    frames = [
        pd.DataFrame(
            {
                "sensor_id": [sensor_id(1, int(n), letter) for n in raw["node"]],
                "ts": ts,
                "value": raw[column],
            }
        )
        for column, letter in (("temp", "t"), ("rel_h", "h"), ("l1", "l"))
    ]
    occupied = (raw["occ"] > 0).astype(float).groupby(ts.to_numpy()).max()
    frames.append(
        pd.DataFrame(
            {"sensor_id": sensor_id(1, 0, "m"), "ts": occupied.index, "value": occupied.to_numpy()}
        )
    )
    return _sorted(frames)


def _sorted(frames: list[pd.DataFrame]) -> pd.DataFrame:
    observations = pd.concat(frames, ignore_index=True).dropna()
    observations["ts"] = pd.to_datetime(observations["ts"], utc=True)
    observations = observations.drop_duplicates(["sensor_id", "ts"], keep="last")
    return observations.sort_values(["sensor_id", "ts"], ignore_index=True)


def landing_lines(observations: pd.DataFrame) -> str:
    """The observations in the gateway's line format of the landing zone."""
    ms = (
        observations["ts"].astype("int64") // 1_000_000
        if observations["ts"].dt.unit == "ns"
        else observations["ts"].dt.as_unit("ms").astype("int64")
    )
    return "".join(
        f"sensor_id='{s}', timestamp={t}, value={v},\n"
        for s, t, v in zip(observations["sensor_id"], ms, observations["value"], strict=True)
    )
