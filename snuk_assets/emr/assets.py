"""``resampled_series`` computed by the spark-submit entry point, on EMR or locally.

The same key, partitions and upstream dependency as ``snuk_assets.assets.resampled_series``, so
it replaces that asset in a code location that resamples on a cluster; the table checks are not
evaluated here (the summaries they read stay on the cluster).
"""

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    asset,
)

from snuk_assets.emr.launcher import SparkStepLauncher
from snuk_assets.emr.steps import resample_step
from snuk_assets.partitions import daily_partitions, measured_day_mapping, partition_dates
from snuk_assets.settings import SnukSettings


def spark_resampled_series(launcher_key: str = "spark_launcher") -> AssetsDefinition:
    """The ``resampled_series`` asset run by the ``SparkStepLauncher`` under ``launcher_key``."""

    @asset(
        name="resampled_series",
        deps=[AssetDep("raw_observations", partition_mapping=measured_day_mapping())],
        partitions_def=daily_partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name="resample",
        kinds={"delta", "spark"},
        required_resource_keys={"settings", launcher_key},
    )
    def resampled_series(context: AssetExecutionContext):
        """Per sensor, exact time-weighted bins of each measurement day, computed by Spark."""
        settings: SnukSettings = context.resources.settings
        launcher: SparkStepLauncher = getattr(context.resources, launcher_key)
        launcher.check_lakehouse(settings.lakehouse_uri)
        step = resample_step(
            settings.lakehouse_uri,
            partition_dates(context.partition_keys),
            registry=launcher.step_registry(settings),
            bin_freq=settings.bin_freq,
        )
        yield from launcher.run_steps(context, [step])

    return resampled_series
