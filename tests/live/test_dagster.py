"""Dagster sees the live table: an external asset, materializations the service reports."""

from __future__ import annotations

import pandas as pd
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetSelection,
    DagsterInstance,
    Definitions,
    define_asset_job,
)

from snuk_assets.definitions import build_definitions
from snuk_assets.live.dagster_assets import Reporter, live_freshness_checks, live_room_forecasts
from snuk_assets.live.outputs import TABLE
from snuk_assets.settings import SnukSettings


def test_live_table_is_an_external_asset_with_a_freshness_check():
    defs = build_definitions(SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h"))
    graph = defs.resolve_asset_graph()
    node = graph.get(AssetKey(TABLE))
    assert not node.is_materializable  # written by the service, not by a run
    assert AssetKey("occupancy_models") in node.parent_keys
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == AssetKey(TABLE)}
    assert checks  # the freshness check
    assert defs.resolve_sensor_def("live_freshness_sensor")


def test_reported_bins_are_materializations_and_keep_the_table_fresh():
    instance = DagsterInstance.ephemeral()
    reporter = Reporter("/tmp/lakehouse/live_room_forecasts")
    reporter.instance = instance
    latest = pd.Timestamp("2016-06-07 08:00", tz="UTC")
    reporter("snuk-reference-office", 3, 36, latest)
    event = instance.get_latest_materialization_event(AssetKey(TABLE))
    metadata = event.asset_materialization.metadata
    assert metadata["latest_bin_start"].value == latest.isoformat()
    assert metadata["delta_version"].value == 3
    # just reported: the freshness check passes (it warns once 2 bins + the delay pass)
    assert [e.passed for e in freshness(instance)] == [True]


def test_freshness_check_warns_without_reports():
    evaluations = freshness(DagsterInstance.ephemeral())
    assert [e.passed for e in evaluations] == [False]
    assert evaluations[0].severity == AssetCheckSeverity.WARN


def freshness(instance):
    job = define_asset_job(
        "live_freshness", selection=AssetSelection.checks(*live_freshness_checks)
    )
    defs = Definitions(assets=[live_room_forecasts], asset_checks=live_freshness_checks, jobs=[job])
    result = defs.resolve_job_def("live_freshness").execute_in_process(instance=instance)
    return result.get_asset_check_evaluations()
