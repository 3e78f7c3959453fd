"""spark-submit entry point: materialize ``resampled_series`` for a range of days on Spark.

    spark-submit --master yarn --deploy-mode cluster \\
      --conf spark.pyspark.python=/opt/snuk/venv/bin/python \\
      --conf spark.pyspark.driver.python=/opt/snuk/venv/bin/python \\
      s3://BUCKET/emr/resample_tseries.py \\
      --lakehouse s3://BUCKET/lakehouse --start 2016-06-01 --end 2016-06-14 \\
      --registry /opt/snuk/building.yaml

Reads ``raw_observations`` and writes ``resampled_series`` in the lakehouse with the same rows
as the Dagster asset (``snuk_assets.emr.jobs``). Launched by Dagster (``snuk_assets.emr``),
it logs its progress and reports the materialization through Pipes; started by hand, it prints
one JSON line with what it wrote.
"""

import argparse
import sys

from snuk_assets.emr.entry import day_range_parser, parse_day_range, require_table, step_reporter
from snuk_assets.emr.jobs import resample_on_spark
from snuk_assets.engines.spark_session import spark_session
from snuk_assets.settings import SnukSettings

ASSET = "resampled_series"
SOURCE = "raw_observations"


def parser() -> argparse.ArgumentParser:
    parser = day_range_parser(__doc__.splitlines()[0])
    parser.add_argument("--registry", default="", help="building registry YAML (default: bundled)")
    parser.add_argument("--bin-freq", default="5min", help="bin width (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, days = parse_day_range(parser(), sys.argv[1:] if argv is None else argv)
    settings = SnukSettings(
        landing_uri="",  # not read: the raw table is already in the lakehouse
        lakehouse_uri=args.lakehouse,
        registry_path=args.registry,
        bin_freq=args.bin_freq,
    )
    with step_reporter(ASSET) as report:
        require_table(
            settings, SOURCE, needed_for=f"the arrival days around {args.start}..{args.end}"
        )
        report.info(f"resampling {len(days)} days ({args.start}..{args.end}) from {SOURCE}")
        spark = spark_session("snuk-resample-tseries")
        try:
            result = resample_on_spark(spark, settings, days)
        finally:
            spark.stop()
        write = result.write
        report.info(f"wrote {write.rows} rows of {result.sensors} sensors, version {write.version}")
        report.materialized(write, sensors=result.sensors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
