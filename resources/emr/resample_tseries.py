"""spark-submit entry point: materialize ``resampled_series`` for a range of days on Spark.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/resample_tseries.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-01 --end 2016-06-14 \\
      --registry /opt/snuk/building.yaml

Dagster passes the settings whole (``--settings``, ``SnukSettings.to_json``); by hand they come
from the driver's ``SNUK_*`` variables, with ``--lakehouse`` and ``--registry`` on top. Reads
``raw_observations`` and writes ``resampled_series`` with the same rows as the Dagster asset
(``snuk_assets.emr.jobs.resample_main``). Launched by Dagster it reports through Pipes; started
by hand, it prints one JSON line with what it wrote.
"""

import sys

from snuk_assets.emr.jobs import resample_main

if __name__ == "__main__":
    sys.exit(resample_main())
