"""Non-default settings reach the stage on every path: local engine, Spark engine, spark-submit.

The EMR step once got only the lakehouse, the registry and the bin width, and resampled with
the default max_gap and max_on without a word. Here the same raw observations are resampled
with a shorter max_gap, a shorter max_on and 10-minute bins three ways: in this process
(``LocalEngine``), on Spark (``SparkEngine``), and by the spark-submit entry point through
Dagster Pipes (``LocalSparkSubmitLauncher``); the three tables must be identical, and differ
from the defaults' (or the settings would not have been tested).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dagster import materialize

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.emr import LocalSparkSubmitLauncher, spark_resampled_series
from snuk_assets.engines import LocalEngine, SparkEngine
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building

pytest.importorskip("pyspark")

pytestmark = [pytest.mark.s3, pytest.mark.slow]

ROOMS = ["7101", "7103"]
START = dt.date(2016, 6, 6)
DAYS = [START + dt.timedelta(days=1), START + dt.timedelta(days=2)]
NON_DEFAULT = {"max_gap": {"motion": "2h", "temperature": "10min"}, "max_on": "1h"}
BIN_FREQ = "10min"
KEYS = ["sensor_id", "bin_start"]


def day_range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


@pytest.fixture(scope="module")
def landed(tmp_path_factory, small_registry) -> SnukSettings:
    """Five simulated days of two rooms, ingested; the settings of that lakehouse."""
    root = tmp_path_factory.mktemp("every_path")
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=small_registry(root / "building.yaml", ROOMS),
    )
    simulate_building(
        registry=settings.registry(),
        landing_uri=settings.landing_uri,
        truth_dir=root / "truth",
        start=START,
        days=5,
        seed=3,
    )
    resources = {"settings": settings, "engine": LocalEngine()}
    tags = day_range(START, START + dt.timedelta(days=4))
    assert materialize([raw_observations], resources=resources, tags=tags).success
    return settings


def resample(asset, resources) -> tuple[pd.DataFrame, dict[str, bool]]:
    """Materialize ``asset`` for ``DAYS``; the rows written and each check's outcome."""
    result = materialize([asset], resources=resources, tags=day_range(DAYS[0], DAYS[-1]))
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    rows = resources["settings"].lakehouse().read("resampled_series", dates=DAYS).to_pandas()
    return rows.sort_values(KEYS, ignore_index=True), checks


def test_max_gap_max_on_and_bin_width_reach_every_path(landed, s3_bucket):
    from snuk_assets.engines.spark_session import spark_session

    settings = landed.replaced(bin_freq=BIN_FREQ, **NON_DEFAULT)
    launcher = LocalSparkSubmitLauncher(pipes_bucket=s3_bucket, pipes_poll_seconds=1)
    paths = {
        "local": (resampled_series, {"settings": settings, "engine": LocalEngine()}),
        "spark": (
            resampled_series,
            {"settings": settings, "engine": SparkEngine.on(spark_session(master="local[2]"))},
        ),
        "spark-submit": (
            spark_resampled_series(),
            {"settings": settings, "spark_launcher": launcher},
        ),
    }
    defaults, _ = resample(resampled_series, {"settings": landed, "engine": LocalEngine()})
    results = {name: resample(asset, resources) for name, (asset, resources) in paths.items()}

    expected, expected_checks = results["local"]
    assert set(expected_checks) == {"sensors_mostly_online", "values_in_range"}
    for name, (rows, checks) in results.items():
        pd.testing.assert_frame_equal(rows, expected, check_exact=False, rtol=0, atol=1e-9)
        assert checks == expected_checks, name
    # The settings took effect: 10-minute bins, and offline bins the defaults would have held.
    assert (pd.DatetimeIndex(expected["bin_start"]).minute % 10 == 0).all()
    assert len(expected) * 2 == len(defaults)
    offline = expected.groupby("sensor_type")["status"].apply(lambda s: (s == "offline").mean())
    offline_default = defaults.groupby("sensor_type")["status"].apply(
        lambda s: (s == "offline").mean()
    )
    assert offline["motion"] > offline_default["motion"]
