"""The room counts the model assets report: forest wins per room, rooms won, rooms won per kind.

Expected values are worked out by hand from the F1 table below, not from the code.
"""

from __future__ import annotations

import pandas as pd

from snuk_assets.transforms.models.metrics import forest_wins_by_room, rooms_won, rooms_won_by_kind

MODELS = ("random_forest", "persistence", "time_of_week")
NOT_COMPARABLE = (None, None, None)

# (room, horizon, F1 of each model in MODELS' order, ROC AUC of each model)
SCORES = [
    # r3: the forest beats both baselines at both horizons (0.8 against 0.79 is still a win)
    ("r3", 1, (0.9, 0.1, 0.2), (0.9, 0.5, 0.6)),
    ("r3", 2, (0.8, 0.3, 0.79), (0.8, 0.5, 0.7)),
    # r1: a win at horizon 1; at horizon 2 persistence is better. Only the forest has a
    # ROC AUC there, which still makes the horizon comparable
    ("r1", 1, (0.9, 0.5, 0.8), (0.9, 0.6, 0.7)),
    ("r1", 2, (0.6, 0.7, 0.4), (0.6, None, None)),
    # r2: a tie is not a win; horizon 2 held one class only (no ROC AUC) and is left out
    ("r2", 1, (0.7, 0.7, 0.2), (0.7, 0.7, 0.5)),
    ("r2", 2, (0.0, 0.0, 0.0), NOT_COMPARABLE),
    # r0: no comparable horizon at all
    ("r0", 1, (0.0, 0.0, 0.0), NOT_COMPARABLE),
]


def metrics() -> pd.DataFrame:
    rows = [
        (room, model, horizon, f1, auc)
        for room, horizon, f1s, aucs in SCORES
        for model, f1, auc in zip(MODELS, f1s, aucs, strict=True)
    ]
    return pd.DataFrame(rows, columns=["room_id", "model", "horizon", "f1", "roc_auc"])


def test_forest_wins_by_room_counts_comparable_horizons_and_wins():
    per_room = forest_wins_by_room(metrics())

    assert list(per_room.index) == ["r0", "r1", "r2", "r3"]
    assert per_room.index.name == "room_id"
    assert per_room["horizons"].to_dict() == {"r0": 0, "r1": 2, "r2": 1, "r3": 2}
    assert per_room["horizons_won"].to_dict() == {"r0": 0, "r1": 1, "r2": 0, "r3": 2}
    assert per_room["forest_wins"].to_dict() == {"r0": False, "r1": False, "r2": False, "r3": True}
    assert per_room["horizons"].dtype == "int64"
    assert per_room["horizons_won"].dtype == "int64"
    # mean F1 over the comparable horizons only; NaN for the room without one
    expected_means = pd.DataFrame(
        {
            "persistence": [None, 0.6, 0.7, 0.2],
            "random_forest": [None, 0.75, 0.7, 0.85],
            "time_of_week": [None, 0.6, 0.2, 0.495],
        },
        index=pd.Index(["r0", "r1", "r2", "r3"], name="room_id"),
        dtype="float64",
    )
    pd.testing.assert_frame_equal(per_room[list(expected_means.columns)], expected_means)
    assert per_room.columns.name is None


def test_forest_wins_by_room_against_the_baselines_named():
    # against persistence alone, r1 wins horizon 1 and loses horizon 2 (0.6 < 0.7), r2 ties;
    # r3's horizon 2 is won against persistence too (0.8 > 0.3)
    per_room = forest_wins_by_room(metrics(), baselines=("persistence",))
    assert per_room["horizons_won"].to_dict() == {"r0": 0, "r1": 1, "r2": 0, "r3": 2}
    # against time_of_week alone, r1 wins both (0.9 > 0.8, 0.6 > 0.4) and r2 wins (0.7 > 0.2)
    per_room = forest_wins_by_room(metrics(), baselines=("time_of_week",))
    assert per_room["forest_wins"].to_dict() == {"r0": False, "r1": True, "r2": True, "r3": True}
    # the model compared need not be the forest: persistence against the forest
    per_room = forest_wins_by_room(metrics(), forest="persistence", baselines=("random_forest",))
    assert per_room["horizons_won"].to_dict() == {"r0": 0, "r1": 1, "r2": 0, "r3": 0}


def test_rooms_won_leaves_out_rooms_without_a_comparable_horizon():
    assert rooms_won(forest_wins_by_room(metrics())) == (1, 3)
    won, compared = rooms_won(forest_wins_by_room(metrics(), baselines=("time_of_week",)))
    assert (won, compared) == (3, 3)
    assert type(won) is int and type(compared) is int


def test_rooms_won_by_kind_in_kind_name_order_with_unknown_rooms():
    per_room = forest_wins_by_room(metrics())
    # r0 is a meeting room but has no comparable horizon: no "meeting" entry; r2 is unknown
    kinds = {"r3": "office", "r1": "office", "r0": "meeting"}
    by_kind = rooms_won_by_kind(per_room, kinds)
    assert by_kind == {"office": [1, 2], "unknown": [0, 1]}
    assert list(by_kind) == ["office", "unknown"]
    assert all(type(count) is int for counts in by_kind.values() for count in counts)

    by_kind = rooms_won_by_kind(per_room, {"r1": "lab", "r2": "zone", "r3": "atrium"})
    assert list(by_kind.items()) == [("atrium", [1, 1]), ("lab", [0, 1]), ("zone", [0, 1])]
