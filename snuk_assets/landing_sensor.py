"""Follow the landing zone: a run of ``raw_observations`` for every day that received files.

A tick lists only the day folders that can still receive files (``listing_window``), of every
building of the portfolio: from the day of the previous tick minus the maximum lateness up to
today, so its cost follows the buildings and the recent days, not the landing zone's history.
Files put into older folders are a backfill's business.
The cursor is the newest ``LastModified`` seen (never the clock), plus the files seen within an
overlap window before it: object stores list late (eventual listing, clock skew, uploads that
finish out of order), so each tick re-lists that window and recognises what it already
requested. Run keys name the day and its new files, so a file is never ingested twice by the
sensor and two files uploaded in the same second are both seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from dagster import (
    AddDynamicPartitionsRequest,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.landing import LandingFile, landing_day_of
from snuk_assets.partitions import (
    BY_BUILDING,
    building_partitions,
    daily_partitions,
    pipeline_partition_key,
)
from snuk_assets.settings import SnukSettings

OVERLAP = dt.timedelta(minutes=15)

ingest_job = define_asset_job(
    "ingest_raw_observations",
    selection=AssetSelection.assets("raw_observations", "quarantined_observations"),
    description="Ingest one arrival day's landing folder (started by the landing sensor).",
)


def listing_window(
    listed_through: dt.date | None, today: dt.date, *, max_lateness: dt.timedelta
) -> tuple[dt.date, dt.date]:
    """The arrival days a tick lists: from the last tick's day minus ``max_lateness`` to today.

    Without a previous tick the window starts ``max_lateness`` before today: the history
    already in the landing zone is ingested by a backfill, not by the sensor.
    """
    since = min(listed_through or today, today)
    return since - max_lateness, today


@dataclass(frozen=True)
class LandingCursor:
    """Newest modification time seen, the files seen within ``OVERLAP`` before it, and the
    UTC day of the tick that listed them (where the next tick's window starts)."""

    newest: dt.datetime | None = None
    recent: frozenset[tuple[str, str]] = frozenset()  # (path, last_modified ISO)
    listed_through: dt.date | None = None

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor:
        if not text:
            return cls()
        data = json.loads(text)
        listed = data.get("listed_through")  # absent in cursors written before bounded listing
        return cls(
            dt.datetime.fromisoformat(data["newest"]) if data["newest"] else None,
            frozenset((path, mtime) for path, mtime in data["recent"]),
            dt.date.fromisoformat(listed) if listed else None,
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "newest": self.newest.isoformat() if self.newest else None,
                "recent": sorted(self.recent),
                "listed_through": self.listed_through.isoformat() if self.listed_through else None,
            }
        )


@dataclass(frozen=True)
class DayRequest:
    """New files of one building's arrival day, and the run key that names them."""

    day: dt.date
    run_key: str
    files: tuple[str, ...]
    building_id: str = DEFAULT_BUILDING


def plan_ingest_runs(
    files: Iterable[LandingFile], cursor: LandingCursor, *, overlap: dt.timedelta = OVERLAP
) -> tuple[list[DayRequest], LandingCursor, list[str]]:
    """Which (building, arrival day) pairs to ingest, the next cursor, and the paths outside
    any day folder.

    A file is new when it is newer than ``cursor.newest - overlap`` and not already among the
    cursor's recent files. Files modified long before the cursor (e.g. copied with their old
    modification time) are not new: re-run such a day by hand or with a backfill.
    """
    files = list(files)
    cutoff = cursor.newest - overlap if cursor.newest else None
    new_by_day: dict[tuple[str, dt.date], list[LandingFile]] = defaultdict(list)
    outside = []
    for f in files:
        if cutoff and f.last_modified < cutoff:
            continue
        if (f.path, f.last_modified.isoformat()) in cursor.recent:
            continue
        building_day = landing_day_of(f.path)
        if building_day is None:
            outside.append(f.path)
            continue
        new_by_day[building_day].append(f)

    requests = []
    for (building_id, day), day_files in sorted(new_by_day.items(), key=lambda kv: kv[0][::-1]):
        versions = [f"{f.path}@{f.last_modified.isoformat()}" for f in day_files]
        requests.append(
            DayRequest(
                day,
                day_run_key(day, versions, building_id),
                tuple(sorted(f.path for f in day_files)),
                building_id,
            )
        )

    newest = max(
        [f.last_modified for f in files] + ([cursor.newest] if cursor.newest else []), default=None
    )
    recent = frozenset(
        (f.path, f.last_modified.isoformat())
        for f in files
        if newest is not None and f.last_modified >= newest - overlap
    )
    return requests, LandingCursor(newest, recent, cursor.listed_through), outside


def day_run_key(day: dt.date, versions: Iterable[str], building_id: str = DEFAULT_BUILDING) -> str:
    """The run key of one building's day's new files, from their versions (``path@mtime`` or
    ``path@etag``); the building ``default``'s as before buildings, so no file runs twice."""
    digest = hashlib.sha256("\n".join(sorted(versions)).encode()).hexdigest()[:16]
    if building_id == DEFAULT_BUILDING:
        return f"raw:{day}:{digest}"
    return f"raw:{building_id}:{day}:{digest}"


def ingest_run_requests(
    context: SensorEvaluationContext, requests: Sequence[DayRequest]
) -> list[RunRequest]:
    """A ``RunRequest`` per building's day inside the partitions; days outside them are logged,
    not run. The partition is the (building, day) in a portfolio, else the day; the building is
    also the tag ``snuk/building``."""
    run_requests = []
    for request in requests:
        key = request.day.isoformat()
        # Not get_partition_keys(): listing every day since SNUK_START_DATE took 0.4 s a tick.
        if not daily_partitions.has_partition_key(key):
            context.log.warning(
                f"files for {key} are outside the partitions (SNUK_START_DATE "
                f"{daily_partitions.start:%Y-%m-%d} .. today): {request.files[:3]}"
            )
            continue
        run_requests.append(
            RunRequest(
                run_key=request.run_key,
                partition_key=pipeline_partition_key(request.building_id, request.day),
                tags={
                    "snuk/new_files": str(len(request.files)),
                    "snuk/building": request.building_id,
                },
            )
        )
    return run_requests


def new_building_partitions(
    context: SensorEvaluationContext, requests: Sequence[DayRequest]
) -> list[AddDynamicPartitionsRequest]:
    """The ``buildings`` partitions the requests need and the instance lacks yet (a portfolio's
    building whose files arrive before the registry sensor's tick has added it); Dagster adds
    them before it submits the tick's runs. None outside a portfolio."""
    if not BY_BUILDING:
        return []
    known = set(context.instance.get_dynamic_partitions(building_partitions.name))
    new = sorted({request.building_id for request in requests} - known)
    return [building_partitions.build_add_request(new)] if new else []


@sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a raw_observations run for each arrival day that received new files.",
)
def landing_files_sensor(context: SensorEvaluationContext, settings: SnukSettings):
    """Watch the recent ``<landing>/raw_data/<building_id>/YYYY/MM/DD/`` folders of every
    building for new files (folder or S3)."""
    today = dt.datetime.now(dt.UTC).date()
    previous = LandingCursor.parse(context.cursor)
    first, last = listing_window(previous.listed_through, today, max_lateness=settings.max_lateness)
    files = settings.landing().list_days(first, last, settings.building_ids())
    requests, cursor, outside = plan_ingest_runs(files, previous)
    cursor = replace(cursor, listed_through=today)
    if outside:
        context.log.warning(
            f"{len(outside)} files are not in a raw_data/<building_id>/YYYY/MM/DD/ folder and are "
            "ignored, "
            f"e.g. {outside[0]}"
        )
    run_requests = ingest_run_requests(context, requests)
    if not run_requests:
        return SensorResult(skip_reason=SkipReason("no new landing files"), cursor=cursor.dump())
    return SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=new_building_partitions(context, requests),
        cursor=cursor.dump(),
    )
