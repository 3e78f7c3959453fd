"""spark-submit entry point: materialize ``resampled_series`` for a range of days on Spark.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/resample_tseries.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-01 --end 2016-06-14

Reads ``raw_observations`` and writes ``resampled_series`` in the lakehouse with the same rows
as the Dagster asset (``snuk_assets.spark.resample``); prints one JSON line with what it wrote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from snuk_assets.settings import SnukSettings
from snuk_assets.spark.resample import resample_on_spark
from snuk_assets.spark.session import spark_session


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", required=True, help="lakehouse root, s3://bucket/prefix")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat, help="first day")
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat, help="last day")
    parser.add_argument("--registry", default="", help="building registry YAML (default: bundled)")
    parser.add_argument("--bin-freq", default="5min", help="bin width (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    days = [args.start + dt.timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    settings = SnukSettings(
        landing_uri="",  # not read: the raw table is already in the lakehouse
        lakehouse_uri=args.lakehouse,
        registry_path=args.registry,
        bin_freq=args.bin_freq,
    )
    spark = spark_session("snuk-resample-tseries")
    try:
        report = resample_on_spark(spark, settings, days)
    finally:
        spark.stop()
    print(
        json.dumps(
            {
                "table_uri": report.write.table_uri,
                "delta_version": report.write.version,
                "rows": report.write.rows,
                "sensors": report.sensors,
                "days": [str(day) for day in report.write.dates],
                "commit_attempts": report.write.attempts,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
