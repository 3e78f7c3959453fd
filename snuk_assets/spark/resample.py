"""``resampled_series`` on Spark: kept for entry points that import it from here.

The stage itself is the asset's (``snuk_assets.assets.resampled_series.resample_days``) run on
a ``SparkEngine``; see ``snuk_assets.spark.stages``.
"""

from snuk_assets.spark.stages import SparkResampleReport, resample_on_spark

__all__ = ["SparkResampleReport", "resample_on_spark"]
