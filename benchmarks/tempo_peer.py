"""The peer of SNUK's resampling stage: Tempo (``dbl-tempo``) on Spark ``local[2]`` (issue 19).

    .venv/bin/python benchmarks/tempo_peer.py --lakehouse W/lakehouse --out W/tempo --mode resample

Run by ``pipeline_benchmark.py --tempo`` beside the ``resampled_series`` stage, as a process of
its own so that its wall time and memory are measured as the stage's are: process start, Spark
start, reading the ``raw_observations`` snapshot, resampling, writing the bins.

Tempo reads the snapshot's Parquet files (``DeltaTable.file_uris()``: no Delta reader for Spark
is installed) with Spark's own reader, as a Tempo user would, and writes Parquet. Two modes,
both ``TSDF(partition_cols=["sensor_id"])`` with 5-minute bins:

- ``resample``: ``TSDF.resample(func="mean")``, the arithmetic mean of the observations that fall
  in a bin; a bin without an observation has no row.
- ``interpolate``: ``TSDF.interpolate(func="mean", method="ffill")``, the same means with every
  bin between a sensor's first and last filled by the last mean before it: a value for every
  bin, as SNUK's table has.

Neither is SNUK's mean. SNUK's is exact: the time-weighted mean of the signal each sensor type
implies (a motion sensor's state held until the next event or its hold, a climate reading
interpolated to the next), with offline spans marked, the latest arrival of an observation
winning, and observations after a gap not carried across it. ``compare`` measures how far
Tempo's bins are from SNUK's (``pipeline_benchmark.py`` calls it after the run).

Tempo is an optional extra (``pip install -e '.[tempo]'``): it imports IPython and scipy.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

FREQ = "5 minutes"
MODES = ("resample", "interpolate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lakehouse", type=pathlib.Path, required=True)
    parser.add_argument("--out", type=pathlib.Path, required=True, help="Parquet folder")
    parser.add_argument("--mode", choices=MODES, default="resample")
    args = parser.parse_args()

    started = time.monotonic()
    from deltalake import DeltaTable
    from tempo import TSDF

    from snuk_assets.engines.spark_session import spark_session

    spark = spark_session("tempo-peer", master="local[2]")
    spark_ready = time.monotonic()
    files = DeltaTable(str(args.lakehouse / "raw_observations")).file_uris()
    raw = spark.read.parquet(*files).select("sensor_id", "ts", "value")
    series = TSDF(raw, ts_col="ts", partition_cols=["sensor_id"])
    if args.mode == "resample":
        bins = series.resample(freq=FREQ, func="mean", metricCols=["value"])
    else:
        bins = series.interpolate(
            freq=FREQ, func="mean", method="ffill", target_cols=["value"], perform_checks=False
        )
    bins.df.select("sensor_id", "ts", "value").write.mode("overwrite").parquet(str(args.out))
    done = time.monotonic()
    spark.stop()
    print(
        json.dumps(
            {
                "mode": args.mode,
                "raw_files": len(files),
                "spark_start_s": round(spark_ready - started, 1),
                "resample_s": round(done - spark_ready, 1),
            }
        )
    )


def compare(tempo_bins: pathlib.Path, lakehouse: pathlib.Path) -> dict:
    """How far Tempo's bins are from SNUK's ``resampled_series``, by sensor type.

    Per type: SNUK's bins with a value, the share of them Tempo has a value for, and the mean
    and 95th percentile of |Tempo - SNUK| over the bins both have a value for; and Tempo's bins
    SNUK has no value for (offline spans SNUK marks, or bins past a sensor's last observation).
    """
    import pyarrow.dataset as ds

    snuk = (
        ds.dataset(str(lakehouse / "resampled_series"), format="parquet", partitioning="hive")
        .to_table(columns=["sensor_id", "sensor_type", "bin_start", "value"])
        .to_pandas()
        .dropna(subset=["value"])
    )
    tempo = ds.dataset(str(tempo_bins), format="parquet").to_table().to_pandas()
    tempo = tempo.rename(columns={"ts": "bin_start", "value": "tempo"}).dropna(subset=["tempo"])
    stamps = tempo["bin_start"]  # Spark writes the session's UTC instants without a zone
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    tempo["bin_start"] = stamps.astype(snuk["bin_start"].dtype)
    types = snuk.drop_duplicates("sensor_id").set_index("sensor_id")["sensor_type"]
    both = snuk.merge(tempo, on=["sensor_id", "bin_start"], how="outer", indicator=True)
    both["sensor_type"] = both["sensor_id"].map(types)
    report = {}
    for kind, rows in both.groupby("sensor_type"):
        matched = rows[rows["_merge"] == "both"]
        gap = (matched["tempo"] - matched["value"]).abs()
        in_snuk = int((rows["_merge"] != "right_only").sum())
        report[str(kind)] = {
            "snuk_bins": in_snuk,
            "tempo_share_of_snuk_bins": round(len(matched) / in_snuk, 4) if in_snuk else None,
            "tempo_only_bins": int((rows["_merge"] == "right_only").sum()),
            "mean_abs_difference": round(float(gap.mean()), 4) if len(gap) else None,
            "p95_abs_difference": round(float(gap.quantile(0.95)), 4) if len(gap) else None,
        }
    return report


if __name__ == "__main__":
    sys.exit(main())
