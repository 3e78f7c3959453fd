"""Ground truth of the simulation: how many people are in each room, second by second.

Schedules are drawn per room and local day (arrivals, lunch, meetings, coffee, passing
through), then merged into constant-headcount intervals in UTC: the truth the sensors
observe and the forecasts are evaluated against.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from snuk_assets.simulate.workdays import is_working_day, local_midnight_utc_s, utc_midnight_s
from snuk_assets.transforms.resample.bins import DEFAULT_FREQ

HOUR_S = 3600
TRUTH_COLUMNS = ["room_id", "start", "end", "people"]


def simulate_occupancy(
    rooms: pd.DataFrame,
    *,
    timezone: str,
    start: dt.date,
    days: int,
    seed: int,
    holidays: frozenset[dt.date],
) -> pd.DataFrame:
    """Draw who is where for ``days`` UTC days from ``start``.

    Parameters
    ----------
    rooms : pandas.DataFrame
        Registry rooms: ``room_id``, ``kind``, ``area_m2``.
    timezone : str
        The building's time zone; schedules follow its wall clock.
    start, days : date, int
        The simulated span is ``[start 00:00 UTC, start + days 00:00 UTC)``.
    seed : int
        Same seed, same truth.
    holidays : frozenset of date
        Days the building is empty, like weekends.

    Returns
    -------
    pandas.DataFrame
        ``room_id`` (str), ``start``, ``end`` (UTC timestamps, whole seconds, end exclusive),
        ``people`` (int, >= 1). Intervals of one room do not overlap; time not covered is empty.
    """
    span_start_s = utc_midnight_s(start)
    span_end_s = span_start_s + days * 24 * HOUR_S
    pieces = []
    # Local days one either side cover the UTC span's edges in any time zone.
    local_days = [start + dt.timedelta(days=n) for n in range(-1, days + 1)]
    for room_index, room in enumerate(rooms.itertuples()):
        for day in local_days:
            if not is_working_day(day, holidays):
                continue
            rng = np.random.default_rng([seed, room_index, day.toordinal()])
            starts, ends = _presence(room.kind, room.area_m2, rng)
            midnight_s = local_midnight_utc_s(day, timezone)
            seg_start, seg_end, people = _headcount_segments(starts + midnight_s, ends + midnight_s)
            seg_start = np.clip(seg_start, span_start_s, span_end_s)
            seg_end = np.clip(seg_end, span_start_s, span_end_s)
            keep = seg_end > seg_start
            pieces.append((room.room_id, seg_start[keep], seg_end[keep], people[keep]))
    return _truth_frame(pieces)


def _presence(kind: str, area_m2: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-person presence intervals in local seconds of one working day."""
    if kind in ("office", "open_space"):
        per_person_m2 = 12.0 if kind == "office" else 18.0
        return _desk_workers(max(1, round(area_m2 / per_person_m2)), rng)
    if kind == "meeting":
        return _meetings(capacity=max(2, int(area_m2 / 2.5)), rng=rng)
    if kind == "kitchen":
        return _visits(rng.poisson(60), mean_s=300, min_s=60, max_s=1200, rng=rng)
    if kind == "corridor":
        return _visits(rng.poisson(area_m2 * 2.5), mean_s=40, min_s=8, max_s=120, rng=rng)
    return _visits(rng.poisson(2), mean_s=240, min_s=30, max_s=900, rng=rng)


def _desk_workers(n_people: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrive ~8-10h, lunch, short breaks, leave ~16-19h; a few stay late, some are away."""
    starts, ends = [], []
    for _ in range(n_people):
        if rng.random() < 0.12:  # holiday, sick, travelling
            continue
        arrive = np.clip(rng.normal(8.9, 0.6), 7.3, 10.5) * HOUR_S
        if rng.random() < 0.06:
            leave = rng.uniform(19.5, 22.5) * HOUR_S
        else:
            leave = np.clip(rng.normal(17.4, 0.7), 16.0, 19.0) * HOUR_S
        # Times away from the desk: lunch (most people) and a few short breaks.
        breaks = rng.uniform(arrive, leave, rng.poisson(2))
        away = [(t, t + rng.uniform(4, 15) * 60) for t in breaks]
        if rng.random() < 0.75:
            lunch = rng.normal(12.4, 0.4) * HOUR_S
            away.append((lunch, lunch + rng.uniform(25, 60) * 60))
        cursor = arrive
        for away_start, away_end in sorted(away):
            if away_start > cursor:
                starts.append(cursor)
                ends.append(min(away_start, leave))
            cursor = max(cursor, away_end)
        if cursor < leave:
            starts.append(cursor)
            ends.append(leave)
    return _rounded(starts, ends)


def _meetings(capacity: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Meetings on the half-hour grid, 08:00-17:30; attendees trickle in and out."""
    booked = np.zeros(22, dtype=bool)  # half-hour slots from 08:00 to 19:00
    starts, ends = [], []
    for _ in range(rng.integers(1, 7)):
        slot, length = int(rng.integers(0, 19)), int(rng.choice([1, 2, 2, 3, 4]))
        if booked[slot : slot + length].any():
            continue
        booked[slot : slot + length] = True
        begin_s, end_s = (8 + slot / 2) * HOUR_S, (8 + (slot + length) / 2) * HOUR_S
        attendees = int(rng.integers(2, min(capacity, 12) + 1))
        starts += list(begin_s + rng.uniform(-180, 300, attendees))
        ends += list(end_s + rng.uniform(-300, 240, attendees))
    return _rounded(starts, ends)


def _visits(n: int, *, mean_s: float, min_s: float, max_s: float, rng: np.random.Generator):
    """Short visits around the morning, lunch and afternoon peaks, plus a daytime background."""
    peak_h = rng.choice([8.7, 12.5, 15.3], n) + rng.normal(0, 0.6, n)
    background_h = rng.uniform(7.5, 19.0, n)
    hour = np.where(rng.random(n) < 0.6, peak_h, background_h)
    starts = hour * HOUR_S
    ends = starts + np.clip(rng.exponential(mean_s, n), min_s, max_s)
    return _rounded(starts, ends)


def _rounded(starts, ends) -> tuple[np.ndarray, np.ndarray]:
    starts, ends = np.rint(starts).astype(np.int64), np.rint(ends).astype(np.int64)
    keep = ends > starts
    return starts[keep], ends[keep]


def _headcount_segments(starts: np.ndarray, ends: np.ndarray):
    """Merge person intervals into maximal intervals of constant, positive headcount."""
    if starts.size == 0:
        return starts, ends, starts
    times = np.concatenate([starts, ends])
    steps = np.concatenate([np.ones_like(starts), -np.ones_like(ends)])
    order = np.lexsort((steps, times))  # leavers before arrivals at the same second
    times, count = times[order], np.cumsum(steps[order])
    # The count after the last event at each distinct second holds until the next second.
    last_at_time = np.append(times[1:] != times[:-1], True)
    times, count = times[last_at_time], count[last_at_time]
    changed = np.append(True, count[1:] != count[:-1])
    times, count = times[changed], count[changed]
    occupied = count[:-1] > 0
    return times[:-1][occupied], times[1:][occupied], count[:-1][occupied]


def _truth_frame(pieces) -> pd.DataFrame:
    if not pieces:
        return pd.DataFrame({c: [] for c in TRUTH_COLUMNS})
    room_ids = np.concatenate([np.full(len(p[1]), p[0], dtype=object) for p in pieces])
    truth = pd.DataFrame(
        {
            "room_id": pd.array(room_ids, dtype="str"),
            "start": pd.to_datetime(np.concatenate([p[1] for p in pieces]), unit="s", utc=True),
            "end": pd.to_datetime(np.concatenate([p[2] for p in pieces]), unit="s", utc=True),
            "people": np.concatenate([p[3] for p in pieces]).astype("int64"),
        }
    )
    return truth.sort_values(["room_id", "start"], ignore_index=True)


def truth_occupied_fraction(
    truth: pd.DataFrame,
    *,
    start: dt.datetime | pd.Timestamp | str,
    end: dt.datetime | pd.Timestamp | str,
    freq: str = DEFAULT_FREQ,
    room_ids: list[str] | None = None,
) -> pd.DataFrame:
    """Exact fraction of each time bin during which a room was occupied.

    Parameters
    ----------
    truth : pandas.DataFrame
        As written to ``occupancy_truth.parquet``: ``room_id``, ``start``, ``end`` (UTC),
        ``people``; intervals of one room do not overlap.
    start, end : datetime-like
        Bins cover ``[start, end)``; naive values are taken as UTC.
    freq : str
        Bin width as a pandas frequency, e.g. ``"5min"``.
    room_ids : list of str, optional
        Rooms to report (rooms without intervals get 0.0). Default: the rooms in ``truth``.

    Returns
    -------
    pandas.DataFrame
        ``room_id``, ``bin_start`` (UTC), ``occupied_fraction`` in [0, 1]: occupied time in the
        bin divided by the bin width, computed from the interval ends in milliseconds.
    """
    bins = pd.date_range(_utc(start), _utc(end), freq=freq, inclusive="left")
    bin_ms = bins.as_unit("ms").asi8
    width_ms = pd.Timedelta(freq).value // 1_000_000
    rooms = sorted(truth["room_id"].unique()) if room_ids is None else list(room_ids)
    by_room = dict(tuple(truth.groupby("room_id", sort=False)))
    frames = []
    for room_id in rooms:
        intervals = by_room.get(room_id)
        if intervals is None or intervals.empty:
            occupied_ms = np.zeros(len(bin_ms))
        else:
            s = intervals["start"].dt.as_unit("ms").astype("int64").to_numpy()
            e = intervals["end"].dt.as_unit("ms").astype("int64").to_numpy()
            occupied_ms = _occupied_before(bin_ms + width_ms, s, e) - _occupied_before(bin_ms, s, e)
        frames.append(
            pd.DataFrame(
                {"room_id": room_id, "bin_start": bins, "occupied_fraction": occupied_ms / width_ms}
            )
        )
    return pd.concat(frames, ignore_index=True)


def _occupied_before(t: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Total occupied time (ms) before each ``t``, for sorted non-overlapping intervals."""
    order = np.argsort(starts)
    starts, ends = starts[order], ends[order]
    full_before = np.concatenate([[0], np.cumsum(ends - starts)])
    n_started = np.searchsorted(starts, t, side="right")
    # Intervals before the last started one are complete; the last one may be partial.
    last = np.maximum(n_started - 1, 0)
    partial = np.where(n_started > 0, np.clip(t - starts[last], 0, ends[last] - starts[last]), 0)
    return full_before[last] + partial


def _utc(value) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
