"""MQTT ingest from a real Mosquitto: archived once, bad messages quarantined, restart-safe."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import paho.mqtt.client as mqtt
import pandas as pd
import pytest
from ports import free_port, wait_for_port

from snuk_assets.landing import LandingZone, day_folder
from snuk_assets.live.ingest import QUARANTINE_DIR, Archive, Message
from snuk_assets.registry import load_registry
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.transforms.ingest.parse import parse_landing_file
from snuk_assets.transforms.ingest.validate import validate_observations

ROOMS = ["7101", "7103"]


def observations_now(registry, per_sensor: int) -> list[tuple[str, int, float]]:
    """``per_sensor`` readings a minute apart for each sensor, ending a minute ago."""
    now_ms = int(time.time() * 1000) // 60_000 * 60_000 - 60_000
    rows = []
    for k, sensor in enumerate(sorted(registry.sensor_ids())):
        for i in range(per_sensor):
            ts = now_ms - (per_sensor - i) * 60_000 + k
            value = float(i % 2) if sensor.endswith("-m") else 20.0 + 0.1 * i
            rows.append((sensor, ts, value))
    return sorted(rows, key=lambda r: r[1])


BAD = [
    ("snuk/{b}/sensors/{s}", b"{not json", "payload: not JSON"),
    ("snuk/{b}/sensors/{s}", b'{"timestamp": 1, "value": 1.0, "sensor_id": "x"}', "not the topic"),
    (
        "snuk/{b}/sensors/not-a-sensor",
        b'{"timestamp": 1465000000000, "value": 1.0}',
        "unknown sensor type",
    ),
    ("snuk/{b}/sensors/{s}", b'{"timestamp": 1465000000000, "value": 7.0}', "range"),
    ("snuk/other/sensors/{s}", b'{"timestamp": 1465000000000, "value": 1.0}', "unknown building"),
]


def publish(broker: str, messages: list[tuple[str, bytes]]) -> None:
    host, port = broker.removeprefix("mqtt://").split(":")
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.max_inflight_messages_set(100)
    client.connect(host, int(port))
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=60)
    client.loop_stop()
    client.disconnect()


def archived(landing: LandingZone, catalog: SensorCatalog) -> tuple[list[tuple], list[dict]]:
    """Every observation the archive holds, read by the batch ingest with the registry's
    ``catalog`` (the CO2 sensors' ids have no type letter), and the quarantine."""
    today = dt.datetime.now(dt.UTC).date()
    rows, bad = [], []
    for day in (today - dt.timedelta(days=1), today):
        for f in landing.list_files(day_folder(day)):
            parsed = parse_landing_file(f.path, landing.read_bytes(f.path))
            result = validate_observations(parsed, arrival_day=day, catalog=catalog)
            assert result.rows_quarantined == 0
            rows += list(
                zip(
                    result.kept["sensor_id"].to_pylist(),
                    [int(t.timestamp() * 1000) for t in result.kept["ts"].to_pylist()],
                    result.kept["value"].to_pylist(),
                    strict=True,
                )
            )
        for f in landing.list_files(f"{QUARANTINE_DIR}/{day:%Y/%m/%d}"):
            bad += [json.loads(line) for line in landing.read_bytes(f.path).decode().splitlines()]
    return rows, bad


def start_service(env, broker: str, http_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snuk_assets.live",
            "--broker",
            broker,
            "--http",
            f"127.0.0.1:{http_port}",
            "--client-id",
            "snuk-live-test",
            "--flush",  # a file per 0.2 s (default 10 s), so the crash lands mid-stream
            "0.2s",
        ],
        env=env,
    )


@pytest.mark.slow
def test_sigkill_and_restart_lose_nothing_and_archive_nothing_twice(
    own_mosquitto, tmp_path, small_registry
):
    mosquitto = own_mosquitto  # it failed after the other live tests on the shared broker
    registry_path = small_registry(tmp_path / "building.yaml", ROOMS)
    registry = load_registry(registry_path)
    env = {
        **os.environ,
        "SNUK_LANDING_URI": str(tmp_path / "landing"),
        "SNUK_LAKEHOUSE_URI": str(tmp_path / "lakehouse"),
        "SNUK_REGISTRY": registry_path,
        # The first service dies by SIGKILL after archiving its third file, before acking it.
        "SNUK_LIVE_CRASH_AFTER_FILES": "3",
    }
    (tmp_path / "landing").mkdir()
    landing = LandingZone.from_uri(env["SNUK_LANDING_URI"])
    port = free_port()
    service = start_service(env, mosquitto, port)
    wait_for_port(port, timeout=60)
    building = registry.building_id
    good = observations_now(registry, per_sensor=60)
    sensor = good[0][0]
    messages = [
        (f"snuk/{building}/sensors/{s}", json.dumps({"timestamp": ts, "value": v}).encode())
        for s, ts, v in good
    ]
    # a few as gateway lines, the batch format of the landing zone
    messages[5] = (
        messages[5][0],
        f"sensor_id='{good[5][0]}', timestamp={good[5][1]}, value={good[5][2]},".encode(),
    )
    bad = [(t.format(b=building, s=sensor), p) for t, p, _ in BAD]
    chunks = [messages[i : i + 500] for i in range(0, len(messages), 500)]
    # Good messages first: the crash comes after the third archive file, and quarantine files
    # count too; bad ones first, each drained in a tick of its own on a loaded machine, made
    # three quarantine files and the crash came before any observation was archived.
    publish(mosquitto, chunks[0] + bad)
    for chunk in chunks[1:]:
        time.sleep(0.5)  # several batches, so the crash lands mid-stream
        publish(mosquitto, chunk)
    assert service.wait(timeout=120) == -signal.SIGKILL
    files_at_crash = len(landing.list_files("raw_data"))
    assert files_at_crash >= 1
    env.pop("SNUK_LIVE_CRASH_AFTER_FILES")
    service = start_service(env, mosquitto, port)
    try:
        deadline = time.monotonic() + 120
        rows, quarantined = archived(landing, registry.catalog())
        while len(rows) < len(good) and time.monotonic() < deadline:
            time.sleep(0.5)
            rows, quarantined = archived(landing, registry.catalog())
        time.sleep(2)  # anything redelivered late would show up now
        rows, quarantined = archived(landing, registry.catalog())
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health").read())
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=30)
    assert len(rows) == len(good)  # nothing twice ...
    assert sorted(rows) == sorted(good)  # ... and nothing lost
    assert health["ingest"]["redelivered"] > 0  # the unacknowledged batch came again
    assert len(quarantined) == len(BAD)
    reasons = {(r["topic"], r["payload"]): r["reason"] for r in quarantined}
    for topic, payload, why in BAD:
        reason = reasons[(topic.format(b=building, s=sensor), payload.decode())]
        assert why in reason, (why, reason)


def test_archive_refuses_what_the_batch_ingest_refuses(tmp_path, small_registry):
    """Without a broker: each bad message quarantined once with its reason; counts add up."""
    registry = load_registry(small_registry(tmp_path / "b.yaml", ROOMS))
    (tmp_path / "landing").mkdir()
    archive = Archive(
        LandingZone.from_uri(str(tmp_path / "landing")),
        known_buildings=frozenset([registry.building_id]),
    )
    now_ms = int(time.time() * 1000)
    sensor = sorted(registry.sensor_ids())[0]
    b = registry.building_id
    messages = [Message(t.format(b=b, s=sensor), p, now_ms) for t, p, _ in BAD]
    ok = json.dumps({"timestamp": now_ms - 1000, "value": 1.0}).encode()
    messages += [Message(f"snuk/{b}/sensors/{sensor}", ok, now_ms)] * 2
    result = archive.ingest(messages)
    counts = archive.counts
    assert counts.received == counts.accepted + counts.quarantined + counts.redelivered
    assert (counts.accepted, counts.quarantined, counts.redelivered) == (1, len(BAD), 1)
    assert len(result.observations[b]) == 1
    reasons = sorted(r["reason"] for r in result.quarantined)
    assert any("not JSON" in r for r in reasons) and any("unknown building" in r for r in reasons)
    # the same batch again (a redelivery): nothing new is archived
    files = archive.counts.files
    again = archive.ingest(messages)
    assert again.files == [] and archive.counts.files == files
    # and a new Archive (a restarted service) remembers it from the files
    fresh = Archive(LandingZone.from_uri(str(tmp_path / "landing")), known_buildings=frozenset([b]))
    assert fresh.ingest(messages).files == []
    assert pd.notna(now_ms)
