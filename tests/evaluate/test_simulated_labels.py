"""The simulated building against its truth, through the stages' group functions."""

from __future__ import annotations

import datetime as dt

from snuk_assets.evaluate.estimate import simulated_scores, stage_scores
from snuk_assets.evaluate.simulated import label_agreement, simulated_rooms
from snuk_assets.registry import load_registry

ROOMS = ["7101", "7103", "7112", "7116"]  # open space (counter), office, meeting room, corridor
MONDAY = dt.date(2016, 6, 6)


def test_room_bins_stand_beside_the_truth(small_registry, tmp_path):
    registry = load_registry(small_registry(tmp_path / "registry.yaml", ROOMS))
    rooms = simulated_rooms(registry, start=MONDAY, days=1, seed=5)
    assert sorted(rooms["room_id"].unique()) == ROOMS
    assert len(rooms) == len(ROOMS) * 288
    assert rooms["occupied_fraction"].between(0, 1).all()
    assert rooms["occupied_fraction"].gt(0).any()
    assert rooms.loc[rooms["room_id"] == "7103", "co2"].notna().all()
    assert rooms.loc[rooms["room_id"] == "7101", "people_count"].notna().any()
    shares = label_agreement(rooms, "motion_occupancy")
    assert set(shares.index) == {"open_space", "office", "meeting", "corridor", "all"}
    assert shares.between(0, 1).all()


def test_the_estimate_is_scored_beside_motion_alone(small_registry, tmp_path):
    registry = load_registry(small_registry(tmp_path / "registry.yaml", ROOMS))
    scores = simulated_scores(registry, seed=5, start=MONDAY, days=2, train_days=1)
    names = [s.name for s in scores]
    assert names == [
        "estimate",
        "estimate without luminosity",
        "motion alone",
        "motion label (occupancy > 0)",
    ]
    assert all(0 <= s.accuracy <= 1 and s.bins == len(ROOMS) * 288 for s in scores)
    assert set(scores[0].decided) == {"motion", "co2", "luminosity", "counter"}


def test_the_stage_is_scored_in_the_rooms_without_a_counter(small_registry, tmp_path):
    registry = load_registry(small_registry(tmp_path / "registry.yaml", ROOMS))
    score = stage_scores(registry, seed=5, start=MONDAY, days=3)
    assert score.trained_on == ["7101"]  # the one counter room
    assert score.training_bins > 0
    assert score.bins == sum(bins for _, _, bins in score.by_kind.values())
    assert set(score.by_kind) == {"office", "meeting", "corridor"}  # never the counter's room
    assert 0 <= score.estimate <= 1 and 0 <= score.motion_label <= 1
    assert score.met == (score.estimate - score.motion_label >= 0.01)
