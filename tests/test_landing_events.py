"""The events sensor against a moto server on loopback: real S3 -> SQS bucket notifications.

Duplicates and out-of-order delivery are the real notification bodies, drained from the queue
and sent back shuffled and repeated; lost events are files uploaded while the bucket had no
notification configuration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import time
import uuid

import pytest
from test_landing_sensor import Ticks, days_ago, path_on

from snuk_assets.definitions import build_definitions
from snuk_assets.landing_events import (
    CreatedFile,
    EventsCursor,
    UnparseableMessage,
    landing_events_sensor,
    parse_notification,
    plan_event_runs,
)
from snuk_assets.settings import SnukSettings
from snuk_assets.storage import Location

ROOT = "root"  # the landing zone is s3://<bucket>/root: notifications filter root/raw_data/


@dataclasses.dataclass
class Bucket:
    """A bucket notifying a queue (with a dead-letter queue) on ObjectCreated under raw_data/."""

    name: str
    queue_url: str
    dead_letter_url: str
    s3: object
    sqs: object

    def notify(self, on: bool = True) -> None:
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        rule = {
            "QueueArn": arn["Attributes"]["QueueArn"],
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": f"{ROOT}/raw_data/"}]}},
        }
        self.s3.put_bucket_notification_configuration(
            Bucket=self.name,
            NotificationConfiguration={"QueueConfigurations": [rule] if on else []},
        )

    def upload(self, path: str, body: bytes = b"x\n") -> str:
        """Put ``path`` below the landing root; returns the new version's ETag."""
        response = self.s3.put_object(Bucket=self.name, Key=f"{ROOT}/{path}", Body=body)
        return response["ETag"].strip('"')

    def counts(self, queue_url: str | None = None) -> tuple[int, int]:
        """Messages (visible, in flight) on the queue."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url or self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def drain(self) -> list[str]:
        """Receive and delete every message; returns the bodies."""
        bodies = []
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])


def make_bucket(visibility_timeout: int = 30, max_receive_count: int = 3) -> Bucket:
    import boto3

    s3, sqs = boto3.client("s3"), boto3.client("sqs")
    name = f"snuk-events-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    dead_letter_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(
        QueueUrl=dead_letter_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": max_receive_count}
            ),
        },
    )["QueueUrl"]
    bucket = Bucket(name, queue_url, dead_letter_url, s3, sqs)
    bucket.notify()
    return bucket


@pytest.fixture
def bucket(moto_server) -> Bucket:
    return make_bucket()


def events_settings(bucket: Bucket, tmp_path, **fields) -> SnukSettings:
    return SnukSettings(
        landing_uri=f"s3://{bucket.name}/{ROOT}",
        lakehouse_uri=str(tmp_path / "lakehouse"),
        landing_queue_url=bucket.queue_url,
        landing_queue_wait_seconds=1,
        **fields,
    )


def seen_digests(tick: Ticks) -> set[str]:
    return set().union(*EventsCursor.parse(tick.cursor).seen.values())


def requested_files(tick: Ticks) -> int:
    return sum(int(r.tags["snuk/new_files"]) for r in tick.run_requests)


def age_repair(tick: Ticks, by: dt.timedelta) -> None:
    """Pretend the last repair listing ran ``by`` earlier (an hour passing, without waiting)."""
    cursor = EventsCursor.parse(tick.cursor)
    tick.cursor = dataclasses.replace(cursor, repaired_at=cursor.repaired_at - by).dump()


def test_announced_files_are_requested_once_and_deleted_on_the_next_tick(bucket, tmp_path):
    tick = Ticks(events_settings(bucket, tmp_path), sensor=landing_events_sensor)
    assert tick() == []  # S3's test event, and the first repair listing of an empty zone
    today, yesterday = days_ago(0), days_ago(1)
    bucket.upload(path_on(today, "gw01-a.txt"))
    bucket.upload(path_on(today, "gw01-b.txt"))
    bucket.upload(path_on(yesterday, "gw02-late.txt"))

    requested = tick()
    assert [day for day, _ in requested] == [f"{yesterday}", f"{today}"]
    assert requested_files(tick) == 3
    # Consumed but not deleted: the tick's cursor is not committed yet.
    assert bucket.counts() == (0, 3)
    assert tick() == []  # sees that cursor: deletes them, and nothing is new
    assert bucket.counts() == (0, 0)


def test_a_tick_whose_cursor_is_lost_is_redone_with_the_same_run_keys(moto_server, tmp_path):
    bucket = make_bucket(visibility_timeout=2)
    tick = Ticks(events_settings(bucket, tmp_path), sensor=landing_events_sensor)
    tick()
    bucket.upload(path_on(days_ago(0), "gw01-a.txt"))
    committed = tick.cursor
    first = tick()
    tick.cursor = committed  # the daemon died before committing the tick: its runs may be lost
    time.sleep(2.5)  # the queue's visibility timeout: the messages come back
    again = tick()
    # Dagster launches one run per run key: if the first runs were submitted, these are skipped.
    assert again == first
    assert tick() == [] and bucket.counts() == (0, 0)


def test_duplicates_and_out_of_order_delivery_request_each_file_once(bucket, tmp_path):
    settings = events_settings(bucket, tmp_path)
    tick = Ticks(settings, sensor=landing_events_sensor)
    tick()
    versions = set()
    for age in (0, 1, 2, 0, 3):
        day = days_ago(age)
        for gateway in ("gw01", "gw02"):
            path = path_on(day, f"{gateway}-{len(versions)}.txt")
            versions.add(CreatedFile(path, bucket.upload(path)))
    bodies = bucket.drain()
    assert len(bodies) == len(versions)
    delivered = bodies * 2 + random.Random(7).sample(bodies, 5)
    random.Random(8).shuffle(delivered)  # newest first, days interleaved, each at least twice
    for body in delivered:
        bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody=body)

    run_keys, files = [], 0
    while any(bucket.counts()):
        run_keys += [key for _, key in tick()]
        files += requested_files(tick)
    assert len(run_keys) == len(set(run_keys))
    assert files == len(versions)  # every file once
    assert {v.digest for v in versions} <= seen_digests(tick)

    # A file written again is a new version: its day is requested again, once.
    overwritten = sorted(versions, key=lambda v: v.path)[0]
    versions.add(CreatedFile(overwritten.path, bucket.upload(overwritten.path, b"again\n")))
    assert len(tick()) == 1 and requested_files(tick) == 1
    assert {v.digest for v in versions} <= seen_digests(tick)

    # The repair listing an hour later finds nothing new: it lists the versions announced.
    age_repair(tick, dt.timedelta(minutes=61))
    assert tick() == []
    for body in bodies:  # a late duplicate of everything
        bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody=body)
    while any(bucket.counts()):
        assert tick() == []


def test_lost_events_are_repaired_by_the_hourly_listing(bucket, tmp_path):
    settings = events_settings(bucket, tmp_path)
    tick = Ticks(settings, sensor=landing_events_sensor)
    tick()
    bucket.notify(on=False)
    lost = path_on(days_ago(1), "gw01-lost.txt")
    bucket.upload(lost)
    too_old = path_on(days_ago(settings.max_lateness_days + 1), "gw01-too-old.txt")
    bucket.upload(too_old)
    bucket.notify(on=True)
    bucket.drain()  # the configuration's test event
    assert tick() == []  # no event, and the last repair listing was moments ago

    age_repair(tick, dt.timedelta(minutes=59))
    assert tick() == []
    age_repair(tick, dt.timedelta(minutes=1))
    assert [day for day, _ in tick()] == [f"{days_ago(1)}"]
    assert requested_files(tick) == 1  # the lost file; the older folder is a backfill's business
    age_repair(tick, dt.timedelta(minutes=61))
    assert tick() == []


def test_unparseable_messages_go_to_the_dead_letter_queue(moto_server, tmp_path):
    bucket = make_bucket(visibility_timeout=1, max_receive_count=1)
    tick = Ticks(events_settings(bucket, tmp_path), sensor=landing_events_sensor)
    tick()
    for body in ("not json", '{"Records": [{"eventName": "ObjectCreated:Put"}]}'):
        bucket.sqs.send_message(QueueUrl=bucket.queue_url, MessageBody=body)
    bucket.upload(path_on(days_ago(0), "gw01-a.txt"))
    assert [day for day, _ in tick()] == [f"{days_ago(0)}"]  # the good message is not held up
    time.sleep(1.5)  # the two bad ones were not deleted: visible again, past maxReceiveCount
    assert tick() == []
    assert bucket.counts() == (0, 0)
    assert bucket.counts(bucket.dead_letter_url)[0] == 2


LANDING = Location.parse("s3://landing-bucket/root")


def record(key: str, *, bucket: str = "landing-bucket", event: str = "ObjectCreated:Put") -> dict:
    return {
        "eventName": event,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "eTag": "abc"}},
    }


def test_notifications_parse_as_s3_sends_them():
    body = json.dumps(
        {
            "Records": [
                record("root/raw_data/2026/12/01/gw+01%3Aa.txt"),  # URL-encoded by S3
                record("root/raw_data/2026/12/01/b.txt", bucket="another-bucket"),
                record("elsewhere/raw_data/2026/12/01/c.txt"),
                record("root/raw_data/2026/12/01/d.txt", event="ObjectRemoved:Delete"),
                record("root/raw_data/2026/12/01/"),
            ]
        }
    )
    expected = [CreatedFile("raw_data/2026/12/01/gw 01:a.txt", "abc")]
    assert parse_notification(body, LANDING) == expected
    via_sns = json.dumps({"Type": "Notification", "Message": body})
    assert parse_notification(via_sns, LANDING) == expected
    assert parse_notification('{"Event": "s3:TestEvent", "Bucket": "b"}', LANDING) == []
    for bad in ("", "[]", '{"Records": [{}]}', '{"Records": 3}'):
        with pytest.raises(UnparseableMessage):
            parse_notification(bad, LANDING)


def test_the_plan_follows_only_the_window():
    first, last = dt.date(2026, 11, 28), dt.date(2026, 12, 1)
    files = [
        CreatedFile("raw_data/2026/12/01/a.txt", "1"),
        CreatedFile("raw_data/2026/12/01/a.txt", "1"),  # a duplicate in the same batch
        CreatedFile("raw_data/2026/11/27/old.txt", "1"),
        CreatedFile("raw_data/2026/12/02/ahead.txt", "1"),
        CreatedFile("raw_data/notes.txt", "1"),
    ]
    seen = {"2026-11-20": frozenset({"gone"}), "2026-11-28": frozenset({"kept"})}
    plan = plan_event_runs(files, seen, first=first, last=last)
    assert [(r.day, r.files) for r in plan.requests] == [
        (dt.date(2026, 12, 1), ("raw_data/2026/12/01/a.txt",))
    ]
    assert plan.too_old == ["raw_data/2026/11/27/old.txt"]
    assert plan.too_new == ["raw_data/2026/12/02/ahead.txt"]
    assert plan.outside == ["raw_data/notes.txt"]
    assert set(plan.seen) == {"2026-11-28", "2026-12-01"}  # days before the window are dropped
    assert plan_event_runs(files, plan.seen, first=first, last=last).requests == []


def test_the_queue_url_chooses_the_events_sensor():
    folder = SnukSettings(landing_uri="/tmp/l", lakehouse_uri="/tmp/h")
    queue = folder.model_copy(update={"landing_queue_url": "https://sqs.eu-central-1/1/q"})
    names = {s.name for s in build_definitions(folder).sensors}
    assert "landing_files_sensor" in names and "landing_events_sensor" not in names
    names = {s.name for s in build_definitions(queue).sensors}
    assert "landing_events_sensor" in names and "landing_files_sensor" not in names
    assert SnukSettings.from_env({"SNUK_LANDING_QUEUE_URL": "q"}).landing_queue_url == "q"
