"""The landing sensor against real storage: a moto S3 server over HTTP, and a local folder.

The sensor follows the day folders that can still receive files (today and the maximum
lateness before it), so the files here land in folders of recent days.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from dagster import DagsterInstance, SensorResult, build_sensor_context

from snuk_assets.landing import LandingFile, day_folder
from snuk_assets.landing_sensor import (
    LandingCursor,
    landing_files_sensor,
    listing_window,
    plan_ingest_runs,
)
from snuk_assets.settings import SnukSettings

LINE = b"sensor_id='8514-294-220-250-m', timestamp=1471020341000, value=1.0,\n"


def days_ago(n: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=n)


def path_on(day: dt.date, name: str) -> str:
    return f"{day_folder(day)}/{name}"


@pytest.fixture
def settings(storage_root, tmp_path) -> SnukSettings:
    if not storage_root.startswith("s3://"):
        os.makedirs(f"{storage_root}/landing", exist_ok=True)
    return SnukSettings(
        landing_uri=f"{storage_root}/landing", lakehouse_uri=str(tmp_path / "lakehouse")
    )


class Ticks:
    """Evaluates the sensor tick after tick, carrying its cursor like the daemon does."""

    def __init__(self, settings: SnukSettings, sensor=landing_files_sensor):
        self.settings = settings
        self.sensor = sensor
        self.cursor: str | None = None
        self.instance = DagsterInstance.ephemeral()

    def __call__(self) -> list[tuple[str, str]]:
        context = build_sensor_context(
            cursor=self.cursor, resources={"settings": self.settings}, instance=self.instance
        )
        result = self.sensor(context)
        assert isinstance(result, SensorResult)
        self.cursor = result.cursor
        self.run_requests = result.run_requests or []
        return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def upload(settings: SnukSettings, path: str) -> None:
    settings.landing().write_bytes(path, LINE)


def test_new_files_once_late_files_by_their_date(settings):
    tick = Ticks(settings)
    assert tick() == []

    today = days_ago(0)
    upload(settings, path_on(today, "gw01-a.txt"))
    [(day, run_key)] = tick()
    assert day == f"{today}" and run_key.startswith(f"raw:{today}:")
    assert tick() == []  # the same files again: nothing

    # A late upload for an older day still followed requests that day, and only that day.
    time.sleep(1.1)
    upload(settings, path_on(days_ago(2), "gw02-late.txt"))
    assert [day for day, _ in tick()] == [f"{days_ago(2)}"]
    assert tick() == []


def test_a_tick_lists_only_the_days_that_can_still_receive_files(settings):
    """History is left to backfills: folders before the window are never listed."""
    lateness = settings.max_lateness_days
    for age in (lateness + 1, lateness + 5, 400):  # history, e.g. from `snuk simulate`
        upload(settings, path_on(days_ago(age), "old.txt"))
    tick = Ticks(settings)
    assert tick() == []
    upload(settings, path_on(days_ago(lateness), "edge.txt"))
    upload(settings, path_on(days_ago(lateness + 1), "too-late.txt"))  # a backfill's business
    assert [day for day, _ in tick()] == [f"{days_ago(lateness)}"]
    assert tick() == []

    landing = settings.landing()
    if landing.location.is_s3:  # one LIST request per followed day folder, however old the zone
        requests = []
        landing._s3.meta.events.register("before-send.s3", lambda **kw: requests.append(kw))
        first, last = listing_window(None, days_ago(0), max_lateness=settings.max_lateness)
        assert {f.path for f in landing.list_days(first, last)} == {
            path_on(days_ago(lateness), "edge.txt")
        }
        assert len(requests) == lateness + 1


def test_the_window_starts_at_the_last_tick_minus_the_lateness():
    today = dt.date(2026, 12, 1)
    late = dt.timedelta(days=3)
    assert listing_window(None, today, max_lateness=late) == (dt.date(2026, 11, 28), today)
    # A sensor stopped for a week catches up from where it stopped, once.
    stopped = dt.date(2026, 11, 24)
    assert listing_window(stopped, today, max_lateness=late) == (dt.date(2026, 11, 21), today)
    # A cursor from the future (a clock set back) never narrows the window below today's.
    assert listing_window(dt.date(2027, 1, 1), today, max_lateness=late)[0] == dt.date(2026, 11, 28)


def test_a_cursor_from_before_bounded_listing_still_reads():
    old = '{"newest": "2026-11-28T12:00:00+00:00", "recent": [["raw_data/a", "x"]]}'
    cursor = LandingCursor.parse(old)
    assert cursor.listed_through is None and cursor.recent == {("raw_data/a", "x")}


def start_of_a_second() -> None:
    """Wait until a wall-clock second has just begun, so the next uploads share it."""
    time.sleep(1.01 - time.time() % 1)


def test_two_files_in_the_same_second_are_both_seen(settings):
    tick = Ticks(settings)
    assert tick() == []  # warm up: the next ticks take milliseconds
    today = days_ago(0)
    a, b = path_on(today, "gw01-a.txt"), path_on(today, "gw01-b.txt")
    start_of_a_second()
    upload(settings, a)
    first = tick()  # the cursor is now a's modification time
    upload(settings, b)
    if not settings.landing_uri.startswith("s3://"):
        # Filesystems with coarse timestamps: b gets exactly a's modification time.
        a_mtime = os.stat(f"{settings.landing_uri}/{a}").st_mtime_ns
        os.utime(f"{settings.landing_uri}/{b}", ns=(a_mtime, a_mtime))
    listed = {f.path: f.last_modified for f in settings.landing().list_day(today)}
    assert listed[a].replace(microsecond=0) == listed[b].replace(microsecond=0)
    second = tick()
    assert [d for d, _ in first] == [f"{today}"] and [d for d, _ in second] == [f"{today}"]
    assert first[0][1] != second[0][1]  # a new run key: b is a new file
    assert tick() == []


def test_the_plan_dedupes_within_the_overlap_window():
    t0 = dt.datetime(2026, 11, 28, 12, 0, 0, tzinfo=dt.UTC)
    a = LandingFile("raw_data/2016/08/14/a.txt", 10, t0)
    b = LandingFile("raw_data/2016/08/14/b.txt", 10, t0)  # same second as a
    old = LandingFile("raw_data/2016/08/13/old.txt", 10, t0 - dt.timedelta(hours=2))
    stray = LandingFile("notes/readme.txt", 10, t0)

    requests, cursor, outside = plan_ingest_runs([a, old, stray], LandingCursor())
    assert [r.day for r in requests] == [dt.date(2016, 8, 13), dt.date(2016, 8, 14)]
    assert outside == ["notes/readme.txt"]
    assert LandingCursor.parse(cursor.dump()) == cursor

    requests, cursor, _ = plan_ingest_runs([a, b, old], cursor)
    assert [(r.day, r.files) for r in requests] == [(dt.date(2016, 8, 14), (b.path,))]
    assert plan_ingest_runs([a, b, old], cursor)[0] == []
