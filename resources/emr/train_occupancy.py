"""spark-submit entry point: materialize ``occupancy_models`` for a range of training days.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/train_occupancy.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-14 --end 2016-06-14

One group per training day and room, trained by the asset's own function
(``snuk_assets.emr.jobs.train_on_spark``) on the ``feature_windows`` of the trailing
``--train-days`` days. Launched by Dagster (``snuk_assets.emr``), it logs its progress and
reports the materialization through Pipes; started by hand, it prints one JSON line.
"""

import argparse
import sys

from snuk_assets.emr.entry import day_range_parser, parse_day_range, require_table, step_reporter
from snuk_assets.emr.jobs import train_on_spark
from snuk_assets.engines.spark_session import spark_session
from snuk_assets.settings import SnukSettings

ASSET = "occupancy_models"
SOURCE = "feature_windows"


def parser() -> argparse.ArgumentParser:
    parser = day_range_parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--train-days", type=int, default=28, help="training window (default: %(default)s)"
    )
    parser.add_argument(
        "--min-days",
        type=int,
        default=3,
        help="a room with fewer days of windows is skipped (default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args, days = parse_day_range(parser(), sys.argv[1:] if argv is None else argv)
    settings = SnukSettings(landing_uri="", lakehouse_uri=args.lakehouse)
    with step_reporter(ASSET) as report:
        require_table(settings, SOURCE, needed_for=f"the {args.train_days} days up to {args.end}")
        report.info(f"training {len(days)} days ({args.start}..{args.end}) on {SOURCE}")
        spark = spark_session("snuk-train-occupancy")
        try:
            write = train_on_spark(
                spark, settings, days, train_days=args.train_days, min_days=args.min_days
            )
        finally:
            spark.stop()
        report.info(f"wrote {write.rows} room models, version {write.version}")
        report.materialized(write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
