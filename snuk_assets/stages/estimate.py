"""Occupancy estimate: per room and bin, the probability that somebody is there.

Where the lakehouse gets its training truth (the lead's decision, issue 21): a real building
has truth only where people counters are. So each run trains one estimator on the building's
counter rooms (``transforms.counter_taught``): label = the counter's count above 0 in the bin,
features = every input but the counter (motion, CO2, luminosity, sound, Wi-Fi devices, as the
rooms have them), training days = the run's days and up to ``settings.estimate_history_days``
(14) days before them. It then estimates every room of the run's days; a counter room keeps its
counter's verdict as its estimate. Without a counter room, or with fewer than
``counter_taught.MIN_CLASS_BINS`` (288) occupied or free counted bins, the estimate is the
motion label (0 or 1) and ``trained_on`` says ``none (motion label)``. The simulator's truth is
never read here (it only scores the estimate: ``snuk evaluate estimate``).

In-process on the driver, with either engine, as ``stages.metrics``: the one estimator learns
across rooms, so the work is not per room, and a run's room bins are small (a building's day
is about 10 thousand rows). A run trains once: a day's estimate depends on the run that
computed it (a range trains on all its days), unlike the per-room stages.

A counter room's ``room_series`` occupancy is its counter's, so its motion sensors are read
from ``resampled_series`` (its rows only) and combined as ``room_series`` combines them.

No fitted estimator is written: the live step estimates with the estimator of the run of the
day before, refitted from the same tables (``fitted_for_day``). The fit is deterministic
(fixed ``random_state``, the rows sorted), so on the same tables the refit is that run's
estimator (tested: ``tests/live/test_live_estimate.py``), and there is no model table to keep
in step with the estimate's partitions or to migrate; a table the batch corrected since (late
data) gives the estimator of a run on it now.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from snuk_assets.stages.rooms import SERIES_COLUMNS
from snuk_assets.transforms.counter_taught import (
    FROM_ESTIMATOR,
    Taught,
    fit_by_counters,
    taught_by_counters,
)
from snuk_assets.transforms.rooms import combine_sensors

if TYPE_CHECKING:
    from snuk_assets.lakehouse import Lakehouse, WriteReport
    from snuk_assets.registry import BuildingRegistry
    from snuk_assets.settings import SnukSettings

# The day before the training span: the first bins' changes and CO2 baseline look back a day.
FEATURE_PAST_DAYS = 1


@dataclass(frozen=True)
class EstimateResult:
    """One run's write, what was learned, and its rows (for the metadata)."""

    write: WriteReport
    taught: Taught
    training_days: tuple[dt.date, ...]


def estimate_days(settings: SnukSettings, days: list[dt.date]) -> EstimateResult:
    """Replace ``occupancy_estimate`` for ``days``, trained on the counter rooms' bins of
    ``days`` and the ``settings.estimate_history_days`` before them."""
    lakehouse = settings.lakehouse()
    days = sorted(set(days))
    first_trained = days[0] - dt.timedelta(days=settings.estimate_history_days)
    read = _span(first_trained - dt.timedelta(days=FEATURE_PAST_DAYS), days[-1])
    rooms = _read(lakehouse, "room_series", read)
    if rooms.empty:
        write = lakehouse.replace_partitions("occupancy_estimate", SCHEMA.empty_table(), dates=days)
        empty = SCHEMA.empty_table().to_pandas()
        return EstimateResult(write, Taught(empty, reason="no room_series rows"), ())
    counters = counter_rooms(settings.registry())
    taught = taught_by_counters(
        rooms,
        counter_motion=counter_room_motion(lakehouse, counters, read),
        counter_rooms=counters,
        train_from=pd.Timestamp(first_trained, tz="UTC"),
        estimate_from=pd.Timestamp(days[0], tz="UTC"),
        freq=settings.bin_freq,
    )
    rows = taught.estimates
    rows["date"] = rows["bin_start"].dt.date
    rows = rows[rows["date"].isin(set(days))]
    table = pa.Table.from_pandas(rows, schema=SCHEMA, preserve_index=False)
    write = lakehouse.replace_partitions("occupancy_estimate", table, dates=days)
    taught.estimates = rows
    dates = rooms["bin_start"].dt.date
    return EstimateResult(write, taught, tuple(sorted(set(dates[dates >= first_trained]))))


def fitted_for_day(settings: SnukSettings, day: dt.date) -> Taught:
    """The estimator the run of ``day`` alone trains (``estimate_days([day])``), without
    estimating: the same rows read, the same fit. The live step of ``day + 1`` estimates
    with it (``live.step.building_config``): the stage keeps no fitted estimator, and this
    fit is deterministic, so refitting on the tables is the batch's own estimator."""
    lakehouse = settings.lakehouse()
    first_trained = day - dt.timedelta(days=settings.estimate_history_days)
    read = _span(first_trained - dt.timedelta(days=FEATURE_PAST_DAYS), day)
    counters = counter_rooms(settings.registry())
    if not counters:  # nothing to learn from: the tables are not read
        return Taught(SCHEMA.empty_table().to_pandas(), reason="no counter room with counted bins")
    rooms = _read(lakehouse, "room_series", read)
    if rooms.empty:
        return Taught(SCHEMA.empty_table().to_pandas(), reason="no room_series rows")
    return fit_by_counters(
        rooms,
        counter_motion=counter_room_motion(lakehouse, counters, read),
        counter_rooms=counters,
        train_from=pd.Timestamp(first_trained, tz="UTC"),
        freq=settings.bin_freq,
    )


def counter_rooms(registry: BuildingRegistry) -> list[str]:
    """The rooms with a people counter, sorted."""
    sensors = registry.sensors
    return sorted(set(sensors.loc[sensors["sensor_type"] == "people_count", "room_id"]))


def counter_room_motion(
    lakehouse: Lakehouse, rooms: list[str], days: list[dt.date]
) -> pd.DataFrame:
    """The motion sensors alone of each of ``rooms``, combined per bin (``combine_sensors``):
    ``room_id``, ``bin_start``, ``occupancy``, ``idle_minutes``."""
    # On the driver only: stage modules are imported by workers, which must not load delta-rs.
    from snuk_assets.lakehouse import KeyRange

    parts = []
    for room_id in rooms:
        series = lakehouse.read(
            "resampled_series",
            dates=days,
            columns=SERIES_COLUMNS,
            keys=KeyRange("room_id", room_id, room_id),
            missing_ok=True,
        )
        motion = None if series is None else series.to_pandas()
        if motion is not None:
            motion = motion[motion["sensor_type"] == "motion"]
            if len(motion):
                parts.append(combine_sensors(motion))
    columns = ["room_id", "bin_start", "occupancy", "idle_minutes"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def shares(result: EstimateResult) -> dict[str, float]:
    """Over the bins with both: the share occupied by the estimate (>= 0.5) and by the motion
    label, and the share of bins the two disagree on."""
    rows = result.taught.estimates
    both = rows[rows["estimate"].notna() & rows["motion_label"].notna()]
    if both.empty:
        return {}
    by_estimate = (both["estimate"] >= 0.5).to_numpy()
    by_motion = (both["motion_label"] > 0).to_numpy()
    return {
        "occupied_by_estimate": round(float(by_estimate.mean()), 4),
        "occupied_by_motion_label": round(float(by_motion.mean()), 4),
        "estimate_and_motion_label_disagree": round(float((by_estimate != by_motion).mean()), 4),
    }


def decided_shares(result: EstimateResult) -> dict[str, float]:
    """Per input, the share of the estimator's bins whose decision it decided (``{}`` when
    nothing was trained)."""
    taught = result.taught
    if taught.estimator is None or taught.features is None or taught.features.empty:
        return {}
    return {
        name: round(share, 4)
        for name, share in taught.estimator.decided_shares(taught.features).items()
    }


def estimator_bins(result: EstimateResult) -> int:
    """How many of the run's bins the estimator estimated."""
    return int((result.taught.estimates["source"] == FROM_ESTIMATOR).sum())


def _span(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def _read(lakehouse: Lakehouse, name: str, days: list[dt.date]) -> pd.DataFrame:
    table = lakehouse.read(name, dates=days, missing_ok=True)
    if table is None:
        return pd.DataFrame(columns=["room_id", "bin_start", "occupancy", "idle_minutes"])
    frame = table.to_pandas()
    frame["bin_start"] = pd.to_datetime(frame["bin_start"], utc=True)
    return frame


SCHEMA = pa.schema(
    [
        ("room_id", pa.string()),
        ("bin_start", pa.timestamp("us", tz="UTC")),
        ("estimate", pa.float64()),
        ("motion_label", pa.float64()),
        ("source", pa.string()),
        ("inputs", pa.string()),
        ("date", pa.date32()),
    ]
)
