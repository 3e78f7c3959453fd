"""resampled_series on Spark equals the asset's rows, on a simulated building with late data."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
from dagster import materialize

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.emr.jobs import resample_on_spark
from snuk_assets.engines import LocalEngine
from snuk_assets.registry import default_registry_path, load_registry
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate.simulation import simulate_building

DAYS = [dt.date(2016, 6, 2), dt.date(2016, 6, 3)]
KEY = ["sensor_id", "bin_start"]


def run(asset, settings: SnukSettings, first: str, last: str) -> None:
    result = materialize(
        [asset],
        resources={"settings": settings, "engine": LocalEngine()},
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
    )
    assert result.success


def read_series(settings: SnukSettings) -> pd.DataFrame:
    table = settings.lakehouse().read("resampled_series").to_pandas()
    return table.sort_values(KEY).reset_index(drop=True)


def test_spark_resampling_equals_the_asset(spark, tmp_path):
    local = SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "local")
    )
    simulate_building(
        registry=load_registry(default_registry_path()),
        landing_uri=local.landing_uri,
        truth_dir=tmp_path / "truth",
        start=dt.date(2016, 6, 1),
        days=4,
        seed=7,
    )
    run(raw_observations, local, "2016-06-01", "2016-06-07")
    run(resampled_series, local, "2016-06-02", "2016-06-03")
    # Spark's lakehouse starts from the same raw table (Delta tables are relocatable).
    on_spark = SnukSettings(landing_uri=local.landing_uri, lakehouse_uri=str(tmp_path / "spark"))
    shutil.copytree(
        tmp_path / "local" / "raw_observations", tmp_path / "spark" / "raw_observations"
    )

    report = resample_on_spark(spark, on_spark, DAYS)

    expected, actual = read_series(local), read_series(on_spark)
    assert report.write.rows == len(expected) and report.write.dates == tuple(DAYS)
    assert report.sensors == expected["sensor_id"].nunique() > 10
    assert list(actual.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(
        actual, expected, check_exact=False, rtol=0, atol=1e-9, check_dtype=True
    )
    # The simulated building has offline and filled bins: the comparison covers all statuses.
    assert set(expected["status"]) == {"observed", "filled", "offline"}
