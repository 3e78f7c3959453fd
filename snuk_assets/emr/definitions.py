"""A code location that computes ``resampled_series`` with the Spark entry point, on EMR or here.

    SNUK_SPARK_LAUNCHER=emr SNUK_PIPES_BUCKET=my-bucket \\
      dagster asset materialize -m snuk_assets.emr.definitions --select resampled_series ...

Wiring only, built when Dagster loads it (not at import): the main code location
(``snuk_assets.definitions``) is unchanged.
"""

from collections.abc import Mapping

from dagster import Definitions, definitions

from snuk_assets.emr.assets import spark_resampled_series
from snuk_assets.emr.environment import spark_launcher_from_env
from snuk_assets.settings import SnukSettings


def build_definitions(environ: Mapping[str, str] | None = None) -> Definitions:
    """``resampled_series`` on Spark, with settings and launcher from the environment."""
    return Definitions(
        assets=[spark_resampled_series("spark_launcher")],
        resources={
            "settings": SnukSettings.from_env(environ),
            "spark_launcher": spark_launcher_from_env(environ),
        },
    )


@definitions
def defs() -> Definitions:
    return build_definitions()
