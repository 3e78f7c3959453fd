"""The ingest asset end to end: landing files in, Delta tables and honest counts out."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.lakehouse import Lakehouse
from snuk_assets.landing import LandingZone
from snuk_assets.settings import SnukSettings

DAY = "2016-08-14"
FOLDER = "raw_data/2016/08/14"
GATEWAY_LINES = (
    "sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,\n"
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,\n"
)
BROKEN_LINES = (
    "sensor_id='8514-294-220-250-t', timestamp=1471132284000, value=abc,\n"  # bad number
    "sensor_id='8514-294-220-250-t', timestamp=1471132284000,\n"  # missing field
    "garbage that is no observation\n"
    "sensor_id='8514-294-220-250-t', timestamp=1470700000000, value=22.0,\n"  # too late
    "sensor_id='8514-294-220-250-t', timestamp=1471300000000, value=22.0,\n"  # in the future
    "sensor_id='8514-294-220-250-m', timestamp=1471132290000, value=7.0,\n"  # out of range
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,\n"  # duplicate
    "sensor_id='1111-222-333-444-t', timestamp=1471132306000, value=21.5,\n"  # unknown sensor
)
# Records of other formats, all measured on 2016-08-13/14 and valid.
RECORDS = [
    {"sensor_id": "7505-277-172-250-m", "timestamp": 1471132385000, "value": 0.0},
    {"sensor_id": "7573-230-160-250-l", "timestamp": 1471132448000, "value": 4.0},
]


def truncated_gzip(text: str) -> bytes:
    data = gzip.compress(text.encode())
    return data[: len(data) - 12]


def write_landing(landing: LandingZone) -> None:
    landing.write_bytes(f"{FOLDER}/gw01-a.txt", GATEWAY_LINES.encode())
    landing.write_bytes(f"{FOLDER}/gw01-b.txt.gz", gzip.compress(BROKEN_LINES.encode()))
    landing.write_bytes(
        f"{FOLDER}/gw02.jsonl", "\n".join(json.dumps(r) for r in RECORDS[:1]).encode()
    )
    landing.write_bytes(
        f"{FOLDER}/gw03.csv",
        (
            "sensor_id,timestamp,value\n" + "{sensor_id},{timestamp},{value}\n".format(**RECORDS[1])
        ).encode(),
    )
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(RECORDS), buffer)
    landing.write_bytes(f"{FOLDER}/gw04.parquet", buffer.getvalue())
    landing.write_bytes(f"{FOLDER}/gw05.txt.gz", truncated_gzip(GATEWAY_LINES * 50))


def run(settings: SnukSettings, **kwargs):
    return materialize([raw_observations], resources={"settings": settings}, **kwargs)


@pytest.fixture
def settings(storage_root) -> SnukSettings:
    return SnukSettings(
        landing_uri=f"{storage_root}/landing", lakehouse_uri=f"{storage_root}/lakehouse"
    )


def _metadata(result, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [key]]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_one_day_every_format_and_every_fault(settings):
    if settings.landing_uri.startswith("/"):
        os.makedirs(settings.landing_uri, exist_ok=True)
    write_landing(settings.landing())

    result = run(settings, partition_key=DAY)

    assert result.success
    meta = _metadata(result, "raw_observations")
    assert (
        meta["rows_read"] == meta["rows_kept"] + meta["rows_quarantined"] + meta["rows_duplicate"]
    )
    assert meta["rows_duplicate"] >= 1 + 2  # the re-sent line, the parquet copies of RECORDS
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert checks == {"rows_add_up": True, "known_sensors": False}
    assert "1111-222-333-444-t" in meta["unknown_sensors"]

    lakehouse = settings.lakehouse()
    kept = lakehouse.read("raw_observations").to_pylist()
    assert {r["date"] for r in kept} == {dt.date(2016, 8, 14)}
    sample = {(r["sensor_id"], r["ts"], r["value"]) for r in kept}
    assert (
        "8514-294-220-250-m",
        dt.datetime(2016, 8, 12, 16, 45, 41, tzinfo=dt.UTC),
        1.0,
    ) in sample
    assert (
        "7513-133-195-250-t",
        dt.datetime(2016, 8, 13, 23, 51, 46, tzinfo=dt.UTC),
        23.9,
    ) in sample
    assert (
        "1111-222-333-444-t",
        dt.datetime(2016, 8, 13, 23, 51, 46, tzinfo=dt.UTC),
        21.5,
    ) in sample

    quarantined = lakehouse.read("quarantined_observations").to_pylist()
    assert len(quarantined) == meta["rows_quarantined"]
    reasons = " | ".join(sorted(r["reason"] for r in quarantined))
    for expected in (
        "bad number",
        "missing field",
        "unparseable",
        "too late",
        "in the future",
        "out of range",
        "truncated gzip",
    ):
        assert expected in reasons, reasons
    bad_number = next(r for r in quarantined if "bad number" in r["reason"])
    assert bad_number["source_file"] == f"{FOLDER}/gw01-b.txt.gz"
    assert bad_number["line_number"] == 1 and "value=abc" in bad_number["raw_text"]


def test_a_range_in_one_run_and_a_day_without_folder(settings):
    if settings.landing_uri.startswith("/"):
        os.makedirs(settings.landing_uri, exist_ok=True)
    write_landing(settings.landing())

    instance = DagsterInstance.ephemeral()
    result = run(
        settings,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": "2016-08-14",
            "dagster/asset_partition_range_end": "2016-08-15",
        },
    )

    assert result.success
    warnings = [
        e.user_message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING
    ]
    missing = settings.landing().describe("raw_data/2016/08/15")
    assert f"2016-08-15: no landing folder at {missing}" in " ".join(warnings)
    lakehouse = settings.lakehouse()
    assert set(lakehouse.read("raw_observations")["date"].to_pylist()) == {dt.date(2016, 8, 14)}
    first = sorted(map(str, lakehouse.read("raw_observations").to_pylist()))

    # Rerunning one day of the range gives the same rows and leaves the other day alone.
    assert run(settings, partition_key=DAY).success
    assert sorted(map(str, lakehouse.read("raw_observations").to_pylist())) == first


def test_an_unreadable_landing_zone_fails_clearly(tmp_path):
    settings = SnukSettings(
        landing_uri=str(tmp_path / "does-not-exist"), lakehouse_uri=str(tmp_path / "lh")
    )
    with pytest.raises(Exception, match="landing zone .* is not a readable folder"):
        run(settings, partition_key=DAY)


@pytest.mark.s3
def test_a_missing_bucket_fails_clearly(moto_server, tmp_path):
    settings = SnukSettings(
        landing_uri="s3://no-such-bucket/landing", lakehouse_uri=str(tmp_path / "lh")
    )
    with pytest.raises(Exception, match="cannot list the landing zone s3://no-such-bucket"):
        run(settings, partition_key=DAY)


def test_dagster_cli_materializes_a_partition_with_two_variables(tmp_path):
    landing, lakehouse = tmp_path / "landing", tmp_path / "lakehouse"
    write_landing(LandingZone.from_uri(str(landing)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNUK_", "DAGSTER_", "AWS_"))}
    env.update(SNUK_LANDING_URI=str(landing), SNUK_LAKEHOUSE_URI=str(lakehouse))
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    completed = subprocess.run(
        [
            dagster,
            "asset",
            "materialize",
            "-m",
            "snuk_assets.definitions",
            "--select",
            "raw_observations",
            "--partition",
            DAY,
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert Lakehouse(str(lakehouse)).read("raw_observations").num_rows > 0
