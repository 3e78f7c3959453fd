"""No credential in the Dagster instance: event log, run storage, run logs, compute logs.

A persistent instance records a run that ingests from and writes to S3 (the moto server) with
marked AWS credentials in the environment, and holds the MQTT credentials as a resource with
``EnvVar``; the live reporter adds its materialization. Then every file of the instance, and
everything the run printed, is searched for the marked values.
"""

from __future__ import annotations

import pathlib

import pandas as pd
from dagster import AssetKey, AssetMaterialization, DagsterInstance, EnvVar, materialize

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.assets.sensors import sensors
from snuk_assets.live.broker import MqttConnection
from snuk_assets.live.dagster_assets import Reporter
from snuk_assets.settings import SnukSettings

MARKERS = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-MARKER-51ee0",
    "AWS_SESSION_TOKEN": "aws-token-MARKER-90ab2",
    "SNUK_MQTT_PASSWORD": "mqtt-password-MARKER-c3d4",
}
CANARY = "canary-MARKER-not-secret-77d1"
DAY = "2016-08-14"
LINES = (
    "sensor_id='8514-294-220-250-m', timestamp=1471132284000, value=1.0,\n"
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,\n"
    "garbage\n"
)


def test_the_instance_and_the_run_logs_hold_no_credential(s3_bucket, tmp_path, monkeypatch, capfd):
    for name, value in MARKERS.items():  # moto accepts any credentials
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SNUK_MQTT_USERNAME", "snuk")
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    settings = SnukSettings(
        landing_uri=f"s3://{s3_bucket}/landing", lakehouse_uri=f"s3://{s3_bucket}/lakehouse"
    )
    settings.landing().write_bytes("raw_data/2016/08/14/gateway.txt", LINES.encode())
    assert (
        settings.lakehouse().storage_options["AWS_SECRET_ACCESS_KEY"]
        == MARKERS["AWS_SECRET_ACCESS_KEY"]
    )
    with DagsterInstance.get() as instance:
        result = materialize(
            [sensors, raw_observations],
            partition_key=DAY,
            instance=instance,
            resources={
                "settings": settings,
                "mqtt": MqttConnection(
                    username=EnvVar("SNUK_MQTT_USERNAME"), password=EnvVar("SNUK_MQTT_PASSWORD")
                ),
            },
        )
        assert result.success
        Reporter(settings.lakehouse().table_uri("live_room_forecasts"))(
            "b", 3, 12, pd.Timestamp("2016-08-14 08:00", tz="UTC")
        )
        # A canary: what an event carries is readable in the files searched below.
        instance.report_runless_asset_event(
            AssetMaterialization(asset_key=AssetKey("canary"), metadata={"canary": CANARY})
        )
        for key in ("sensors", "raw_observations", "live_room_forecasts"):
            assert instance.fetch_materializations(AssetKey(key), limit=1).records, key
    printed = "".join(capfd.readouterr())
    files = [p for p in pathlib.Path(home).rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)  # the SQLite event log and run storage
    assert any("compute_logs" in p.parts or "storage" in p.parts for p in files)
    assert any(CANARY.encode() in path.read_bytes() for path in files)
    for value in MARKERS.values():
        assert value not in printed
        for path in files:
            assert value.encode() not in path.read_bytes(), (value, path)
