"""What the sensors of one room report during one UTC day, given the true headcount.

Motion sensors (``pir``), CO2 (``air``) and people counters (``counters``) have modules of
their own; here: the headcount grid, change reports, periodic sampling with jitter, and the
offline spans drawn once for the whole run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY_S = 86400


def headcount_grid(
    truth_starts_s: np.ndarray,
    truth_ends_s: np.ndarray,
    people: np.ndarray,
    room_index: np.ndarray,
    *,
    n_rooms: int,
    day_start_s: int,
) -> np.ndarray:
    """Headcount per room (rows) and second of the day (86,400 columns), as int16."""
    # int64 throughout: an empty day (a weekend with nobody in) has empty arrays that would
    # otherwise come in as float and cannot index.
    starts = np.clip(np.asarray(truth_starts_s, dtype=np.int64) - day_start_s, 0, DAY_S)
    ends = np.clip(np.asarray(truth_ends_s, dtype=np.int64) - day_start_s, 0, DAY_S)
    room_index = np.asarray(room_index, dtype=np.int64)
    people = np.asarray(people, dtype=np.int64)
    keep = ends > starts
    steps = np.zeros((n_rooms, DAY_S + 1), dtype=np.int32)
    np.add.at(steps, (room_index[keep], starts[keep]), people[keep])
    np.add.at(steps, (room_index[keep], ends[keep]), -people[keep])
    return np.cumsum(steps[:, :DAY_S], axis=1).astype(np.int16)


def state_changes(states: np.ndarray, previous: bool) -> np.ndarray:
    """Seconds of the day at which ``states`` differs from the state one second earlier."""
    padded = np.concatenate([[previous], states])
    return np.flatnonzero(padded[1:] != padded[:-1])


def periodic_times(
    next_s: np.ndarray,
    *,
    day_end_s: int,
    period_s: float,
    jitter_s: float,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Sample times (epoch s, float) of periodic sensors up to ``day_end_s``.

    Parameters
    ----------
    next_s : numpy.ndarray
        Each sensor's next sample time; the returned copy continues the next day.
    day_end_s : int
        Exclusive end of the day.
    period_s, jitter_s : float
        Mean interval and its standard deviation (clipped at three deviations).

    Returns
    -------
    times : list of numpy.ndarray
        One array per sensor.
    next_s : numpy.ndarray
        The first sample time of each sensor at or after ``day_end_s``.
    """
    n = int((day_end_s - next_s.min()) / (period_s - 3 * jitter_s)) + 2
    steps = period_s + np.clip(
        rng.normal(0, jitter_s, (len(next_s), n)), -3 * jitter_s, 3 * jitter_s
    )
    times = next_s[:, None] + np.concatenate(
        [np.zeros((len(next_s), 1)), np.cumsum(steps, axis=1)], axis=1
    )
    inside = times < day_end_s
    counts = inside.sum(axis=1)
    per_sensor = [row[:count] for row, count in zip(times, counts, strict=True)]
    return per_sensor, times[np.arange(len(next_s)), counts]


def offline_spans(
    sensor_ids: list[str], *, span_start_s: int, span_end_s: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Spans when a sensor is offline: about one sensor in twelve per week, hours to days long.

    Returns
    -------
    pandas.DataFrame
        ``sensor_id``, ``start_s``, ``end_s`` (epoch seconds, end exclusive).
    """
    weeks = max((span_end_s - span_start_s) / (7 * DAY_S), 0.3)
    n_spans = rng.poisson(len(sensor_ids) / 12 * weeks)
    duration_s = np.exp(rng.uniform(np.log(2 * 3600), np.log(3 * DAY_S), n_spans))
    starts = rng.uniform(span_start_s, span_end_s, n_spans)
    return pd.DataFrame(
        {
            "sensor_id": np.asarray(sensor_ids, dtype=object)[
                rng.integers(0, len(sensor_ids), n_spans)
            ],
            "start_s": starts.astype(np.int64),
            "end_s": np.minimum(starts + duration_s, span_end_s).astype(np.int64),
        }
    )
