"""Checks over whole tables: models beat their baselines, raw data still arrives."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    evaluate_automation_conditions,
)

from snuk_assets.checks import (
    models_beat_baselines,
    newest_arrival_day,
    raw_data_is_recent,
    raw_freshness_result,
    rooms_beating_baselines,
    table_checks,
)
from snuk_assets.definitions import build_definitions
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models.metrics import rooms_won_by_kind

MODELS = ("random_forest", "persistence", "time_of_week")


def metrics(rows: list[tuple]) -> pd.DataFrame:
    columns = ["room_id", "model", "horizon", "f1", "roc_auc"]
    return pd.DataFrame([(*row, 0.8)[:5] for row in rows], columns=columns)


def test_the_forest_must_beat_both_baselines_at_every_horizon():
    table = rooms_beating_baselines(
        metrics(
            [
                # a: better on average, but persistence wins horizon 1
                ("a", "random_forest", 1, 0.9),
                ("a", "random_forest", 2, 0.7),
                ("a", "persistence", 1, 0.95),
                ("a", "persistence", 2, 0.5),
                ("a", "time_of_week", 1, 0.6),
                ("a", "time_of_week", 2, 0.6),
                # b: a tie is not a win
                ("b", "random_forest", 1, 0.7),
                ("b", "persistence", 1, 0.7),
                ("b", "time_of_week", 1, 0.5),
                # c: wins both horizons
                ("c", "random_forest", 1, 0.9),
                ("c", "random_forest", 2, 0.8),
                ("c", "persistence", 1, 0.85),
                ("c", "persistence", 2, 0.7),
                ("c", "time_of_week", 1, 0.6),
                ("c", "time_of_week", 2, 0.75),
            ]
        )
    )
    assert table["forest_wins"].to_dict() == {"a": False, "b": False, "c": True}
    assert table["horizons_won"].to_dict() == {"a": 1, "b": 0, "c": 2}


def test_horizons_without_an_occupied_test_window_are_not_compared():
    table = rooms_beating_baselines(
        metrics(
            [
                ("a", "random_forest", 1, 0.9),
                ("a", "persistence", 1, 0.8),
                ("a", "time_of_week", 1, 0.7),
                # F1 is undefined (0 by convention) when no test window is occupied
                *((("a", model, 2, 0.0, None)) for model in MODELS),
                *((("empty", model, 1, 0.0, None)) for model in MODELS),
            ]
        )
    )
    assert table["horizons"].to_dict() == {"a": 1, "empty": 0}
    assert table["forest_wins"].to_dict() == {"a": True, "empty": False}


def test_rooms_won_are_counted_per_room_kind():
    def room(room_id: str, forest_f1: float) -> list[tuple]:
        return [
            (room_id, model, 1, f1) for model, f1 in zip(MODELS, (forest_f1, 0.8, 0.7), strict=True)
        ]

    table = rooms_beating_baselines(
        metrics(
            [
                *room("o1", 0.9),
                *room("o2", 0.7),
                *room("m1", 0.9),
                *room("x", 0.9),  # not in the registry
                *((("s1", model, 1, 0.0, None)) for model in MODELS),  # not compared
            ]
        )
    )
    kinds = {"o1": "office", "o2": "office", "m1": "meeting", "s1": "storage"}
    assert rooms_won_by_kind(table, kinds) == {
        "meeting": [1, 1],
        "office": [1, 2],
        "unknown": [1, 1],
    }


def arrival_days(days: list[str]) -> pa.Table:
    return pa.table(
        {
            "sensor_id": ["8514-294-220-250-m"] * len(days),
            "value": [1.0] * len(days),
            "date": [dt.date.fromisoformat(day) for day in days],
        }
    )


def test_freshness_reads_the_newest_arrival_day_with_rows(storage_root):
    lakehouse = Lakehouse(f"{storage_root}/lakehouse")
    assert newest_arrival_day(lakehouse) is None
    days = [dt.date(2016, 8, d) for d in (12, 13, 14)]
    lakehouse.replace_partitions(
        "raw_observations", arrival_days(["2016-08-12", "2016-08-13"]), dates=days
    )
    # The 14th was ingested but had no files: it holds no rows and does not count.
    assert newest_arrival_day(lakehouse) == dt.date(2016, 8, 13)


def test_freshness_passes_within_two_days_and_warns_after():
    newest = dt.date(2016, 8, 13)
    assert raw_freshness_result(newest, today=dt.date(2016, 8, 15)).passed
    stale = raw_freshness_result(newest, today=dt.date(2016, 8, 16))
    assert not stale.passed and stale.severity == AssetCheckSeverity.WARN
    assert "2016-08-13" in stale.description
    assert not raw_freshness_result(None, today=dt.date(2016, 8, 16)).passed


def test_the_freshness_check_runs_on_its_own_every_six_hours(tmp_path):
    """A stopped feed starts no runs, so the automation sensor starts the check."""
    settings = SnukSettings(landing_uri=str(tmp_path), lakehouse_uri=str(tmp_path / "lakehouse"))
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    start = dt.datetime(2016, 8, 20, 5, 0, tzinfo=dt.UTC)
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=start)
    later = evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        evaluation_time=start + dt.timedelta(hours=1, minutes=5),  # past 06:00
        cursor=first.cursor,
    )
    check = AssetCheckKey(AssetKey("raw_observations"), "raw_data_is_recent")
    assert check in {r.key for r in later.results if r.true_subset.size}
    assert later.total_requested == 1


def test_the_freshness_check_reads_the_lakehouse_of_the_settings(tmp_path):
    settings = SnukSettings(landing_uri=str(tmp_path), lakehouse_uri=str(tmp_path / "lakehouse"))
    settings.lakehouse().replace_partitions(
        "raw_observations", arrival_days(["2016-08-13"]), dates=[dt.date(2016, 8, 13)]
    )
    result = raw_data_is_recent(settings=settings)
    assert not result.passed  # 2016 is long ago
    assert result.metadata["newest_arrival_day"].value == "2016-08-13"


def test_a_check_joins_the_graph_only_with_its_asset():
    from snuk_assets.assets.model_metrics import model_metrics
    from snuk_assets.assets.raw_observations import raw_observations

    assert table_checks([raw_observations]) == [raw_data_is_recent]
    assert table_checks([raw_observations, model_metrics]) == [
        raw_data_is_recent,
        models_beat_baselines,
    ]


def test_model_metrics_without_a_trained_forest_say_so(tmp_path):
    from snuk_assets.stages.metrics import SCHEMA

    # A two-day demo trains no room: model_metrics is written, empty.
    settings = SnukSettings(landing_uri=str(tmp_path), lakehouse_uri=str(tmp_path / "lakehouse"))
    settings.lakehouse().replace_partitions(
        "model_metrics", SCHEMA.empty_table(), dates=[dt.date(2016, 8, 13)]
    )
    result = models_beat_baselines(settings=settings)
    assert not result.passed
    assert result.severity == AssetCheckSeverity.WARN
    assert "No room has a trained forest yet" in result.description
    assert result.metadata["rows"].value == 0
