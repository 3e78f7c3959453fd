"""Running SNUK's spark-submit entry points (``resources/emr/``) from Dagster through Pipes.

``EmrPipesLauncher`` on EMR, ``LocalSparkSubmitLauncher`` with ``spark-submit --master
local[2]``; both are ``SparkStepLauncher`` resources. ``spark_resampled_series`` is the
``resampled_series`` asset run by whichever launcher is configured, ``spark_launcher_from_env``
the launcher the ``SNUK_SPARK_LAUNCHER`` variables describe (``snuk_assets.emr.definitions``).
``jobs`` holds the entry points themselves, which run on the Spark driver.

The names load on first use: the entry points import ``snuk_assets.emr.jobs``, which must not
pull in the launchers (Dagster, boto3, delta-rs) before the stage needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snuk_assets.emr.cluster import EmrPipesLauncher
    from snuk_assets.emr.definitions import spark_resampled_series
    from snuk_assets.emr.environment import spark_launcher_from_env
    from snuk_assets.emr.launcher import SparkStepLauncher
    from snuk_assets.emr.local import LocalSparkSubmitLauncher
    from snuk_assets.emr.steps import SparkStep, resample_step, train_step

_LAZY = {
    "EmrPipesLauncher": "snuk_assets.emr.cluster",
    "LocalSparkSubmitLauncher": "snuk_assets.emr.local",
    "SparkStep": "snuk_assets.emr.steps",
    "SparkStepLauncher": "snuk_assets.emr.launcher",
    "resample_step": "snuk_assets.emr.steps",
    "spark_launcher_from_env": "snuk_assets.emr.environment",
    "spark_resampled_series": "snuk_assets.emr.definitions",
    "train_step": "snuk_assets.emr.steps",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
