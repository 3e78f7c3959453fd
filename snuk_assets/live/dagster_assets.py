"""The live table in the Dagster graph: an external asset, materializations reported by the service.

``live_room_forecasts`` is written by ``snuk live``, not by a Dagster run: Dagster sees it as an
external asset downstream of the models it uses, and the service reports a materialization
for every bin it appends (``report_bin``, through the instance in ``DAGSTER_HOME``). A freshness
check warns when no bin has been reported for more than two bins (plus the allowed delay).
"""

from __future__ import annotations

import datetime as dt
import logging
import os

import pandas as pd
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    DefaultSensorStatus,
    MetadataValue,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from snuk_assets.live.outputs import TABLE

log = logging.getLogger("snuk.live")
BIN = dt.timedelta(minutes=5)
DELAY = dt.timedelta(seconds=30)

live_room_forecasts = AssetSpec(
    TABLE,
    deps=["occupancy_models"],
    group_name="live",
    kinds={"delta"},
    description="Every room's next-hour occupancy probabilities, appended at each closed bin by "
    "the live service (snuk live): external, its materializations are reported by the service.",
)

live_freshness_checks = build_last_update_freshness_checks(
    assets=[live_room_forecasts.key],
    lower_bound_delta=2 * BIN + DELAY,
    severity=AssetCheckSeverity.WARN,
)
live_freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=live_freshness_checks,
    minimum_interval_seconds=60,
    name="live_freshness_sensor",
    default_status=DefaultSensorStatus.RUNNING,
)


class Reporter:
    """Reports each appended bin to the Dagster instance (if ``DAGSTER_HOME`` names one)."""

    def __init__(self, table_uri: str):
        self.table_uri = table_uri
        self.instance = None
        if os.environ.get("DAGSTER_HOME"):
            from dagster import DagsterInstance

            self.instance = DagsterInstance.get()
        else:
            log.info("DAGSTER_HOME not set: live bins are not reported to Dagster")

    def __call__(self, building_id: str, version, rows: int, latest: pd.Timestamp) -> None:
        if self.instance is None or version is None:
            return
        self.instance.report_runless_asset_event(
            AssetMaterialization(
                asset_key=AssetKey(TABLE),
                description=f"{building_id}: bin {latest.isoformat()}",
                metadata={
                    "building_id": building_id,
                    "latest_bin_start": latest.isoformat(),
                    "dagster/row_count": rows,
                    "delta_version": version,
                    "table_uri": MetadataValue.path(self.table_uri),
                },
            )
        )
