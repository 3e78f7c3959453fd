"""Every room's occupancy estimate, taught by the building's own people counters.

A real building has truth only where people counters are, so the estimator learns there: the
label is the counter's verdict (the count above 0 in the bin), the features every other input
the counter rooms have (motion, CO2, luminosity, sound, Wi-Fi devices), never the counter
itself, so that what it learns transfers to rooms without one. It then estimates every room;
a counter room keeps its counter's verdict where the counter has one. Without a counter room,
or with fewer than ``MIN_CLASS_BINS`` occupied or free training bins, nothing is trained and
the estimate is the motion label as a probability of 0 or 1.

The estimator (scikit-learn) is imported where it is fitted, not with the module: the estimate
stage and its asset import this one when the definitions load (issue 19: 2 s of every start).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from snuk_assets.transforms.estimate_features import FEATURES, INPUT_FEATURES, estimate_features
from snuk_assets.transforms.resample.bins import DEFAULT_FREQ

if TYPE_CHECKING:
    from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator

# Every input but the counter: the label comes from it.
TAUGHT_INPUTS = tuple(name for name in INPUT_FEATURES if name != "counter")
# Fewer occupied (or free) training bins than a day of 5-min bins, and nothing is trained: a
# day is the least from which the calibration's folds of room-days can each see both classes.
MIN_CLASS_BINS = 288
# The values of the estimate's ``source`` column.
FROM_COUNTER = "counter"
FROM_ESTIMATOR = "estimator"
FROM_MOTION_LABEL = "motion label"
NO_INPUT = "no input"
UNTRAINED = "none (motion label)"


@dataclass
class Taught:
    """What ``taught_by_counters`` learned and estimated.

    ``estimates``: ``room_id``, ``bin_start``, ``estimate`` (0..1, NaN where the bin has no
    input), ``motion_label`` (1 where a motion sensor was ON in the bin, 0 where none was, NaN
    without motion coverage), ``source`` (``counter``, ``estimator``, ``motion label`` or
    ``no input``) and ``inputs`` (the inputs with a value in the bin, comma-separated). Then
    ``trained_on`` (the counter rooms that gave training bins; empty when nothing was
    trained), ``training_bins`` and ``training_occupied_bins``, ``reason`` (why nothing was
    trained, else empty), the fitted ``estimator`` (or None) and the ``features`` of the
    estimated rows (for ``decided_shares``).
    """

    estimates: pd.DataFrame
    trained_on: list[str] = field(default_factory=list)
    training_bins: int = 0
    training_occupied_bins: int = 0
    reason: str = ""
    estimator: OccupancyEstimator | None = None
    features: pd.DataFrame | None = None


def taught_by_counters(
    rooms: pd.DataFrame,
    *,
    counter_motion: pd.DataFrame,
    counter_rooms: Collection[str],
    train_from: pd.Timestamp,
    estimate_from: pd.Timestamp,
    freq: str = DEFAULT_FREQ,
) -> Taught:
    """Train on the counter rooms' bins from ``train_from``, estimate every room's from
    ``estimate_from``.

    Parameters
    ----------
    rooms : pandas.DataFrame
        ``room_series`` rows: ``room_id``, ``bin_start`` (UTC), ``occupancy`` (the motion ON
        share; in a counter room the counter's 0 or 1), ``idle_minutes`` and any of ``co2``,
        ``luminosity``, ``sound_level``, ``wifi_devices``. Bins before ``train_from`` and
        ``estimate_from`` serve only as the features' past (changes, the CO2 baseline).
    counter_motion : pandas.DataFrame
        The counter rooms' motion sensors alone, combined per room and bin (``room_id``,
        ``bin_start``, ``occupancy``, ``idle_minutes``: ``transforms.rooms.combine_sensors``
        of their motion rows); in ``rooms`` those rooms' columns are the counter's.
    counter_rooms : collection of str
        The rooms with a people counter.
    train_from, estimate_from : pandas.Timestamp
        The first bins trained on and estimated (UTC).
    freq : str
        The bin width.

    Returns
    -------
    Taught
    """
    frame, features = _inputs(rooms, counter_motion, counter_rooms, freq)
    taught = _taught(frame, features, train_from, freq)
    estimated = (frame["bin_start"] >= estimate_from).to_numpy()
    taught.estimates, taught.features = _estimated(
        frame[estimated], features[estimated], taught.estimator
    )
    return taught


def fit_by_counters(
    rooms: pd.DataFrame,
    *,
    counter_motion: pd.DataFrame,
    counter_rooms: Collection[str],
    train_from: pd.Timestamp,
    freq: str = DEFAULT_FREQ,
) -> Taught:
    """What ``taught_by_counters`` learns from the same arguments, without estimating
    (``estimates`` empty): the estimator for ``estimate_by_counters`` elsewhere (the live step)."""
    frame, features = _inputs(rooms, counter_motion, counter_rooms, freq)
    return _taught(frame, features, train_from, freq)


def estimate_by_counters(
    rooms: pd.DataFrame,
    *,
    counter_motion: pd.DataFrame,
    counter_rooms: Collection[str],
    estimator: OccupancyEstimator | None,
    estimate_from: pd.Timestamp,
    freq: str = DEFAULT_FREQ,
) -> pd.DataFrame:
    """The rows ``taught_by_counters`` estimates from ``estimate_from``, with ``estimator``
    (``fit_by_counters``'s; None: nothing trained, the estimate is the motion label): the
    columns of ``Taught.estimates``. The arguments are ``taught_by_counters``'."""
    frame, features = _inputs(rooms, counter_motion, counter_rooms, freq)
    estimated = (frame["bin_start"] >= estimate_from).to_numpy()
    rows, _ = _estimated(frame[estimated], features[estimated], estimator)
    return rows


def _inputs(
    rooms: pd.DataFrame, counter_motion: pd.DataFrame, counter_rooms: Collection[str], freq: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The estimator's rooms (``_estimator_rooms``) and their features, row for row."""
    frame = _estimator_rooms(rooms, counter_motion, set(counter_rooms))
    return frame, estimate_features(frame, freq=freq)


def _taught(frame: pd.DataFrame, features: pd.DataFrame, train_from, freq: str) -> Taught:
    """The estimator fitted on the counter rooms' counted bins from ``train_from``."""
    counter = frame["counter_occupied"].to_numpy(dtype=float)
    in_training = (frame["bin_start"] >= train_from).to_numpy() & ~np.isnan(counter)
    return _trained(features[in_training], counter[in_training], freq)


def _estimated(
    rows: pd.DataFrame, features: pd.DataFrame, estimator: OccupancyEstimator | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``Taught.estimates`` of ``rows`` (``_estimator_rooms`` rows) and the features of those
    the estimator estimated (for ``decided_shares``)."""
    counter = rows["counter_occupied"].to_numpy(dtype=float)
    motion = rows["motion_occupancy"].to_numpy(dtype=float)
    motion_label = np.where(np.isnan(motion), np.nan, (motion > 0).astype(float))
    present = features[FEATURES].notna()
    inputs = pd.DataFrame(
        {name: present[columns].any(axis=1) for name, columns in INPUT_FEATURES.items()}
    )
    inputs["counter"] = ~np.isnan(counter)
    has_input = inputs[list(TAUGHT_INPUTS)].any(axis=1).to_numpy()
    if estimator is not None:
        guessed = np.full(len(rows), np.nan)
        if has_input.any():
            guessed[has_input] = estimator.predict_proba(features[has_input])[:, 1]
        guessed_source = np.where(has_input, FROM_ESTIMATOR, NO_INPUT)
    else:
        guessed = motion_label
        guessed_source = np.where(np.isnan(motion_label), NO_INPUT, FROM_MOTION_LABEL)
    from_counter = ~np.isnan(counter)
    estimates = (
        rows[["room_id", "bin_start"]]
        .reset_index(drop=True)
        .assign(
            estimate=np.where(from_counter, counter, guessed),
            motion_label=motion_label,
            source=np.where(from_counter, FROM_COUNTER, guessed_source),
            inputs=_joined(inputs),
        )
    )
    return estimates, features[has_input & ~from_counter].reset_index(drop=True)


def _estimator_rooms(
    rooms: pd.DataFrame, counter_motion: pd.DataFrame, counter_rooms: set[str]
) -> pd.DataFrame:
    """``rooms`` sorted by room and bin, with ``motion_occupancy`` and ``idle_minutes`` from the
    motion sensors in every room, ``counter_occupied`` (the counter's 0 or 1, NaN elsewhere)
    and without the counter's own columns."""
    keys = ["room_id", "bin_start"]
    frame = rooms.sort_values(keys, ignore_index=True)
    is_counted = frame["room_id"].isin(counter_rooms).to_numpy()
    frame["counter_occupied"] = frame["occupancy"].where(is_counted)
    motion = counter_motion[[*keys, "occupancy", "idle_minutes"]].rename(
        columns={"occupancy": "counter_room_motion", "idle_minutes": "counter_room_idle"}
    )
    frame = frame.merge(motion, on=keys, how="left")
    frame["motion_occupancy"] = frame["occupancy"].where(~is_counted, frame["counter_room_motion"])
    frame["idle_minutes"] = frame["idle_minutes"].where(~is_counted, frame["counter_room_idle"])
    return frame.drop(
        columns=["people_count", "counter_room_motion", "counter_room_idle"], errors="ignore"
    )


def _trained(features: pd.DataFrame, label: np.ndarray, freq: str) -> Taught:
    """The estimator fitted on the training rows, or why none could be."""
    empty = pd.DataFrame()
    occupied = int(label.sum())
    free = len(label) - occupied
    if occupied < MIN_CLASS_BINS or free < MIN_CLASS_BINS:
        reason = (
            "no counter room with counted bins"
            if len(label) == 0
            else f"{occupied} occupied and {free} free counted bins: fewer than "
            f"{MIN_CLASS_BINS} of either"
        )
        return Taught(
            empty, training_bins=len(label), training_occupied_bins=occupied, reason=reason
        )
    from snuk_assets.transforms.occupancy_estimate import OccupancyEstimator

    block = max(1, int(pd.Timedelta(days=1) / pd.Timedelta(freq)))  # a room-day of bins
    estimator = OccupancyEstimator(inputs=TAUGHT_INPUTS, calibration_block=block)
    try:
        estimator.fit(features, label.astype(int))
    except ValueError as error:  # no input with values, a fold with one class
        return Taught(
            empty,
            training_bins=len(label),
            training_occupied_bins=occupied,
            reason=f"the estimator could not be trained: {error}",
        )
    return Taught(
        empty,
        trained_on=sorted(set(features["room_id"])),
        training_bins=len(label),
        training_occupied_bins=occupied,
        estimator=estimator,
    )


def _joined(inputs: pd.DataFrame) -> list[str]:
    """Per row, the names of the columns that are True, comma-separated."""
    names = list(inputs.columns)
    return [
        ",".join(n for n, has in zip(names, row, strict=True) if has) for row in inputs.to_numpy()
    ]
