"""Per-sensor bins to per-room bins: occupancy from motion sensors, climate as weighted means.

A room's ``occupancy`` is the share of a bin in which ANY of its motion sensors saw motion. The
per-sensor ON fractions cannot give that union exactly (two sensors ON for 40% each may overlap
fully or not at all), so the estimator is the largest single-sensor fraction: a lower bound of
the union, exact for one sensor and whenever the sensors' ON periods are nested. Its
``occupancy_coverage`` is the largest motion coverage: the share of the bin some motion sensor
was online. Its ``idle_minutes`` is the least over its motion sensors: the minutes since any of
them last saw motion. Climate signals are coverage-weighted means of the room's sensors of each
type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Room column prefix and wide-view prefix of each signal, keyed by sensor type.
SIGNALS: dict[str, tuple[str, str]] = {
    "motion": ("occupancy", "occ"),
    "temperature": ("temperature", "tmp"),
    "humidity": ("humidity", "hum"),
    "luminosity": ("luminosity", "lum"),
}
SIGNAL_COLUMNS = [column for column, _ in SIGNALS.values()]
IDLE_COLUMN = "idle_minutes"
ROOM_SERIES_COLUMNS = [
    "room_id",
    "bin_start",
    *SIGNAL_COLUMNS,
    IDLE_COLUMN,
    *(f"{column}_coverage" for column in SIGNAL_COLUMNS),
]
# The room_series columns that feature windows lag, each with the sensor type it comes from.
WINDOWED_COLUMNS: dict[str, str] = {
    "occupancy": "motion",
    IDLE_COLUMN: "motion",
    "temperature": "temperature",
    "humidity": "humidity",
    "luminosity": "luminosity",
}


def windowed_columns(sensor_types: set[str]) -> list[str]:
    """The ``WINDOWED_COLUMNS`` a room with sensors of ``sensor_types`` has data for."""
    return [column for column, needs in WINDOWED_COLUMNS.items() if needs in sensor_types]


def combine_sensors(series: pd.DataFrame) -> pd.DataFrame:
    """Combine each room's sensors, bin by bin.

    Parameters
    ----------
    series : pandas.DataFrame
        Resampled bins as written by ``resampled_series``: ``room_id`` (str; rows without a
        room are ignored), ``sensor_type``, ``bin_start`` (UTC), ``value`` (the type's unit;
        for motion the ON share 0..1 of the covered part of the bin), ``coverage`` (0..1) and,
        optionally, ``idle_minutes`` (motion: minutes without motion at the bin's end).

    Returns
    -------
    pandas.DataFrame
        One row per room and bin present in ``series``, sorted by ``room_id``, ``bin_start``:
        ``occupancy`` (0..1, max over motion sensors, a lower bound of the union; NaN where no
        motion sensor has coverage), ``temperature`` (degrees Celsius), ``humidity`` (percent
        RH), ``luminosity`` (lux), each a coverage-weighted mean (NaN without coverage), and
        ``<signal>_coverage`` (0..1; max over motion sensors, mean over the room's sensors of
        the type otherwise; NaN where the room has no sensor of the type), and
        ``idle_minutes`` (the least over the room's motion sensors; NaN where none is online
        at the bin's end or the input has no ``idle_minutes``).
    """
    series = series[series["room_id"].notna() & series["sensor_type"].isin(list(SIGNALS))]
    keys = ["room_id", "bin_start"]
    grid = series[keys].drop_duplicates().set_index(keys).sort_index()
    covered = series.assign(
        value=series["value"].where(series["coverage"] > 0),
        weighted=(series["value"] * series["coverage"]).where(series["coverage"] > 0),
    )
    columns = {}
    for sensor_type, (name, _) in SIGNALS.items():
        rows = covered[covered["sensor_type"] == sensor_type].groupby(keys)
        if sensor_type == "motion":
            columns[name] = rows["value"].max()
            columns[f"{name}_coverage"] = rows["coverage"].max()
            if IDLE_COLUMN in series:
                columns[IDLE_COLUMN] = rows[IDLE_COLUMN].min()
        else:
            weight = rows["coverage"].sum()
            columns[name] = rows["weighted"].sum(min_count=1) / weight.where(weight > 0)
            columns[f"{name}_coverage"] = rows["coverage"].mean()
    out = grid.join(pd.DataFrame(columns), how="left").reset_index()
    for column in ROOM_SERIES_COLUMNS[2:]:
        if column not in out:
            out[column] = np.nan
    return out[ROOM_SERIES_COLUMNS].astype({c: "float64" for c in ROOM_SERIES_COLUMNS[2:]})


# Wide-view prefix of each room_series value column, in the wide view's order.
WIDE_PREFIXES: dict[str, str] = {
    "occupancy": "occ",
    IDLE_COLUMN: "idle",
    **{column: prefix for column, prefix in SIGNALS.values() if column != "occupancy"},
}


def wide_room_view(rooms: pd.DataFrame) -> pd.DataFrame:
    """One row per bin, one column per room and signal: ``occ-<room>``, ``idle-<room>``, ...

    Parameters
    ----------
    rooms : pandas.DataFrame
        As returned by :func:`combine_sensors` (e.g. one day of the ``room_series`` table).

    Returns
    -------
    pandas.DataFrame
        ``bin_start`` then, for each room in sorted order, ``occ-<room>``, ``idle-<room>``
        (idle minutes), ``tmp-<room>``, ``hum-<room>``, ``lum-<room>`` (units as in
        :func:`combine_sensors`).
    """
    names = WIDE_PREFIXES
    wide = rooms.pivot(index="bin_start", columns="room_id", values=list(names)).sort_index()
    ordered = [(column, room) for room in sorted(rooms["room_id"].unique()) for column in names]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(ordered))
    wide.columns = [f"{names[column]}-{room}" for column, room in wide.columns]
    return wide.reset_index()
