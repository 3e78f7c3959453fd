"""The estimate taught by the counter rooms: what it learns from, and when it learns nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from snuk_assets.transforms.counter_taught import (
    FROM_COUNTER,
    FROM_ESTIMATOR,
    FROM_MOTION_LABEL,
    MIN_CLASS_BINS,
    NO_INPUT,
    taught_by_counters,
)

T0 = pd.Timestamp("2016-06-06 00:00", tz="UTC")


def _room(room_id: str, days: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A room's bins occupied 8-17 h: motion sees somebody in half of them, lamps are on while
    somebody is there. Returns its motion-sensor bins and its true occupancy."""
    rng = np.random.default_rng(seed)
    bins = pd.date_range(T0, periods=days * 288, freq="5min")
    occupied = ((bins.hour >= 8) & (bins.hour < 17)).astype(float)
    seen = occupied * (rng.random(len(bins)) < 0.5) * rng.random(len(bins))
    rooms = pd.DataFrame(
        {
            "room_id": room_id,
            "bin_start": bins,
            "occupancy": seen,
            "idle_minutes": np.where(seen > 0, 0.0, 10.0),
            "luminosity": occupied * 500 + rng.normal(0, 20, len(bins)),
        }
    )
    return rooms, pd.DataFrame({"room_id": room_id, "bin_start": bins, "occupied": occupied})


def _building(days: int = 3, *, counted: bool = True):
    """Room ``c`` with a counter (its room_series occupancy is the counter's 0/1), room ``o``
    without one. Returns the room_series rows, the counter room's motion bins and the truth."""
    counter_room, truth_c = _room("c", days, seed=1)
    office, truth_o = _room("o", days, seed=2)
    counter_motion = counter_room[["room_id", "bin_start", "occupancy", "idle_minutes"]]
    if counted:
        counter_room = counter_room.assign(
            occupancy=truth_c["occupied"], idle_minutes=np.nan, people_count=truth_c["occupied"] * 7
        )
    rooms = pd.concat([counter_room, office], ignore_index=True)
    return rooms, counter_motion, pd.concat([truth_c, truth_o], ignore_index=True)


def test_rooms_without_a_counter_are_estimated_from_what_the_counter_rooms_taught():
    rooms, counter_motion, truth = _building()
    taught = taught_by_counters(
        rooms, counter_motion=counter_motion, counter_rooms=["c"], train_from=T0, estimate_from=T0
    )
    assert taught.trained_on == ["c"]
    assert taught.training_bins == 3 * 288
    assert taught.training_occupied_bins == 3 * 108
    assert taught.reason == ""
    estimates = taught.estimates.merge(truth, on=["room_id", "bin_start"])
    office = estimates[estimates["room_id"] == "o"]
    assert (office["source"] == FROM_ESTIMATOR).all()
    assert office["estimate"].between(0, 1).all()
    # The lamps follow the people: the estimate finds the seated ones motion missed.
    assert ((office["estimate"] >= 0.5) == office["occupied"]).mean() > 0.95
    assert ((office["motion_label"] > 0) == office["occupied"]).mean() < 0.85  # 1 - 0.5 * 9 / 24
    assert set(office["inputs"]) == {"motion,luminosity"}
    # The counter room keeps its counter's verdict, and its motion label is its motion's.
    counter = estimates[estimates["room_id"] == "c"]
    assert (counter["source"] == FROM_COUNTER).all()
    assert (counter["estimate"] == counter["occupied"]).all()
    assert set(counter["inputs"]) == {"motion,luminosity,counter"}
    expected_label = (counter_motion["occupancy"] > 0).astype(float).to_numpy()
    assert (counter["motion_label"].to_numpy() == expected_label).all()
    # The counter is the label, never an input.
    assert "people_count" not in taught.estimator.features_
    assert set(taught.estimator.decided_shares(taught.features)) == {
        "motion",
        "co2",
        "luminosity",
        "sound",
        "devices",
    }


def test_only_bins_from_estimate_from_are_estimated_and_earlier_ones_still_train():
    rooms, counter_motion, _ = _building(days=3)
    second_day = T0 + pd.Timedelta(days=1)
    taught = taught_by_counters(
        rooms,
        counter_motion=counter_motion,
        counter_rooms=["c"],
        train_from=T0,
        estimate_from=second_day,
    )
    assert taught.training_bins == 3 * 288
    assert taught.estimates["bin_start"].min() == second_day
    assert len(taught.estimates) == 2 * 2 * 288


def test_without_a_counter_room_the_estimate_is_the_motion_label():
    rooms, _, _ = _building(counted=False)
    no_motion = pd.DataFrame(columns=["room_id", "bin_start", "occupancy", "idle_minutes"])
    rooms.loc[5, "occupancy"] = np.nan  # a bin without motion coverage
    taught = taught_by_counters(
        rooms, counter_motion=no_motion, counter_rooms=[], train_from=T0, estimate_from=T0
    )
    assert taught.estimator is None
    assert taught.trained_on == []
    assert taught.reason == "no counter room with counted bins"
    estimates = taught.estimates
    label = estimates["motion_label"]
    assert set(label.dropna()) == {0.0, 1.0}
    assert estimates["estimate"].equals(label)
    assert (estimates.loc[label.notna(), "source"] == FROM_MOTION_LABEL).all()
    assert estimates.loc[label.isna(), "source"].tolist() == [NO_INPUT]


def test_too_few_occupied_bins_train_nothing():
    rooms, counter_motion, _ = _building(days=2)  # 2 x 108 occupied bins: below the threshold
    taught = taught_by_counters(
        rooms, counter_motion=counter_motion, counter_rooms=["c"], train_from=T0, estimate_from=T0
    )
    assert MIN_CLASS_BINS > 2 * 108
    assert taught.estimator is None
    assert taught.trained_on == []
    assert (taught.training_bins, taught.training_occupied_bins) == (2 * 288, 2 * 108)
    assert (
        taught.reason
        == f"216 occupied and 360 free counted bins: fewer than {MIN_CLASS_BINS} of either"
    )
    office = taught.estimates[taught.estimates["room_id"] == "o"]
    assert (office["source"] == FROM_MOTION_LABEL).all()
    assert office["estimate"].equals(office["motion_label"])
    counter = taught.estimates[taught.estimates["room_id"] == "c"]
    assert (counter["source"] == FROM_COUNTER).all()  # the counter's verdict still stands
