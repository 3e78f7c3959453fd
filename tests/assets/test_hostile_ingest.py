"""The ingest against a hostile landing zone and a crash at the commit boundary (issue 20).

Real folders, symlinks, a FIFO, a moto S3 bucket on loopback, and a real subprocess killed with
SIGKILL between the two commits of one ingest.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from dagster import materialize
from deltalake import DeltaTable

from snuk_assets.assets.raw_observations import raw_observations
from snuk_assets.lakehouse import Lakehouse, LakehouseError
from snuk_assets.landing import LandingZone
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.ingest import rows_add_up
from snuk_assets.transforms.ingest.records import count_records

DAY = "2016-08-14"
FOLDER = "raw_data/2016/08/14"
LINES = (
    "sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,\n"
    "sensor_id='7513-133-195-250-t', timestamp=1471132306000, value=23.9,\n"
    "garbage\n"
)


def metadata(result, key: str = "raw_observations") -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.path == [key]]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def ingest(settings: SnukSettings, day: str = DAY, **kwargs):
    return materialize(
        [raw_observations], resources={"settings": settings}, partition_key=day, **kwargs
    )


@pytest.fixture
def local_settings(tmp_path: Path) -> SnukSettings:
    (tmp_path / "landing" / FOLDER).mkdir(parents=True)
    return SnukSettings(
        landing_uri=str(tmp_path / "landing"), lakehouse_uri=str(tmp_path / "lakehouse")
    )


def test_symlinks_fifos_and_dot_files_are_skipped_counted_and_never_read(local_settings, tmp_path):
    landing = Path(local_settings.landing_uri)
    day = landing / FOLDER
    (day / "gw01.txt").write_text(LINES)
    (day / "passwd.txt").symlink_to("/etc/passwd")
    (day / ".gw02.txt.partial").write_text(LINES)
    os.mkfifo(day / "pipe.txt")  # reading it would block the ingest forever
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.txt").write_text(LINES)
    (day / "more").symlink_to(outside, target_is_directory=True)
    # A whole day folder that is a symlink.
    (landing / "raw_data/2016/08/15").symlink_to(outside, target_is_directory=True)

    result = ingest(local_settings)
    assert result.success
    meta = metadata(result)
    assert meta["files_read"] == 1
    assert meta["files_skipped"] == {"symlink": 2, "hidden": 1, "not a regular file": 1}
    assert set(meta["skipped_files"]) == {
        f"{FOLDER}/passwd.txt",
        f"{FOLDER}/.gw02.txt.partial",
        f"{FOLDER}/pipe.txt",
        f"{FOLDER}/more",
    }
    assert meta["records_in_files"] == 3 == meta["rows_read"]
    quarantined = local_settings.lakehouse().read("quarantined_observations")
    assert set(quarantined["source_file"].to_pylist()) == {f"{FOLDER}/gw01.txt"}
    assert not any("root:" in text for text in quarantined["raw_text"].to_pylist())

    symlinked_day = ingest(local_settings, "2016-08-15")
    assert symlinked_day.success
    meta = metadata(symlinked_day)
    assert meta["files_read"] == 0 and meta["rows_read"] == 0
    assert meta["skipped_files"] == {
        "raw_data/2016/08/15": "symlink: a symlinked folder is not followed"
    }


def test_a_file_swapped_for_a_symlink_after_the_listing_is_not_read(local_settings):
    landing = LandingZone.from_uri(local_settings.landing_uri)
    path = Path(local_settings.landing_uri) / FOLDER / "gw.txt"
    path.symlink_to("/etc/passwd")
    from snuk_assets.landing import LandingZoneError

    with pytest.raises(LandingZoneError, match="symlink: not followed"):
        landing.read_bytes(f"{FOLDER}/gw.txt")
    with pytest.raises(LandingZoneError, match="outside the landing root"):
        landing.read_bytes(f"{FOLDER}/../../../../../etc/passwd")


@pytest.mark.s3
def test_s3_keys_with_dot_dot_and_dot_files_are_skipped(s3_bucket):
    from snuk_assets.storage import s3_client

    client = s3_client()
    for key in (
        f"landing/{FOLDER}/gw01.txt",
        f"landing/{FOLDER}/../../../../../secret.txt",
        f"landing/{FOLDER}//gw02.txt",
        f"landing/{FOLDER}/.gw03.txt",
    ):
        client.put_object(Bucket=s3_bucket, Key=key, Body=LINES.encode())
    landing = LandingZone.from_uri(f"s3://{s3_bucket}/landing")
    files, skipped = landing.scan_day(dt.date(2016, 8, 14))
    assert [f.path for f in files] == [f"{FOLDER}/gw01.txt"]
    assert {s.path: s.category for s in skipped} == {
        f"{FOLDER}/../../../../../secret.txt": "outside the landing root",
        f"{FOLDER}//gw02.txt": "outside the landing root",
        f"{FOLDER}/.gw03.txt": "hidden",
    }


def test_rows_add_up_fails_where_a_file_was_collapsed():
    # What the parser before issue 20 returned for these files: one row each.
    for name, data in (
        ("gw.txt", LINES.replace("\n", "\r").encode()),  # CR-only line ends
        ("a.csv", b"8514-294-220-250-m,1471020341000,1.0\n7513-133-195-250-t,1,2\n"),  # no header
    ):
        records = count_records(f"{FOLDER}/{name}", data)
        assert records >= 2
        collapsed = {"records": records, "file_level_rows": 0, "read": 1, "kept": 0}
        assert not rows_add_up({**collapsed, "quarantined": 1, "duplicate": 0})


KILLABLE_INGEST = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from dagster import materialize
    from snuk_assets.assets.raw_observations import raw_observations
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.settings import SnukSettings

    landing, lakehouse, marker = sys.argv[1:4]
    original = Lakehouse.replace_partitions

    def replace_then_stop(self, name, data, **kwargs):
        report = original(self, name, data, **kwargs)
        if name == "quarantined_observations":
            Path(marker).write_text(str(report.version))  # the first commit has landed
            time.sleep(600)  # the parent kills us here, before the second commit
        return report

    Lakehouse.replace_partitions = replace_then_stop
    settings = SnukSettings(landing_uri=landing, lakehouse_uri=lakehouse)
    materialize([raw_observations], resources={"settings": settings}, partition_key="DAY")
    """
).replace("DAY", DAY)


@pytest.mark.timeout(300)
def test_sigkill_between_the_two_commits_leaves_both_tables_as_they_were(
    local_settings, tmp_path, sigkill_at_marker
):
    day_folder = Path(local_settings.landing_uri) / FOLDER
    (day_folder / "gw01.txt").write_text(LINES)
    assert ingest(local_settings).success
    lakehouse = local_settings.lakehouse()
    before = {
        name: sorted(map(str, lakehouse.read(name).to_pylist()))
        for name in ("raw_observations", "quarantined_observations")
    }

    # New files: 3 more kept rows and 5 more quarantined ones.
    (day_folder / "gw02.txt").write_text(
        "sensor_id='8514-294-220-250-m', timestamp=1471100000000, value=0.0,\n"
        "sensor_id='8514-294-220-250-m', timestamp=1471100001000, value=1.0,\n"
        "sensor_id='8514-294-220-250-m', timestamp=1471100002000, value=0.0,\n" + "broken\n" * 5
    )
    marker = tmp_path / "first-commit-landed"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLABLE_INGEST,
            local_settings.landing_uri,
            local_settings.lakehouse_uri,
            str(marker),
        ],
        env={**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home")},
        start_new_session=True,  # the kill takes any child process with it
    )
    (tmp_path / "dagster_home").mkdir()
    sigkill_at_marker(process, marker)

    # The quarantine's commit is on disk, the raw one is not ...
    quarantine_uri = lakehouse.table_uri("quarantined_observations")
    assert DeltaTable(quarantine_uri).version() == int(marker.read_text())
    assert lakehouse.uncommitted_dates("quarantined_observations") == {
        dt.date(2016, 8, 14): int(marker.read_text()) - 1
    }
    # ... and every read shows the pair as it was: nothing of the killed ingest.
    after = {
        name: sorted(map(str, lakehouse.read(name).to_pylist()))
        for name in ("raw_observations", "quarantined_observations")
    }
    assert after == before
    day = [dt.date(2016, 8, 14)]
    assert lakehouse.read("quarantined_observations", dates=day).num_rows == 1

    # The rerun lands both.
    rerun = ingest(local_settings)
    assert rerun.success
    assert lakehouse.uncommitted_dates("quarantined_observations") == {}
    meta = metadata(rerun)
    assert (meta["rows_kept"], meta["rows_quarantined"]) == (5, 6)
    assert lakehouse.read("raw_observations").num_rows == 5
    assert lakehouse.read("quarantined_observations").num_rows == 6


def test_an_unreachable_s3_lakehouse_fails_before_the_ingest_names_the_uri(
    local_settings, monkeypatch
):
    (Path(local_settings.landing_uri) / FOLDER / "gw01.txt").write_text(LINES)
    with socket_closed_port() as port:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        lakehouse = Lakehouse("s3://no-such-bucket/lakehouse")
        with pytest.raises(LakehouseError, match=r"listing the lakehouse s3://no-such-bucket"):
            lakehouse.check_reachable()
        settings = SnukSettings(
            landing_uri=local_settings.landing_uri, lakehouse_uri="s3://no-such-bucket/lakehouse"
        )
        result = ingest(settings, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.cause.message
    assert "listing the lakehouse s3://no-such-bucket/lakehouse" in message
    logs = [e.message for e in result.all_events if e.event_type_value == "ENGINE_EVENT"]
    assert not any("rows read" in (m or "") for m in logs)


class socket_closed_port:
    """A loopback port with nothing listening (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        return None
