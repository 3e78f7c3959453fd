"""The simulated building scored against the truth it writes: how often a label says what people do.

The simulator's observations go through the stages' group functions as in the assets
(``resample_sensor`` per sensor, ``combine_room`` per room); beside each room bin stand the
truth's occupied share and the label from the motion sensors alone (in rooms with a people
counter the pipeline's ``occupancy`` is the counter's).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pandas as pd
import pyarrow as pa

from snuk_assets.evaluate.run import per_group
from snuk_assets.registry import BuildingRegistry
from snuk_assets.simulate import plan_simulation, simulate_observations, truth_occupied_fraction
from snuk_assets.stages import resample, rooms
from snuk_assets.transforms.resample.bins import DEFAULT_MAX_ON


def simulated_rooms(
    registry: BuildingRegistry, *, start: dt.date, days: int, seed: int, freq: str = "5min"
) -> pd.DataFrame:
    """Room bins of the simulated building with the truth beside them.

    Returns
    -------
    pandas.DataFrame
        The ``room_series`` columns (``room_schema`` of the building's types), then ``kind``
        (the registry's), ``motion_occupancy`` (the ON share from the motion sensors alone,
        NaN without motion coverage), ``motion_idle_minutes`` (their idle minutes) and
        ``occupied_fraction`` (the truth's occupied share of
        the bin, 0..1).
    """
    plan = plan_simulation(registry=registry, start=start, days=days, seed=seed)
    tables = simulate_observations(registry=registry, start=start, days=days, seed=seed, plan=plan)
    observed = pa.concat_tables(
        t.select(["sensor_id", "timestamp_ms", "value", "arrival_date"]) for t in tables
    ).to_pandas()
    raw = pd.DataFrame(
        {
            "sensor_id": observed["sensor_id"].astype(str),
            "ts": pd.to_datetime(observed["timestamp_ms"], unit="ms", utc=True),
            "value": observed["value"],
            "date": observed["arrival_date"],
            "source_file": "simulated",
        }
    )
    del observed
    begin = pd.Timestamp(start, tz="UTC")
    end = begin + pd.Timedelta(days=days)
    sensor_rooms = dict(
        zip(registry.sensors["sensor_id"], registry.sensors["room_id"], strict=True)
    )
    series = per_group(
        raw,
        key="sensor_id",
        fn=partial(
            resample.resample_sensor,
            start=begin,
            end=end,
            freq=freq,
            max_gap={},
            max_on=DEFAULT_MAX_ON,
            rooms=sensor_rooms,
            picture_freq=freq,
            catalog=registry.catalog(),
        ),
        schema=resample.SCHEMA,
    )
    del raw
    types = sorted(set(series["sensor_type"]))
    room_bins = _combined(series, types, freq)
    motion = _combined(series[series["sensor_type"] == "motion"], ["motion"], freq)
    truth = truth_occupied_fraction(
        plan.truth, start=begin, end=end, freq=freq, room_ids=list(registry.rooms["room_id"])
    )
    keys = ["room_id", "bin_start"]
    motion_only = {"occupancy": "motion_occupancy", "idle_minutes": "motion_idle_minutes"}
    out = room_bins.merge(
        motion[[*keys, *motion_only]].rename(columns=motion_only),
        on=keys,
        how="left",
    ).merge(truth, on=keys, how="left")
    out["kind"] = out["room_id"].map(registry.room_kinds())
    return out


def _combined(series: pd.DataFrame, types: list[str], freq: str) -> pd.DataFrame:
    return per_group(
        series[rooms.SERIES_COLUMNS],
        key="room_id",
        fn=partial(rooms.combine_room, picture_freq=freq, sensor_types=types),
        schema=rooms.room_schema(types),
    )


def label_agreement(rooms_bins: pd.DataFrame, label: str) -> pd.Series:
    """Per room kind and ``all``: share of bins whose ``label > 0`` matches the truth's
    ``occupied_fraction > 0``, over the bins where ``label`` is defined."""
    defined = rooms_bins[rooms_bins[label].notna()]
    agree = (defined[label] > 0) == (defined["occupied_fraction"] > 0)
    by_kind = agree.groupby(defined["kind"]).mean()
    return pd.concat([by_kind, pd.Series({"all": agree.mean()})])
