"""Wiring only: the asset graph, the daily job and the settings resource from the environment."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, define_asset_job

from snuk_assets.assets.control import control_assets
from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.model_metrics import model_metrics
from snuk_assets.assets.occupancy_estimate import occupancy_estimate
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.assets.sensors import sensors
from snuk_assets.automation import automation_sensor, follow_ingest
from snuk_assets.checks import table_checks
from snuk_assets.engines import engine_from_env
from snuk_assets.housekeeping import vacuum_job, vacuum_schedule
from snuk_assets.landing_events import landing_events_sensor
from snuk_assets.landing_sensor import ingest_job, landing_files_sensor
from snuk_assets.live.dagster_assets import (
    live_freshness_checks,
    live_freshness_sensor,
    live_room_forecasts,
)
from snuk_assets.partitions import BY_BUILDING, check_lateness, check_partition_shape
from snuk_assets.registry_sensor import building_registries_sensor
from snuk_assets.settings import SnukSettings

DAILY_JOB = "daily_pipeline"

# The date-partitioned stages after ingest, in data-flow order: each follows its inputs
# (snuk_assets/automation.py). The registry (`sensors`) is unpartitioned and materialized by
# hand; ingest (`raw_observations`) is started by the landing sensor.
FOLLOWING_STAGES = (
    resampled_series,
    room_series,
    occupancy_estimate,
    feature_windows,
    occupancy_models,
    model_metrics,
    occupancy_forecasts,
)

daily_pipeline = define_asset_job(
    DAILY_JOB,
    selection=AssetSelection.assets(raw_observations, *FOLLOWING_STAGES),
    description="Ingest, resample, featurize, train and forecast for a range of days.",
)


def build_definitions(settings: SnukSettings | None = None) -> Definitions:
    """The code location, with ``settings`` or, by default, settings from the environment."""
    settings = settings or SnukSettings.from_env()
    check_lateness(settings.max_lateness_days)
    # By day, one building; by building and day, a registries folder (partitions.py).
    check_partition_shape(settings)
    assets = [sensors, raw_observations, *FOLLOWING_STAGES]
    # SNUK_LANDING_QUEUE_URL: follow the bucket's event notifications, else list recent days.
    landing_sensor = landing_events_sensor if settings.landing_queue_url else landing_files_sensor
    definitions = Definitions(
        # live_room_forecasts is external: written by `snuk live`, which reports each bin.
        # The control evaluation runs by hand, on a simulated building (README: Control).
        assets=[*assets, live_room_forecasts, control_assets],
        jobs=[daily_pipeline, ingest_job, vacuum_job],
        schedules=[vacuum_schedule],
        asset_checks=[*table_checks(assets), *live_freshness_checks],
        sensors=[
            landing_sensor,
            automation_sensor,
            live_freshness_sensor,
            # A portfolio's buildings partitions follow its registries folder.
            *([building_registries_sensor] if BY_BUILDING else []),
        ],
        resources={
            "settings": settings,
            # SNUK_ENGINE: local (default, in-process) or spark (PySpark, SNUK_SPARK_MASTER).
            "engine": engine_from_env(),
        },
    )
    return follow_ingest(definitions)


defs = build_definitions()
