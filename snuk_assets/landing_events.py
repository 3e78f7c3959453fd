"""Follow an S3 landing zone through its event notifications: new files found in constant time.

The bucket notifies an SQS queue on ``s3:ObjectCreated:*`` under ``raw_data/``. Each tick reads
the queue (long polling, batches of 10) and requests a ``raw_observations`` run per building's
arrival day that received files (``landing.landing_day_of``: a key's building and day); once
an hour it also lists the recent day folders (``listing_window``) to repair events that were
lost or never sent. A file is one version of an object, ``path@etag``
(both in the event and in the listing), remembered per arrival day while the day is in the
window, so duplicate and out-of-order deliveries, and files both announced and listed, are
requested once.

A message is deleted only after its run request is recorded: Dagster commits a tick's cursor
once the tick's runs are submitted, so the receipt handles ride in the cursor and are deleted at
the start of the next tick, which sees that cursor. A tick that fails leaves its messages on the
queue; they come back after the queue's visibility timeout and are recognised. A message that
cannot be parsed is never deleted: after the queue's ``maxReceiveCount`` receives, its redrive
policy moves it to the dead-letter queue.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote_plus

from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.landing import landing_day_of
from snuk_assets.landing_sensor import (
    DayRequest,
    day_run_key,
    ingest_job,
    ingest_run_requests,
    listing_window,
    new_building_partitions,
)
from snuk_assets.settings import SnukSettings
from snuk_assets.storage import Location

SQS_BATCH = 10  # the most messages one ReceiveMessage or DeleteMessageBatch call takes


class UnparseableMessage(ValueError):
    """A queue message that is not an S3 event notification; left for the dead-letter queue."""


@dataclass(frozen=True)
class CreatedFile:
    """One version of a raw file: its path relative to the landing root and its S3 ETag."""

    path: str
    etag: str

    @property
    def version(self) -> str:
        return f"{self.path}@{self.etag}"

    @property
    def digest(self) -> str:
        # 12 hex digits (48 bits) keep the cursor small; a collision within one day's few
        # hundred files is vanishingly unlikely.
        return hashlib.sha256(self.version.encode()).hexdigest()[:12]


def parse_notification(body: str, landing: Location) -> list[CreatedFile]:
    """The landing files one SQS message announces (empty for S3's ``s3:TestEvent``).

    Accepts the S3 event JSON as S3 sends it, or wrapped in an SNS notification (a bucket that
    notifies an SNS topic the queue subscribes to). Records for other buckets, other prefixes or
    other event types are left out. Raises ``UnparseableMessage`` for anything else.
    """
    try:
        data = json.loads(body)
        if isinstance(data, dict) and data.get("Type") == "Notification" and "Message" in data:
            data = json.loads(data["Message"])
        if isinstance(data, dict) and data.get("Event") == "s3:TestEvent":
            return []
        records = data["Records"]
        created = []
        prefix = f"{landing.prefix}/" if landing.prefix else ""
        for record in records:
            if not str(record["eventName"]).startswith("ObjectCreated:"):
                continue
            s3 = record["s3"]
            key = unquote_plus(s3["object"]["key"])  # S3 URL-encodes keys in events
            if s3["bucket"]["name"] != landing.bucket or not key.startswith(prefix):
                continue
            if key.endswith("/"):
                continue  # a "folder" marker object, not a file
            created.append(CreatedFile(key[len(prefix) :], str(s3["object"]["eTag"]).strip('"')))
        return created
    except (ValueError, KeyError, TypeError) as error:
        raise UnparseableMessage(f"not an S3 event notification ({error!r})") from error


@dataclass(frozen=True)
class EventsCursor:
    """What the events sensor carries from tick to tick.

    ``pending``: receipt handles of the messages the tick consumed, deleted by the next tick.
    ``seen``: per arrival day still in the window, the digests of the file versions requested
    (of every building: a version's path names its building).
    ``listed_through``: UTC day of the last repair listing (the window starts from it).
    ``repaired_at``: when the last repair listing ran.
    """

    pending: tuple[str, ...] = ()
    seen: dict[str, frozenset[str]] = field(default_factory=dict)
    listed_through: dt.date | None = None
    repaired_at: dt.datetime | None = None

    @classmethod
    def parse(cls, text: str | None) -> EventsCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            tuple(data["pending"]),
            {day: frozenset(digests) for day, digests in data["seen"].items()},
            dt.date.fromisoformat(data["listed_through"]) if data["listed_through"] else None,
            dt.datetime.fromisoformat(data["repaired_at"]) if data["repaired_at"] else None,
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "pending": list(self.pending),
                "seen": {day: sorted(digests) for day, digests in sorted(self.seen.items())},
                "listed_through": self.listed_through.isoformat() if self.listed_through else None,
                "repaired_at": self.repaired_at.isoformat() if self.repaired_at else None,
            }
        )


@dataclass
class EventPlan:
    """The outcome of planning one tick: runs to request and what was left out, with why."""

    requests: list[DayRequest]
    seen: dict[str, frozenset[str]]
    outside: list[str]  # not in a day folder
    unknown_building: list[str]  # in the day folder of a building without a registry
    too_old: list[str]  # in a day folder before the window: a backfill's business
    too_new: list[str]  # in a day folder after today (a gateway's clock ahead): listed later


def plan_event_runs(
    files: Iterable[CreatedFile],
    seen: dict[str, frozenset[str]],
    *,
    first: dt.date,
    last: dt.date,
    building_ids: Collection[str] = (DEFAULT_BUILDING,),
) -> EventPlan:
    """Which (building, arrival day) pairs to ingest for ``files`` (announced or listed), given
    what was seen.

    Only days ``first`` .. ``last`` of ``building_ids`` are followed; ``seen`` is pruned to those
    days. A file version already seen, or twice among ``files``, is requested once.
    """
    seen = {day: digests for day, digests in seen.items() if first.isoformat() <= day}
    new_by_day: dict[tuple[dt.date, str], dict[str, CreatedFile]] = defaultdict(dict)
    plan = EventPlan([], seen, [], [], [], [])
    for created in files:
        building_day = landing_day_of(created.path)
        building_id, day = building_day or (None, None)
        if day is None:
            plan.outside.append(created.path)
        elif building_id not in building_ids:
            plan.unknown_building.append(created.path)
        elif day < first:
            plan.too_old.append(created.path)
        elif day > last:
            plan.too_new.append(created.path)  # not marked seen: the listing finds it on its day
        elif created.digest not in seen.get(day.isoformat(), ()):
            new_by_day[day, building_id][created.digest] = created
    for (day, building_id), new in sorted(new_by_day.items()):
        key = day.isoformat()
        seen[key] = seen.get(key, frozenset()) | frozenset(new)
        plan.requests.append(
            DayRequest(
                day,
                day_run_key(day, (f.version for f in new.values()), building_id),
                tuple(sorted({f.path for f in new.values()})),
                building_id,
            )
        )
    return plan


@dataclass(frozen=True)
class QueueMessage:
    message_id: str
    receipt_handle: str
    body: str


class LandingQueue:
    """The SQS queue the bucket notifies: batches received with long polling, deleted in batches."""

    def __init__(self, queue_url: str):
        import boto3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        self.url = queue_url
        # boto3 honours AWS_ENDPOINT_URL (a moto server in tests) and the credential chain.
        self._sqs = boto3.client("sqs", region_name=region or _region_of(queue_url))

    def receive(self, *, wait_seconds: int, max_batches: int) -> list[QueueMessage]:
        """Up to ``max_batches`` x 10 messages; the first call waits up to ``wait_seconds``.

        A short batch means the queue is drained for now (the rest waits for the next tick);
        later calls wait at most a second, so a tick stays well inside Dagster's 60 s limit.
        """
        messages: list[QueueMessage] = []
        for batch in range(max_batches):
            response = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=SQS_BATCH,
                WaitTimeSeconds=wait_seconds if batch == 0 else min(wait_seconds, 1),
            )
            received = response.get("Messages", [])
            messages += [
                QueueMessage(m["MessageId"], m["ReceiptHandle"], m["Body"]) for m in received
            ]
            if len(received) < SQS_BATCH:
                break
        return messages

    def delete(self, receipt_handles: Sequence[str]) -> list[str]:
        """Delete messages by receipt handle; returns the reasons of the deletions that failed."""
        failures = []
        for start in range(0, len(receipt_handles), SQS_BATCH):
            chunk = receipt_handles[start : start + SQS_BATCH]
            response = self._sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk)],
            )
            failures += [f"{f['Code']}: {f.get('Message', '')}" for f in response.get("Failed", [])]
        return failures


def _region_of(queue_url: str) -> str:
    # https://sqs.<region>.amazonaws.com/<account>/<name>
    host = queue_url.split("/")[2] if "//" in queue_url else ""
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sqs" else "us-east-1"


def _read(
    context: SensorEvaluationContext, messages: Sequence[QueueMessage], landing: Location
) -> tuple[list[CreatedFile], list[str]]:
    """The files the messages announce, and the receipt handles of the messages understood."""
    announced: list[CreatedFile] = []
    consumed: list[str] = []
    for message in messages:
        try:
            announced += parse_notification(message.body, landing)
        except UnparseableMessage as error:
            context.log.warning(
                f"message {message.message_id} is left for the dead-letter queue: {error}; "
                f"body starts {message.body[:200]!r}"
            )
            continue
        consumed.append(message.receipt_handle)
    return announced, consumed


def _log_left_out(context: SensorEvaluationContext, plan: EventPlan) -> None:
    if plan.outside:
        context.log.warning(
            f"{len(plan.outside)} new files are not in a raw_data/<building_id>/YYYY/MM/DD/ "
            f"folder and are ignored, e.g. {plan.outside[0]}"
        )
    if plan.unknown_building:
        context.log.warning(
            f"{len(plan.unknown_building)} new files landed in the folders of buildings without "
            f"a registry, e.g. {plan.unknown_building[0]}: add the building's registry to "
            "SNUK_REGISTRIES, then backfill those raw_observations partitions"
        )
    if plan.too_old:
        context.log.warning(
            f"{len(plan.too_old)} new files landed in day folders the sensor no longer follows "
            f"(older than the maximum lateness), e.g. {plan.too_old[0]}: materialize those "
            "raw_observations partitions by hand or with a backfill"
        )
    if plan.too_new:
        context.log.warning(
            f"{len(plan.too_new)} new files landed in a day folder after today (UTC), e.g. "
            f"{plan.too_new[0]}: the repair listing requests them on that day"
        )


@sensor(
    name="landing_events_sensor",
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a raw_observations run for each arrival day that S3 announced new "
    "files for (SQS), repairing missed events by listing the recent days once an hour.",
)
def landing_events_sensor(context: SensorEvaluationContext, settings: SnukSettings):
    """Read the landing zone's S3 event notifications from SNUK_LANDING_QUEUE_URL."""
    landing = settings.landing()
    if not landing.location.is_s3:
        raise ValueError(
            f"SNUK_LANDING_QUEUE_URL is set but the landing zone {landing.uri} is not on S3: "
            "event notifications need an s3:// SNUK_LANDING_URI (unset the queue for a folder)"
        )
    queue = LandingQueue(settings.landing_queue_url)
    previous = EventsCursor.parse(context.cursor)
    # The cursor holding these handles was committed with the previous tick, after its runs
    # were submitted: their messages are recorded and may go.
    for failure in queue.delete(previous.pending):
        context.log.warning(f"could not delete a consumed message ({failure}); it is recognised")

    messages = queue.receive(
        wait_seconds=settings.landing_queue_wait_seconds,
        max_batches=settings.landing_queue_max_batches,
    )
    announced, consumed = _read(context, messages, landing.location)

    now = dt.datetime.now(dt.UTC)
    repair_due = previous.repaired_at is None or now - previous.repaired_at >= dt.timedelta(
        minutes=settings.landing_repair_interval_minutes
    )
    first, last = listing_window(
        previous.listed_through, now.date(), max_lateness=settings.max_lateness
    )
    building_ids = settings.building_ids()
    listed = []
    if repair_due:
        listed = [CreatedFile(f.path, f.etag) for f in landing.list_days(first, last, building_ids)]
    plan = plan_event_runs(
        [*announced, *listed], previous.seen, first=first, last=last, building_ids=building_ids
    )
    _log_left_out(context, plan)
    if repair_due:
        from_events = plan_event_runs(
            announced, previous.seen, first=first, last=last, building_ids=building_ids
        )
        missed = sum(len(r.files) for r in plan.requests) - sum(
            len(r.files) for r in from_events.requests
        )
        context.log.info(
            f"repair listing of {first} .. {last}: {len(listed)} files, {missed} of them "
            "new files no event announced"
        )

    cursor = EventsCursor(
        pending=tuple(consumed),
        seen=plan.seen,
        listed_through=now.date() if repair_due else previous.listed_through,
        repaired_at=now if repair_due else previous.repaired_at,
    )
    run_requests = ingest_run_requests(context, plan.requests)
    if not run_requests:
        return SensorResult(
            skip_reason=SkipReason(f"no new landing files ({len(messages)} messages)"),
            cursor=cursor.dump(),
        )
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=new_building_partitions(context, plan.requests),
        cursor=cursor.dump(),
    )
