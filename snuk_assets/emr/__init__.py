"""Running SNUK's spark-submit entry points (``resources/emr/``) from Dagster through Pipes.

``EmrPipesLauncher`` on EMR, ``LocalSparkSubmitLauncher`` with ``spark-submit --master
local[2]``; both are ``SparkStepLauncher`` resources. ``spark_resampled_series`` is the
``resampled_series`` asset run by whichever launcher is configured, ``spark_launcher_from_env``
the launcher the ``SNUK_SPARK_LAUNCHER`` variables describe (``snuk_assets.emr.definitions``).
"""

from snuk_assets.emr.cluster import EmrPipesLauncher
from snuk_assets.emr.definitions import spark_resampled_series
from snuk_assets.emr.environment import spark_launcher_from_env
from snuk_assets.emr.launcher import SparkStepLauncher
from snuk_assets.emr.local import LocalSparkSubmitLauncher
from snuk_assets.emr.steps import SparkStep, resample_step, train_step

__all__ = [
    "EmrPipesLauncher",
    "LocalSparkSubmitLauncher",
    "SparkStep",
    "SparkStepLauncher",
    "resample_step",
    "spark_launcher_from_env",
    "spark_resampled_series",
    "train_step",
]
