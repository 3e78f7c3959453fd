"""Per-sensor bins to per-room bins: occupancy from motion sensors (or a people counter), every
other type as a coverage-weighted mean.

A room with a ``people_count`` sensor takes its occupancy from it: occupied (1) in a bin where
the count was above 0 at some moment (its mean is above 0), else 0; its ``idle_minutes`` are the
counter's minutes at zero. Otherwise a room's ``occupancy`` is the share of a bin in which ANY
of its motion sensors saw motion. The per-sensor ON fractions cannot give that union exactly
(two sensors ON for 40% each may overlap fully or not at all), so the estimator is the largest
single-sensor fraction: a lower bound of the union, exact for one sensor and whenever the
sensors' ON periods are nested. Its ``occupancy_coverage`` is the largest motion coverage: the
share of the bin some motion sensor was online. Its ``idle_minutes`` is the least over its
motion sensors: the minutes since any of them last saw motion. Every other numeric type
(temperature, humidity, luminosity, co2, contact, sound_level, people_count and the registry's
own) is the coverage-weighted mean of the room's sensors of that type, in the column named after
the type.
"""

from __future__ import annotations

from collections.abc import Iterable

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
OCCUPANCY_TYPES = ("motion", "people_count")
ROOM_SERIES_COLUMNS = [
    "room_id",
    "bin_start",
    *SIGNAL_COLUMNS,
    IDLE_COLUMN,
    *(f"{column}_coverage" for column in SIGNAL_COLUMNS),
]


def further_columns(sensor_types: Iterable[str] = ()) -> list[str]:
    """The value columns of the ``sensor_types`` beyond ``SIGNALS`` (``co2``, ``people_count``,
    ...): each named after its type, in ``sensor_types``' order."""
    return [t for t in sensor_types if t != "motion" and t not in SIGNALS]


def room_series_columns(sensor_types: Iterable[str] = ()) -> list[str]:
    """``ROOM_SERIES_COLUMNS``, then a value and a coverage column for each further type."""
    extra = further_columns(sensor_types)
    return [*ROOM_SERIES_COLUMNS, *(c for t in extra for c in (t, f"{t}_coverage"))]


def has_occupancy(sensor_types: set[str]) -> bool:
    """Whether a room with sensors of ``sensor_types`` has an occupancy signal."""
    return any(t in sensor_types for t in OCCUPANCY_TYPES)


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
    if has_occupancy(sensor_types):
        sensor_types = {*sensor_types, "motion"}
    return [column for column, needs in WINDOWED_COLUMNS.items() if needs in sensor_types]


def combine_sensors(series: pd.DataFrame, *, sensor_types: Iterable[str] = ()) -> pd.DataFrame:
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
        at the bin's end or the input has no ``idle_minutes``). With a ``people_count`` sensor,
        ``occupancy`` (0 or 1), its coverage and ``idle_minutes`` come from the counters.
        Then, for each of ``sensor_types`` beyond those (e.g. ``co2``, ppm), its weighted mean
        and ``<type>_coverage``: the columns of :func:`room_series_columns`.
    """
    columns_out = room_series_columns(sensor_types)
    wanted = [*SIGNALS, *(c for c in columns_out if c in set(sensor_types)), "people_count"]
    series = series[series["room_id"].notna() & series["sensor_type"].isin(wanted)]
    keys = ["room_id", "bin_start"]
    grid = series[keys].drop_duplicates().set_index(keys).sort_index()
    covered = series.assign(
        value=series["value"].where(series["coverage"] > 0),
        weighted=(series["value"] * series["coverage"]).where(series["coverage"] > 0),
    )
    columns = {}
    value_types = {t: name for t, (name, _) in SIGNALS.items() if t != "motion"}
    value_types.update({t: t for t in columns_out if t in set(sensor_types)})
    for sensor_type, name in value_types.items():
        rows = covered[covered["sensor_type"] == sensor_type].groupby(keys)
        weight = rows["coverage"].sum()
        columns[name] = rows["weighted"].sum(min_count=1) / weight.where(weight > 0)
        columns[f"{name}_coverage"] = rows["coverage"].mean()
    columns.update(_occupancy(covered, keys, with_idle=IDLE_COLUMN in series))
    out = grid.join(pd.DataFrame(columns), how="left").reset_index()
    for column in columns_out[2:]:
        if column not in out:
            out[column] = np.nan
    return out[columns_out].astype({c: "float64" for c in columns_out[2:]})


def _occupancy(covered: pd.DataFrame, keys: list[str], *, with_idle: bool) -> dict:
    """``occupancy``, its coverage and ``idle_minutes``: per room from its people counters
    where it has one, from its motion sensors otherwise."""
    counting = set(covered.loc[covered["sensor_type"] == "people_count", "room_id"])
    in_counting = covered["room_id"].isin(counting).to_numpy()
    is_counter = (covered["sensor_type"] == "people_count").to_numpy()
    from_motion = (covered["sensor_type"] == "motion").to_numpy() & ~in_counting
    keep = (is_counter & in_counting) | from_motion
    source = covered[keep]
    value = source["value"].to_numpy(dtype=float)
    # A counter's bin is occupied when the count was above 0 at some moment (mean above 0).
    occupied = np.where(is_counter[keep], np.where(np.isnan(value), np.nan, value > 0), value)
    rows = source.assign(value=occupied).groupby(keys)
    columns = {"occupancy": rows["value"].max(), "occupancy_coverage": rows["coverage"].max()}
    if with_idle:
        columns[IDLE_COLUMN] = rows[IDLE_COLUMN].min()
    return columns


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
