"""The engine contract on real stages: every table is the same on LocalEngine and SparkEngine.

One small simulated building (4 rooms, 8 days) lands once; the whole pipeline is materialized
from it twice, into two lakehouses, once per engine. Rows are compared sorted, floats to 1e-9;
the forests are trained with a fixed seed on the same windows in the same column order, so
their trees and metrics must be identical, not merely close. The materialization metadata (built
from per-group summaries) must agree too.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from dagster import materialize

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.model_metrics import model_metrics
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.assets.sensors import sensors
from snuk_assets.emr.jobs import train_on_spark
from snuk_assets.engines import LocalEngine, SparkEngine
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate import simulate_building
from snuk_assets.stages.models import read_models
from snuk_assets.transforms.models.blobs import load_model

ROOMS = ["7101", "7103", "7104", "7112"]
START = dt.date(2016, 6, 6)
DAYS = 8
LAST = START + dt.timedelta(days=DAYS - 1)
TOLERANCE = 1e-9
# Each table's rows, identified: the comparison sorts by these columns.
ROW_KEYS = {
    "raw_observations": ["sensor_id", "ts", "source_file"],
    "resampled_series": ["sensor_id", "bin_start"],
    "room_series": ["room_id", "bin_start"],
    "feature_windows": ["room_id", "bin_start"],
    "model_metrics": ["date", "room_id", "model", "horizon"],
    "occupancy_forecasts": ["date", "room_id", "horizon"],
}
# Metadata that names where a table is (or embeds a PNG), not what is in it.
PLACE_METADATA = ("table_uri", "delta_version", "motion_by_room", "occupancy_by_room")


def run(assets, settings, engine, first: dt.date, last: dt.date) -> dict[str, dict]:
    """Materialize ``assets`` for ``first .. last``; each asset's metadata values by name."""
    result = materialize(
        assets,
        resources={"settings": settings, "engine": engine},
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
    )
    assert result.success
    metadata = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        metadata[materialization.asset_key.to_user_string()] = {
            name: value.value for name, value in materialization.metadata.items()
        }
    return metadata


def materialize_pipeline(settings: SnukSettings, engine) -> dict[str, dict]:
    """The demo's order: data stages over the range, model stages for the last day."""
    metadata = run([sensors], settings, engine, START, START)
    metadata |= run([raw_observations], settings, engine, START, LAST + dt.timedelta(days=4))
    data_stages = [resampled_series, room_series, feature_windows]
    metadata |= run(data_stages, settings, engine, START, LAST)
    model_stages = [occupancy_models, model_metrics, occupancy_forecasts]
    metadata |= run(model_stages, settings, engine, LAST, LAST)
    return metadata


@pytest.fixture(scope="module")
def lakehouses(tmp_path_factory, spark, small_registry):
    """Both engines' settings and metadata, from the same landing zone."""
    root = tmp_path_factory.mktemp("parity")
    registry = small_registry(root / "building.yaml", ROOMS)
    landing = str(root / "landing")
    simulate_building(
        registry=SnukSettings(registry_path=registry).registry(),
        landing_uri=landing,
        truth_dir=root / "truth",
        start=START,
        days=DAYS,
        seed=11,
    )
    engines = {"local": LocalEngine(max_workers=1), "spark": SparkEngine.on(spark)}
    results = {}
    for name, engine in engines.items():
        settings = SnukSettings(
            landing_uri=landing, lakehouse_uri=str(root / name), registry_path=registry
        )
        results[name] = (settings, materialize_pipeline(settings, engine))
    return results


def read_sorted(settings: SnukSettings, table: str) -> pd.DataFrame:
    rows = settings.lakehouse().read(table).to_pandas()
    return rows.sort_values(ROW_KEYS[table]).reset_index(drop=True)


@pytest.mark.parametrize("table", list(ROW_KEYS))
def test_every_table_has_the_same_rows(lakehouses, table):
    (local, _), (spark, _) = lakehouses["local"], lakehouses["spark"]
    expected, actual = read_sorted(local, table), read_sorted(spark, table)
    assert len(expected) > 0
    pd.testing.assert_frame_equal(
        actual, expected, check_exact=False, rtol=0, atol=TOLERANCE, check_dtype=True
    )


def test_the_same_rooms_train_into_the_same_models(lakehouses):
    (local, _), (spark, _) = lakehouses["local"], lakehouses["spark"]
    expected = read_models(local.lakehouse(), [LAST]).sort_values("room_id", ignore_index=True)
    actual = read_models(spark.lakehouse(), [LAST]).sort_values("room_id", ignore_index=True)
    assert list(actual["room_id"]) == list(expected["room_id"]) == ROOMS
    assert list(actual["status"]) == list(expected["status"])
    assert (expected["status"] == "trained").sum() >= 3
    pd.testing.assert_frame_equal(actual.drop(columns="model"), expected.drop(columns="model"))
    # Same seed, same windows, same feature order: the same trees. (Not the same bytes: skops
    # names the arrays in its zip by object id.)
    for ours, theirs in zip(actual["model"], expected["model"], strict=True):
        if ours is not None or theirs is not None:
            assert tree_arrays(load_model(ours)) == tree_arrays(load_model(theirs))


def tree_arrays(forest) -> list[tuple]:
    """Every tree's structure and leaf values, comparable with ``==``."""
    return [
        (
            tree.tree_.feature.tolist(),
            tree.tree_.threshold.tolist(),
            tree.tree_.value.ravel().tolist(),
        )
        for tree in forest.estimators_
    ]


def test_the_metadata_agrees(lakehouses):
    (_, local), (_, spark) = lakehouses["local"], lakehouses["spark"]
    assert set(spark) == set(local)
    for asset, expected in local.items():
        actual = spark[asset]
        assert set(actual) == set(expected), asset
        for name in (n for n in expected if not n.endswith(PLACE_METADATA)):
            if isinstance(expected[name], float):
                assert actual[name] == pytest.approx(expected[name], abs=TOLERANCE), (asset, name)
            else:
                assert actual[name] == expected[name], (asset, name)
    assert local["resampled_series"]["sensors"] > 10


def test_train_on_spark_reruns_the_models_stage_with_the_same_result(lakehouses, spark):
    """The spark-submit entry (resources/emr/train_occupancy.py) trains as the asset does."""
    settings, _ = lakehouses["spark"]
    before = read_models(settings.lakehouse(), [LAST]).sort_values("room_id", ignore_index=True)

    report = train_on_spark(spark, settings, [LAST])

    after = read_models(settings.lakehouse(), [LAST]).sort_values("room_id", ignore_index=True)
    assert report.rows == len(ROOMS) and report.dates == (LAST,) and report.attempts == 1
    pd.testing.assert_frame_equal(after.drop(columns="model"), before.drop(columns="model"))
