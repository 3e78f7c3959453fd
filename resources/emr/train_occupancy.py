"""spark-submit entry point: materialize ``occupancy_models`` for a range of training days.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/train_occupancy.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-14 --end 2016-06-14 \\
      --training '{"train_days": 28}'

One group per training day and room, trained by the stage's own function
(``snuk_assets.emr.jobs.train_main``) on the ``feature_windows`` of the trailing ``train_days``
days; ``--settings`` as for ``resample_tseries.py``. Launched by Dagster it reports through
Pipes; started by hand, it prints one JSON line.
"""

import sys

from snuk_assets.emr.jobs import train_main

if __name__ == "__main__":
    sys.exit(train_main())
