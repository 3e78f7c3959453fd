"""Declarative automation: every stage after ingest follows its inputs.

``AutomationCondition.eager()`` looks only at the latest time partition, but late data changes
older days (a file arriving on day A changes measurement days A-4 .. A+1). So the condition is
eager with a lookback: any partition in the last ``LOOKBACK`` whose inputs were updated, or that
became missing, is materialized again.
"""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

LOOKBACK = dt.timedelta(days=7)


def follow_inputs(lookback: dt.timedelta = LOOKBACK) -> AutomationCondition:
    """Eager over the last ``lookback`` of partitions, and not blocked by missing inputs."""
    return (
        AutomationCondition.in_latest_time_window(lookback_delta=lookback)
        & (
            AutomationCondition.newly_missing() | AutomationCondition.any_deps_updated()
        ).since_last_handled()
        # Unlike eager(), missing inputs do not block: an arrival day without files is never
        # ingested, and today's resampling must not wait for it. Late data re-triggers the day.
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label(f"eager, {lookback.days}-day lookback")


def with_automation(spec: AssetSpec) -> AssetSpec:
    """``spec`` following its inputs (applied to every stage after ingest, in definitions.py)."""
    return spec.replace_attributes(automation_condition=follow_inputs())


automation_sensor = AutomationConditionSensorDefinition(
    "snuk_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes stages whose inputs changed, including days changed by late data.",
)


# Raw data should arrive every day: warn when the newest ingest is older than two days.
ingest_freshness_checks = build_last_update_freshness_checks(
    assets=["raw_observations"], lower_bound_delta=dt.timedelta(days=2)
)
freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=ingest_freshness_checks, default_status=DefaultSensorStatus.RUNNING
)
