"""Asset checks that read a stage's whole Delta table (the others live beside their assets)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetsDefinition,
    AutomationCondition,
    MetadataValue,
    asset_check,
)

from snuk_assets.assets.buildings import combined_checks
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.models.metrics import forest_wins_by_room, rooms_won, rooms_won_by_kind

FOREST = "random_forest"
BASELINES = ("persistence", "time_of_week")

# Gateways upload every day; two days without any new arrival day means ingest has stopped.
MAX_RAW_AGE = dt.timedelta(days=2)
# The check also runs on its own (snuk_automation), since a stopped feed starts no runs.
FRESHNESS_CRON = "0 */6 * * *"


def newest_arrival_day(lakehouse: Lakehouse) -> dt.date | None:
    """The newest arrival day with rows in ``raw_observations`` (from the Delta log, no scan)."""
    if not lakehouse.exists("raw_observations"):
        return None
    table = lakehouse.table("raw_observations")
    building = lakehouse.building_to_read("raw_observations", table)
    days = [
        dt.date.fromisoformat(p["date"])
        for p in table.partitions()
        if building is None or p["building_id"] == building
    ]
    return max(days, default=None)


def raw_freshness_result(
    newest: dt.date | None, *, today: dt.date, max_age: dt.timedelta = MAX_RAW_AGE
) -> AssetCheckResult:
    """Passes when the newest arrival day with data is at most ``max_age`` before ``today``."""
    if newest is None:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description="raw_observations has no rows yet: nothing has been ingested",
        )
    age = today - newest
    return AssetCheckResult(
        passed=age <= max_age,
        severity=AssetCheckSeverity.WARN,
        description=f"newest arrival day with data: {newest} ({age.days} days before {today}; "
        f"at most {max_age.days} expected)",
        metadata={"newest_arrival_day": str(newest), "age_days": age.days},
    )


@asset_check(
    asset="raw_observations",
    description=f"The newest arrival day with data is at most {MAX_RAW_AGE.days} days old "
    "(UTC): raw files still arrive.",
    automation_condition=AutomationCondition.cron_tick_passed(FRESHNESS_CRON, "UTC"),
)
def raw_data_is_recent(settings: SnukSettings) -> AssetCheckResult:
    today = dt.datetime.now(dt.UTC).date()
    results = {
        building: raw_freshness_result(newest_arrival_day(scoped.lakehouse()), today=today)
        for building, scoped in settings.each_building()
    }
    return _one_result(results)


def _one_result(results: dict[str, AssetCheckResult]) -> AssetCheckResult:
    """A whole-table check of each building as one result (``combined_checks``)."""
    return combined_checks({building: [result] for building, result in results.items()})[0]


def rooms_beating_baselines(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per room, whether the forest beats both baselines in F1 at every comparable horizon.

    ``metrics`` has the columns of ``model_metrics`` for one training date; the rule (horizons
    without an occupied test window are left out) is ``forest_wins_by_room``'s.
    """
    return forest_wins_by_room(metrics, forest=FOREST, baselines=BASELINES)


@asset_check(
    asset="model_metrics",
    description="On the newest training date, the forest's F1 beats both baselines at every "
    "horizon in most rooms (horizons without an occupied test window left out).",
)
def models_beat_baselines(settings: SnukSettings) -> AssetCheckResult:
    return _one_result(
        {building: _models_beat_baselines(scoped) for building, scoped in settings.each_building()}
    )


def _models_beat_baselines(settings: SnukSettings) -> AssetCheckResult:
    metrics = settings.lakehouse().read("model_metrics").to_pandas()
    if not (metrics["model"] == FOREST).any():
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.WARN,
            description="No room has a trained forest yet: model_metrics holds no forest scores "
            "(a room is trained once its feature windows span the training and test periods)",
            metadata={"rows": len(metrics), "rooms": metrics["room_id"].nunique()},
        )
    newest = metrics.loc[metrics["model"] == FOREST, "date"].max()
    per_room = rooms_beating_baselines(metrics[metrics["date"] == newest])
    wins, compared = rooms_won(per_room)
    not_compared = sorted(per_room.index[per_room["horizons"] == 0])
    by_kind = rooms_won_by_kind(per_room, settings.registry().room_kinds())
    return AssetCheckResult(
        passed=wins > compared / 2,
        severity=AssetCheckSeverity.WARN,
        description=f"{newest}: the forest beats both baselines at every horizon in {wins} of "
        f"{compared} rooms",
        metadata={
            "training_date": str(newest),
            "rooms_won": wins,
            "rooms_compared": compared,
            "rooms_won_by_kind": MetadataValue.json(by_kind),
            "rooms_without_occupied_test_windows": MetadataValue.json(not_compared),
            "per_room": MetadataValue.md(per_room.round(3).to_markdown()),
        },
    )


def table_checks(assets: Iterable[AssetsDefinition]) -> list[AssetChecksDefinition]:
    """This module's checks whose asset is among ``assets`` (stages land one at a time)."""
    keys = {key for asset in assets for key in asset.keys}
    return [
        check
        for check in (raw_data_is_recent, models_beat_baselines)
        if all(check_key.asset_key in keys for check_key in check.check_keys)
    ]
