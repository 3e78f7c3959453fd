"""The live tests' shared building (see live_building.py)."""

from __future__ import annotations

import datetime as dt
import pathlib
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from ci_components import require
from live_building import (
    DAYS,
    MODEL_DAY,
    PARITY_DAY,
    ROOMS,
    START,
    BatchBuilding,
    simulated_observations,
    write_on_time,
)
from pipeline_runs import materialize_days
from ports import free_port, wait_for_port

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
    materialize_days([raw_observations], settings, START, last)
    materialize_days([resampled_series, room_series, feature_windows], settings, START, last)
    materialize_days([occupancy_models], settings, MODEL_DAY, MODEL_DAY)
    materialize_days([occupancy_forecasts], settings, PARITY_DAY, PARITY_DAY)
    return BatchBuilding(settings=settings, observations=observations)


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory) -> Iterator[str]:
    """A real Mosquitto on a free loopback port: ``mqtt://127.0.0.1:PORT``."""
    yield from _mosquitto(tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture
def own_mosquitto(tmp_path_factory) -> Iterator[str]:
    """A Mosquitto of the test's own, for a test that must see no other test's clients and
    sessions (the session broker keeps every earlier service's persistent session)."""
    yield from _mosquitto(tmp_path_factory.mktemp("own_mosquitto"))


def _mosquitto(root) -> Iterator[str]:
    # Skips on a developer's machine without it; fails by name under CI=true.
    require("mosquitto", why=".ci/run installs Debian's mosquitto")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
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


@pytest.fixture(scope="session")
def secure_mosquitto(tmp_path_factory):
    """Mosquitto from deploy/mosquitto/mosquitto.prod.conf and acl: TLS, passwords, ACLs."""
    from secure_broker import (
        SecureBroker,
        broker_config,
        make_certificates,
        new_passwords,
        write_password_file,
    )

    require("mosquitto", why=".ci/run installs Debian's mosquitto")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    root = tmp_path_factory.mktemp("secure_mosquitto")
    certs = make_certificates(root)
    passwords = new_passwords()
    write_password_file(root / "passwd", passwords)
    port = free_port()
    (root / "mosquitto.conf").write_text(broker_config(root, port, certs, root / "passwd"))
    log_path = root / "mosquitto.log"
    log = log_path.open("w")
    process = subprocess.Popen([binary, "-c", str(root / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield SecureBroker("127.0.0.1", port, str(certs["ca"]), passwords, process, log_path)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    import shutil

    from ci_components import require

    # Skip on a developer's machine without them; fail by name under CI=true.
    require("chromium", why="apt-get install chromium; .ci/run installs it")
    require("playwright")
    from playwright import sync_api

    executable = shutil.which("chromium")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            yield instance
        finally:
            instance.close()
