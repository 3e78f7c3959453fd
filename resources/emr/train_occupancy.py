"""spark-submit entry point: materialize ``occupancy_models`` for a range of training days.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/train_occupancy.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-14 --end 2016-06-14

One group per training day and room, trained by the asset's own function
(``snuk_assets.spark.stages.train_on_spark``) on the ``feature_windows`` of the trailing
``--train-days`` days. Launched by Dagster (``snuk_assets.emr``), it logs its progress and
reports the materialization through Pipes; started by hand, it prints one JSON line.
"""

import argparse
import datetime as dt
import sys

from snuk_assets.emr.report import step_reporter
from snuk_assets.settings import SnukSettings
from snuk_assets.spark.session import spark_session
from snuk_assets.spark.stages import train_on_spark

ASSET = "occupancy_models"
SOURCE = "feature_windows"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", required=True, help="lakehouse root, s3://bucket/prefix")
    parser.add_argument("--start", required=True, type=dt.date.fromisoformat, help="first day")
    parser.add_argument("--end", required=True, type=dt.date.fromisoformat, help="last day")
    parser.add_argument(
        "--train-days", type=int, default=28, help="training window (default: %(default)s)"
    )
    parser.add_argument(
        "--min-days",
        type=int,
        default=3,
        help="a room with fewer days of windows is skipped (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.end < args.start:
        parser.error(f"--end {args.end} is before --start {args.start}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    days = [args.start + dt.timedelta(days=i) for i in range((args.end - args.start).days + 1)]
    settings = SnukSettings(landing_uri="", lakehouse_uri=args.lakehouse)
    with step_reporter(ASSET) as report:
        lakehouse = settings.lakehouse()
        if not lakehouse.exists(SOURCE):
            raise FileNotFoundError(
                f"no {SOURCE} table at {lakehouse.table_uri(SOURCE)}: materialize {SOURCE} "
                f"for the {args.train_days} days up to {args.end} first"
            )
        report.info(f"training {len(days)} days ({args.start}..{args.end}) on {SOURCE}")
        spark = spark_session("snuk-train-occupancy")
        try:
            write = train_on_spark(
                spark, settings, days, train_days=args.train_days, min_days=args.min_days
            )
        finally:
            spark.stop()
        report.info(f"wrote {write.rows} room models, version {write.version}")
        report.materialized(
            {
                "table_uri": write.table_uri,
                "delta_version": write.version,
                "rows": write.rows,
                "days": [str(day) for day in write.dates],
                "commit_attempts": write.attempts,
            }
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
