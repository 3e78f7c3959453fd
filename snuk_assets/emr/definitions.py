"""A code location that computes ``resampled_series`` with the Spark entry point, on EMR or here.

    SNUK_SPARK_LAUNCHER=emr SNUK_PIPES_BUCKET=my-bucket \\
      dagster asset materialize -m snuk_assets.emr.definitions --select resampled_series ...

Wiring only, built when Dagster loads it (not at import). The asset is the main code
location's own declaration (``assets.resampled_series.resampled_series_asset``), run by the
launcher instead of the engine: the same key, dependencies, partitions, group and checks.
"""

from collections.abc import Mapping

from dagster import AssetsDefinition, Definitions, definitions

from snuk_assets.assets.resampled_series import resampled_series_asset
from snuk_assets.emr.environment import spark_launcher_from_env
from snuk_assets.partitions import check_lateness
from snuk_assets.settings import SnukSettings


def spark_resampled_series(launcher_key: str = "spark_launcher") -> AssetsDefinition:
    """``resampled_series`` run by the ``SparkStepLauncher`` under ``launcher_key``."""
    return resampled_series_asset(launcher_key=launcher_key)


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    """``resampled_series`` on Spark, with settings and launcher from the environment."""
    settings = SnukSettings.from_env(environ)
    check_lateness(settings.max_lateness_days)
    return Definitions(
        assets=[spark_resampled_series("spark_launcher")],
        resources={
            "settings": settings,
            "spark_launcher": spark_launcher_from_env(environ),
        },
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
