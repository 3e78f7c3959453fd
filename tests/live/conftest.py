"""The live tests' shared building (see live_building.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from live_building import (
    DAYS,
    MODEL_DAY,
    PARITY_DAY,
    ROOMS,
    START,
    BatchBuilding,
    run_assets,
    simulated_observations,
    write_on_time,
)

from snuk_assets.assets.feature_windows import feature_windows
from snuk_assets.assets.occupancy_forecasts import occupancy_forecasts
from snuk_assets.assets.occupancy_models import occupancy_models
from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.resampled_series import resampled_series
from snuk_assets.assets.room_series import room_series
from snuk_assets.registry import load_registry
from snuk_assets.settings import SnukSettings


@pytest.fixture(scope="session")
def batch_building(tmp_path_factory, small_registry) -> BatchBuilding:
    root = tmp_path_factory.mktemp("live_building")
    settings = SnukSettings(
        landing_uri=str(root / "landing"),
        lakehouse_uri=str(root / "lakehouse"),
        registry_path=small_registry(root / "building.yaml", ROOMS),
    )
    registry = load_registry(settings.registry_path)
    observations = simulated_observations(registry, START, DAYS, seed=11)
    write_on_time(settings.landing(), observations)
    last = START + dt.timedelta(days=DAYS - 1)
    run_assets([raw_observations], settings, START, last)
    run_assets([resampled_series, room_series, feature_windows], settings, START, last)
    run_assets([occupancy_models], settings, MODEL_DAY, MODEL_DAY)
    run_assets([occupancy_forecasts], settings, PARITY_DAY, PARITY_DAY)
    return BatchBuilding(settings=settings, observations=observations)
