"""The model check's arithmetic: a room counts when the forest beats both baselines."""

from __future__ import annotations

import pandas as pd

from snuk_assets.checks import rooms_beating_baselines


def metrics(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["room_id", "model", "horizon", "f1"])


def test_the_forest_must_beat_both_baselines_on_mean_f1():
    table = rooms_beating_baselines(
        metrics(
            [
                ("a", "random_forest", 1, 0.9),
                ("a", "random_forest", 2, 0.7),
                ("a", "persistence", 1, 0.95),
                ("a", "persistence", 2, 0.5),
                ("a", "time_of_week", 1, 0.6),
                ("a", "time_of_week", 2, 0.6),
                ("b", "random_forest", 1, 0.6),
                ("b", "persistence", 1, 0.7),
                ("b", "time_of_week", 1, 0.5),
            ]
        )
    )
    assert table["forest_wins"].to_dict() == {"a": True, "b": False}
