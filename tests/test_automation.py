"""Declarative automation follows late data into older days; the instance files that run it."""

from __future__ import annotations

import datetime as dt
import importlib
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    evaluate_automation_conditions,
    materialize,
)
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config_schema

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.automation import MANUAL_GROUPS
from snuk_assets.definitions import build_definitions
from snuk_assets.engines import LocalEngine
from snuk_assets.settings import SnukSettings

REPO = Path(__file__).resolve().parents[1]
SENSOR = "7513-133-195-250-t"
DAY = dt.datetime(2016, 8, 14, tzinfo=dt.UTC)
NOW = dt.datetime(2016, 8, 20, 1, 0, tzinfo=dt.UTC)  # the daemon's clock in this story


def lines(first_minute: int, last_minute: int) -> bytes:
    return "".join(
        f"sensor_id='{SENSOR}', timestamp={int((DAY + dt.timedelta(minutes=m)).timestamp() * 1e3)}"
        f", value={20 + m % 7},\n"
        for m in range(first_minute, last_minute, 10)
    ).encode()


def range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def requested(result, asset: str) -> set[str]:
    return {
        key
        for r in result.results
        if r.key == AssetKey(asset)
        for key in r.true_subset.expensively_compute_partition_keys()
    }


def test_a_late_file_rematerializes_its_measurement_day(tmp_path):
    (tmp_path / "landing").mkdir()
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "lakehouse")
    )
    landing = settings.landing()
    landing.write_bytes("raw_data/2016/08/14/gw.txt", lines(0, 20 * 60))
    instance = DagsterInstance.ephemeral()
    resources = {"settings": settings, "engine": LocalEngine()}
    assert materialize(
        [raw_observations],
        resources=resources,
        instance=instance,
        tags=range_tags("2016-08-13", "2016-08-19"),
    ).success
    assert materialize(
        [resampled_series],
        resources=resources,
        instance=instance,
        tags=range_tags("2016-08-13", "2016-08-19"),
    ).success

    defs = build_definitions(settings)
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW)
    assert "2016-08-14" not in requested(first, "resampled_series")

    # The evening of the 14th arrives two days late; the landing sensor ingests its day.
    landing.write_bytes("raw_data/2016/08/16/gw-late.txt", lines(20 * 60, 24 * 60))
    assert materialize(
        [raw_observations], resources=resources, instance=instance, partition_key="2016-08-16"
    ).success

    second = evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=NOW, cursor=first.cursor
    )
    redo = requested(second, "resampled_series")
    assert "2016-08-14" in redo  # eager() alone would only look at the latest day
    # Arrival day 2016-08-16 changes measurement days 12 .. 19 at most (a motion report holds
    # up to 3 days: partitions.LOOKBACK_DAYS).
    assert redo <= {f"2016-08-{d}" for d in range(12, 20)}


def test_a_day_with_some_arrival_days_missing_still_follows(tmp_path):
    """Live data: only today's folder has files; the neighbouring arrival days never will."""
    (tmp_path / "landing").mkdir()
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "lakehouse")
    )
    settings.landing().write_bytes("raw_data/2016/08/14/gw.txt", lines(0, 20 * 60))
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW)
    assert materialize(
        [raw_observations],
        resources={"settings": settings},
        instance=instance,
        partition_key="2016-08-14",
    ).success
    second = evaluate_automation_conditions(
        defs=defs, instance=instance, evaluation_time=NOW, cursor=first.cursor
    )
    assert "2016-08-14" in requested(second, "resampled_series")


def test_every_stage_after_ingest_follows_its_inputs():
    """Applied by selection, not by list: a stage added downstream of ingest follows too."""
    settings = SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h")
    graph = build_definitions(settings).resolve_asset_graph()
    following = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).automation_condition is not None
    }
    after_ingest = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if AssetKey("raw_observations") in graph.get_ancestor_asset_keys(key)
        and graph.get(key).group_name not in MANUAL_GROUPS
    }
    assert following == after_ingest
    assert {"resampled_series", "room_series", "occupancy_forecasts"} <= following
    label = graph.get(AssetKey("resampled_series")).automation_condition.get_label()
    assert label == "eager, 7-day lookback"


def test_the_sensors_run_by_default():
    defs = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
    statuses = {s.name: s.default_status for s in defs.sensors}
    assert statuses["landing_files_sensor"] == DefaultSensorStatus.RUNNING
    assert statuses["snuk_automation"] == DefaultSensorStatus.RUNNING


def test_a_new_day_without_data_starts_nothing(tmp_path):
    """At midnight every stage's new partition is missing; that alone is no reason to run."""
    (tmp_path / "landing").mkdir()
    settings = SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "lakehouse")
    )
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=NOW)
    next_day = evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        evaluation_time=NOW + dt.timedelta(days=1),
        cursor=first.cursor,
    )
    assert first.total_requested == 0
    # (the freshness check of raw_observations runs on a clock, and midnight is one of its ticks)
    assert not [
        r.key for r in next_day.results if isinstance(r.key, AssetKey) and r.true_subset.size
    ]


@pytest.mark.parametrize("path", ["dagster.yaml", "deploy/dagster.prod.yaml"])
def test_the_instance_configs_enable_automation_and_validate(path):
    """Both instance files pass Dagster's schema; their classes import (dagster-postgres aside)."""
    config = yaml.safe_load((REPO / path).read_text())
    result = validate_config(dagster_instance_config_schema(), config)
    assert result.success, [error.message for error in result.errors]
    assert config["auto_materialize"] == {"enabled": True, "use_sensors": True}
    for section in config.values():
        if isinstance(section, dict) and "module" in section:
            module = importlib.import_module(section["module"])
            assert hasattr(module, section["class"]), section
