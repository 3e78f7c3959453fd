"""A building that is not the reference office, raw files to forecasts (tests/any_building.py).

Its sensor ids are UUIDs and names (``Room 2.14 CO2``), not the gateway's shape; its types come
from the registry: a CO2 sensor, a people counter (the room's occupancy), a door contact and a
type the registry declares itself. Bad ids and a timestamp in seconds are quarantined, and the
counts add up.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from any_building import CO2, COUNTER, DAYS, DOOR, MOTION, START, VOC, write_building
from pipeline_runs import materialize_days

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.model_metrics import model_metrics
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.models import params_from_run_config, run_config_values
from snuk_assets.transforms.models.training import TrainingParams


@pytest.fixture(scope="module")
def building(tmp_path_factory):
    root = tmp_path_factory.mktemp("any_building")
    registry = write_building(root)
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=str(registry),
    )
    last = START + dt.timedelta(days=DAYS - 1)
    ingest = materialize_days([raw_observations], settings, START, last)
    materialize_days([resampled_series, room_series, feature_windows], settings, START, last)
    materialize_days([occupancy_models, model_metrics, occupancy_forecasts], settings, last, last)
    return settings.lakehouse(), ingest, last, settings


def test_bad_ids_and_second_timestamps_are_quarantined_and_the_counts_add_up(building):
    lakehouse, ingest, *_ = building
    checks = {c.check_name: c.passed for c in ingest.get_asset_check_evaluations()}
    assert checks == {"rows_add_up": True, "known_sensors": True}
    reasons = lakehouse.read("quarantined_observations", dates=[START])["reason"].to_pylist()
    assert len(reasons) == 4
    assert sum(r.startswith("unknown sensor type") for r in reasons) == 1
    assert sum("invalid sensor id" in r and "control character" in r for r in reasons) == 1
    assert sum("invalid sensor id" in r and "empty after trimming" in r for r in reasons) == 1
    assert sum(r.startswith("too late") and "like seconds" in r for r in reasons) == 1
    kept = lakehouse.read("raw_observations", dates=[START]).to_pandas()
    assert {COUNTER, CO2, VOC, MOTION, DOOR} == set(kept["sensor_id"])


def test_room_series_carries_every_type_and_occupancy_comes_from_the_counter(building):
    lakehouse, *_ = building
    rooms = lakehouse.read("room_series", dates=[START]).to_pandas().set_index("room_id")
    for column in ("co2", "voc", "people_count", "contact"):
        assert {column, f"{column}_coverage"} <= set(rooms.columns)
    counted = rooms.loc["2.14"]
    assert counted["co2"].between(400, 1100).all()
    assert counted["co2_coverage"].eq(1).all()
    # Occupied exactly where some count was above 0 in the bin.
    assert counted["occupancy"].isin([0.0, 1.0]).all()
    assert ((counted["occupancy"] > 0) == (counted["people_count"] > 0)).all()
    assert counted["occupancy"].sum() > 0
    moving = rooms.loc["2.15"]  # occupancy from its motion sensor: ON shares
    assert moving["occupancy"].between(0, 1).all() and moving["people_count"].isna().all()
    assert moving["contact"].between(0, 1).all()


def test_every_room_is_trained_and_forecast(building):
    lakehouse, _, last, _ = building
    models = lakehouse.read("occupancy_models", dates=[last]).to_pandas()
    assert dict(zip(models["room_id"], models["status"], strict=True)) == {
        "2.14": "trained",
        "2.15": "trained",
    }
    metrics = lakehouse.read("model_metrics", dates=[last]).to_pandas()
    assert set(metrics["model"]) == {"random_forest", "persistence", "time_of_week"}
    forecasts = lakehouse.read("occupancy_forecasts", dates=[last]).to_pandas()
    assert set(forecasts["room_id"]) == {"2.14", "2.15"}


def test_a_training_parameter_gives_the_models_co2(building):
    """feature_windows carry every further type's lags; feature_lags picks what models see."""
    lakehouse, _, last, settings = building
    windows = lakehouse.read("feature_windows", dates=[last]).to_pandas().set_index("room_id")
    assert {"co2_t", "co2_t-11", "voc_t", "people_count_t", "contact_t"} <= set(windows.columns)
    assert windows.loc["2.14", "co2_t"].notna().all() and windows.loc["2.15", "co2_t"].isna().all()
    default = lakehouse.read("occupancy_models", dates=[last]).to_pandas()
    assert not any(n.startswith("co2") for names in default["feature_names"] for n in names)
    day = last - dt.timedelta(days=1)
    lags = {"occupancy": None, "idle_minutes": 3, "co2": 3}
    config = {"ops": {"occupancy_models": {"config": {"feature_lags": lags}}}}
    # the run config's shape, as the EMR step's --training JSON carries it too
    assert params_from_run_config(json.loads(json.dumps(run_config_values(TrainingParams())))) == (
        TrainingParams()
    )
    materialize_days([occupancy_models], settings, day, day, config=config)
    materialize_days([occupancy_forecasts], settings, day, day)
    models = lakehouse.read("occupancy_models", dates=[day]).to_pandas().set_index("room_id")
    assert set(models["status"]) == {"trained"}
    names = models.loc["2.14", "feature_names"]
    assert [n for n in names if n.startswith("co2")] == ["co2_t-2", "co2_t-1", "co2_t"]
    assert not any(n.startswith("co2") for n in models.loc["2.15", "feature_names"])  # no CO2
    forecasts = lakehouse.read("occupancy_forecasts", dates=[day]).to_pandas()
    assert set(forecasts["room_id"]) == {"2.14", "2.15"}
