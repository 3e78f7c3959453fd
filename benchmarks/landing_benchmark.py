"""Benchmark: one landing sensor tick against the size of the landing zone, before and after.

    cd benchmarks
    ../.venv/bin/python landing_benchmark.py --backend folder --files 1000 10000 100000 1000000
    ../.venv/bin/python landing_benchmark.py --backend s3 --files 1000 10000 50000

The landing zone holds ``--files-per-day`` files in each day folder, from today back as far as
the file count reaches (100 a day: 1 million files are 27 years of folders). Each timed tick
follows one new file landing in today's folder, from the cursor of the tick before (steady
state). Side by side, in this process:

- ``full_listing``: the sensor before issue 24, which listed all of ``raw_data/`` each tick
  (its code, reconstructed here from main at 7be5693: ``list_files()`` then the same plan);
- ``bounded_listing``: ``landing_files_sensor`` as it is, listing today and the maximum
  lateness before it;
- ``events`` (S3 only): ``landing_events_sensor`` reading the bucket's notifications from SQS
  (the tick between two hourly repair listings), and ``events_repair``, the tick that also lists.

Requests are every HTTP request boto3 sends during the tick (S3 LIST, SQS receive and delete).
On a folder, "entries" is the files the tick listed. The history's modification times are set
to its days on a folder; on S3 they are the upload's, minutes ago, so the full listing's plan
runs with a 1 s overlap window there (in steady state that window holds only the last 15
minutes' files, not the history). Figures go to ``benchmarks/results/landing_*.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import pathlib
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
from dagster import (
    DagsterInstance,
    SensorDefinition,
    SensorResult,
    build_sensor_context,
    sensor,
)
from report import RESULTS_DIR, write_report

from snuk_assets.landing import day_folder
from snuk_assets.landing_events import EventsCursor, landing_events_sensor
from snuk_assets.landing_sensor import (
    OVERLAP,
    LandingCursor,
    ingest_job,
    ingest_run_requests,
    landing_files_sensor,
    plan_ingest_runs,
)
from snuk_assets.settings import SnukSettings

TODAY = dt.datetime.now(dt.UTC).date()


class Requests:
    """Counts the HTTP requests of every boto3 client created after it (S3 and SQS)."""

    def __init__(self) -> None:
        self.count = 0
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send", self._sent)

    def _sent(self, **_) -> None:
        self.count += 1


def full_listing(overlap: dt.timedelta = OVERLAP) -> SensorDefinition:
    """The sensor before issue 24: every file below raw_data/ each tick, then the same plan."""

    @sensor(name="full_listing_sensor", job=ingest_job)
    def full_listing_sensor(context, settings: SnukSettings):
        files = settings.landing().list_files()
        cursor = LandingCursor.parse(context.cursor)
        requests, cursor, _ = plan_ingest_runs(files, cursor, overlap=overlap)
        return SensorResult(
            run_requests=ingest_run_requests(context, requests), cursor=cursor.dump()
        )

    return full_listing_sensor


class Ticker:
    """One sensor's ticks, carrying the cursor like the daemon does; times each tick."""

    def __init__(self, name: str, sensor: Callable, settings: SnukSettings, counter: Requests):
        self.name, self.sensor, self.settings, self.counter = name, sensor, settings, counter
        self.cursor: str | None = None
        self.instance = DagsterInstance.ephemeral()

    def tick(self) -> dict:
        context = build_sensor_context(
            cursor=self.cursor, resources={"settings": self.settings}, instance=self.instance
        )
        before = self.counter.count
        t0 = time.perf_counter()
        result = self.sensor(context)
        seconds = time.perf_counter() - t0
        self.cursor = result.cursor
        return {
            "seconds": seconds,
            "requests": self.counter.count - before,
            "runs": [(r.partition_key, int(r.tags["snuk/new_files"])) for r in result.run_requests],
        }


# -- building the landing zone ---------------------------------------------------------------
def history_days(n_files: int, per_day: int) -> list[dt.date]:
    return [TODAY - dt.timedelta(days=i) for i in range(-(-n_files // per_day))]


def grow_folder(root: pathlib.Path, days: list[dt.date], per_day: int, n_files: int) -> None:
    """Empty files in ``root``'s day folders, up to ``n_files``, modified on their day."""
    an_hour_ago = time.time() - 3600  # today's history must not look newer than new files
    made = sum(1 for _ in (root / "raw_data").rglob("gw*.txt")) if root.exists() else 0
    for index in range(made, n_files):
        day = days[index // per_day]
        folder = root / day_folder(day)
        if index % per_day == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"gw{index % per_day:03d}.txt"
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        noon = min(dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp(), an_hour_ago)
        os.utime(path, (noon, noon))


def grow_bucket(bucket: str, days: list[dt.date], per_day: int, made: int, n_files: int) -> None:
    s3 = boto3.client("s3")

    def put(index: int) -> None:
        day = days[index // per_day]
        s3.put_object(Bucket=bucket, Key=f"{day_folder(day)}/gw{index % per_day:03d}.txt", Body=b"")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(made, n_files)))


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on loopback, in its own process (as in tests/conftest.py)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
    )
    try:
        for _ in range(300):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.1)
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- the runs --------------------------------------------------------------------------------
def measure(
    ticker: Ticker,
    land_one: Callable[[], None],
    repeat: int,
    *,
    warm_up: bool = True,
    before_tick: Callable[[], None] = lambda: None,
) -> list[dict]:
    """Warm the sensor up (its first tick sees the history), then time ``repeat`` new files."""
    if warm_up:
        ticker.tick()
        ticker.tick()  # the events sensor deletes the first tick's messages here
    samples = []
    for _ in range(repeat):
        land_one()
        before_tick()
        samples.append(ticker.tick())
        runs = samples[-1]["runs"]
        assert runs == [(TODAY.isoformat(), 1)], f"{ticker.name} requested {runs}"
    return samples


def summary(backend: str, n_files: int, sensor_name: str, samples: list[dict]) -> dict:
    row = {
        "backend": backend,
        "files": n_files,
        "sensor": sensor_name,
        "seconds_median": statistics.median(s["seconds"] for s in samples),
        "seconds": [s["seconds"] for s in samples],
        "requests_median": statistics.median(s["requests"] for s in samples),
    }
    print(
        f"  {backend:6} {n_files:>9,} files  {sensor_name:16} "
        f"{row['seconds_median'] * 1000:9.1f} ms  {row['requests_median']:6.0f} requests",
        flush=True,
    )
    return row


def run_folder(args, counter: Requests) -> list[dict]:
    root = RESULTS_DIR / "landing_scratch"
    if root.exists():
        shutil.rmtree(root)  # grown from empty: each size is the smaller one plus older days
    days = history_days(max(args.files), args.files_per_day)
    rows = []
    for n_files in sorted(args.files):
        t0 = time.perf_counter()
        for stray in (root / day_folder(TODAY)).glob("new-*"):
            stray.unlink()  # the previous size's new files
        grow_folder(root, days, args.files_per_day, n_files)
        print(
            f"{n_files:,} files in {root} ({time.perf_counter() - t0:.0f} s to build)", flush=True
        )
        settings = SnukSettings(landing_uri=str(root), lakehouse_uri=str(root / "unused"))
        tickers = [
            Ticker("full_listing", full_listing(), settings, counter),
            Ticker("bounded_listing", landing_files_sensor, settings, counter),
        ]

        def land_one() -> None:
            (root / day_folder(TODAY) / f"new-{uuid.uuid4().hex[:8]}.txt").write_bytes(b"")
            time.sleep(0.02)  # distinct modification times

        for ticker in tickers:
            samples = measure(ticker, land_one, args.repeat)
            rows.append(summary("folder", n_files, ticker.name, samples))
    return rows


def run_s3(args, counter: Requests) -> list[dict]:
    with moto_server():
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        bucket = f"snuk-bench-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(Bucket=bucket)
        queue_url = sqs.create_queue(QueueName=bucket, Attributes={"VisibilityTimeout": "300"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        days = history_days(max(args.files), args.files_per_day)
        rows, made = [], 0
        for n_files in sorted(args.files):
            s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={})
            t0 = time.perf_counter()
            grow_bucket(bucket, days, args.files_per_day, made, n_files)
            made = n_files
            print(
                f"{n_files:,} objects on moto ({time.perf_counter() - t0:.0f} s to upload)",
                flush=True,
            )
            rule = {
                "QueueArn": arn["Attributes"]["QueueArn"],
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw_data/"}]}},
            }
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [rule]}
            )
            settings = SnukSettings(
                landing_uri=f"s3://{bucket}",
                lakehouse_uri=str(RESULTS_DIR / "unused"),
                landing_queue_url=queue_url,
                landing_queue_wait_seconds=1,
            )

            def land_one() -> None:
                key = f"{day_folder(TODAY)}/new-{uuid.uuid4().hex[:8]}.txt"
                s3.put_object(Bucket=bucket, Key=key, Body=b"")

            tickers = [
                Ticker("full_listing", full_listing(dt.timedelta(seconds=1)), settings, counter),
                Ticker("bounded_listing", landing_files_sensor, settings, counter),
                Ticker("events", landing_events_sensor, settings, counter),
            ]
            for ticker in tickers:
                drain(sqs, queue_url)  # events of the other sensors' new files
                samples = measure(ticker, land_one, args.repeat)
                rows.append(summary("s3", n_files, ticker.name, samples))
            events = tickers[-1]

            def repair_due(events=events) -> None:
                cursor = EventsCursor.parse(events.cursor)
                events.cursor = dataclasses.replace(cursor, repaired_at=None).dump()

            samples = measure(events, land_one, args.repeat, warm_up=False, before_tick=repair_due)
            rows.append(summary("s3", n_files, "events_repair", samples))
    return rows


def drain(sqs, queue_url: str) -> None:
    """Delete every message on the queue (PurgeQueue is allowed once a minute)."""
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages"
    ):
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["folder", "s3"], default="folder")
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--files-per-day", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    counter = Requests()
    rows = run_folder(args, counter) if args.backend == "folder" else run_s3(args, counter)
    write_report(
        f"landing_{args.backend}",
        {"machine": platform.platform(), "cpus": os.cpu_count(), "args": vars(args), "rows": rows},
    )


if __name__ == "__main__":
    main()
