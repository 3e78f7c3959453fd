"""The live tests' shared building (see live_building.py)."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

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

REPO = pathlib.Path(__file__).resolve().parents[2]


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory) -> Iterator[str]:
    """A real Mosquitto on a free loopback port: ``mqtt://127.0.0.1:PORT``."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(binary):
        if os.environ.get("CI"):
            pytest.fail("mosquitto is not installed (.ci/run installs Debian's mosquitto)")
        pytest.skip("mosquitto is not installed: apt-get install mosquitto")
    port = free_port()
    root = tmp_path_factory.mktemp("mosquitto")
    template = (REPO / "deploy/mosquitto/mosquitto.conf").read_text()
    conf = template.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1")
    conf = conf.replace("persistence true", "persistence false")
    conf = conf.replace("persistence_location /var/lib/mosquitto/\n", "")
    (root / "mosquitto.conf").write_text(conf)
    log = (root / "mosquitto.log").open("w")
    process = subprocess.Popen([binary, "-c", str(root / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
