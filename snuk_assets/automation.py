"""Declarative automation: every stage after ingest follows its inputs.

``AutomationCondition.eager()`` looks only at the latest time partition, but late data changes
older days (a file arriving on day A changes measurement days A-4 .. A+3). So the condition is
eager with a lookback: any partition in the last ``LOOKBACK`` whose inputs were updated is
materialized again. It is applied in one place, to everything downstream of ingest
(``follow_ingest``), so a new stage follows its inputs as soon as it is in the graph.
"""

from __future__ import annotations

import datetime as dt
import warnings

from dagster import (
    AssetSelection,
    AssetSpec,
    AutomationCondition,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    PreviewWarning,
)

LOOKBACK = dt.timedelta(days=7)


def follow_inputs(lookback: dt.timedelta = LOOKBACK) -> AutomationCondition:
    """Eager over the last ``lookback`` of partitions, and not blocked by missing inputs."""
    return (
        AutomationCondition.in_latest_time_window(lookback_delta=lookback)
        # Unlike eager(), only updated inputs trigger, not a partition newly missing: at
        # midnight a new day is missing everywhere, and running every stage on no data would
        # only be redone when the day's files arrive.
        & AutomationCondition.any_deps_updated().since_last_handled()
        # Unlike eager(), missing inputs do not block: an arrival day without files is never
        # ingested, and today's resampling must not wait for it. Late data re-triggers the day.
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label(f"eager, {lookback.days}-day lookback")


def with_automation(spec: AssetSpec) -> AssetSpec:
    """``spec`` following its inputs."""
    return spec.replace_attributes(automation_condition=follow_inputs())


# Every stage after ingest; ingest itself is started by the landing sensor. The control
# evaluation (group "control") is left to run by hand: it needs a simulated building's truth.
MANUAL_GROUPS = ("control",)
AFTER_INGEST = AssetSelection.assets("raw_observations").downstream(
    include_self=False
) - AssetSelection.groups(*MANUAL_GROUPS)


def follow_ingest(defs: Definitions) -> Definitions:
    """``defs`` with every asset downstream of ``raw_observations`` following its inputs."""
    # A preview API in Dagster 1.13; dagster is pinned, and tests/test_automation.py checks
    # that exactly the stages after ingest get the condition.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PreviewWarning)
        return defs.map_resolved_asset_specs(func=with_automation, selection=AFTER_INGEST)


automation_sensor = AutomationConditionSensorDefinition(
    "snuk_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes stages whose inputs changed, including days changed by late data.",
)
