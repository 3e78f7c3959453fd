"""spark-submit entry point: materialize ``resampled_series`` for a range of days on Spark.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/resample_tseries.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-01 --end 2016-06-14 \\
      --registry /opt/snuk/building.yaml

Reads ``raw_observations`` and writes ``resampled_series`` in the lakehouse with the same rows
as the Dagster asset (``snuk_assets.spark.stages``). Launched by Dagster (``snuk_assets.emr``),
it logs its progress and reports the materialization through Pipes; started by hand, it prints
one JSON line with what it wrote.
"""

import argparse
import datetime as dt
import sys

from snuk_assets.emr.report import step_reporter
from snuk_assets.settings import SnukSettings
from snuk_assets.spark.session import spark_session
from snuk_assets.spark.stages import resample_on_spark

ASSET = "resampled_series"
SOURCE = "raw_observations"


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
    with step_reporter(ASSET) as report:
        lakehouse = settings.lakehouse()
        if not lakehouse.exists(SOURCE):
            raise FileNotFoundError(
                f"no {SOURCE} table at {lakehouse.table_uri(SOURCE)}: materialize {SOURCE} "
                f"for the arrival days around {args.start}..{args.end} first"
            )
        report.info(f"resampling {len(days)} days ({args.start}..{args.end}) from {SOURCE}")
        spark = spark_session("snuk-resample-tseries")
        try:
            result = resample_on_spark(spark, settings, days)
        finally:
            spark.stop()
        write = result.write
        report.info(f"wrote {write.rows} rows of {result.sensors} sensors, version {write.version}")
        report.materialized(
            {
                "table_uri": write.table_uri,
                "delta_version": write.version,
                "rows": write.rows,
                "sensors": result.sensors,
                "days": [str(day) for day in write.dates],
                "commit_attempts": write.attempts,
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
