"""Follow the landing zone: a run of ``raw_observations`` for every day that received files.

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
from collections.abc import Iterable
from dataclasses import dataclass

from dagster import (
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    sensor,
)

from snuk_assets.landing import LandingFile, arrival_day_of
from snuk_assets.partitions import daily_partitions
from snuk_assets.settings import SnukSettings

OVERLAP = dt.timedelta(minutes=15)

ingest_job = define_asset_job(
    "ingest_raw_observations",
    selection=AssetSelection.assets("raw_observations", "quarantined_observations"),
    description="Ingest one arrival day's landing folder (started by the landing sensor).",
)


@dataclass(frozen=True)
class LandingCursor:
    """Newest modification time seen, and the files seen within ``OVERLAP`` before it."""

    newest: dt.datetime | None = None
    recent: frozenset[tuple[str, str]] = frozenset()  # (path, last_modified ISO)

    @classmethod
    def parse(cls, text: str | None) -> LandingCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(
            dt.datetime.fromisoformat(data["newest"]) if data["newest"] else None,
            frozenset((path, mtime) for path, mtime in data["recent"]),
        )

    def dump(self) -> str:
        return json.dumps(
            {
                "newest": self.newest.isoformat() if self.newest else None,
                "recent": sorted(self.recent),
            }
        )


@dataclass(frozen=True)
class DayRequest:
    day: dt.date
    run_key: str
    files: tuple[str, ...]


def plan_ingest_runs(
    files: Iterable[LandingFile], cursor: LandingCursor, *, overlap: dt.timedelta = OVERLAP
) -> tuple[list[DayRequest], LandingCursor, list[str]]:
    """Which arrival days to ingest, the next cursor, and the paths outside any day folder.

    A file is new when it is newer than ``cursor.newest - overlap`` and not already among the
    cursor's recent files. Files modified long before the cursor (e.g. copied with their old
    modification time) are not new: re-run such a day by hand or with a backfill.
    """
    files = list(files)
    cutoff = cursor.newest - overlap if cursor.newest else None
    new_by_day: dict[dt.date, list[LandingFile]] = defaultdict(list)
    outside = []
    for f in files:
        if cutoff and f.last_modified < cutoff:
            continue
        if (f.path, f.last_modified.isoformat()) in cursor.recent:
            continue
        day = arrival_day_of(f.path)
        if day is None:
            outside.append(f.path)
            continue
        new_by_day[day].append(f)

    requests = []
    for day, day_files in sorted(new_by_day.items()):
        names = sorted(f"{f.path}@{f.last_modified.isoformat()}" for f in day_files)
        digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
        requests.append(
            DayRequest(day, f"raw:{day}:{digest}", tuple(sorted(f.path for f in day_files)))
        )

    newest = max(
        [f.last_modified for f in files] + ([cursor.newest] if cursor.newest else []), default=None
    )
    recent = frozenset(
        (f.path, f.last_modified.isoformat())
        for f in files
        if newest is not None and f.last_modified >= newest - overlap
    )
    return requests, LandingCursor(newest, recent), outside


@sensor(
    job=ingest_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Requests a raw_observations run for each arrival day that received new files.",
)
def landing_files_sensor(context: SensorEvaluationContext, settings: SnukSettings):
    """Watch ``<landing>/raw_data/YYYY/MM/DD/`` for new files (local folder or S3)."""
    landing = settings.landing()
    files = landing.list_files()
    requests, cursor, outside = plan_ingest_runs(files, LandingCursor.parse(context.cursor))
    if outside:
        context.log.warning(
            f"{len(outside)} files are not in a raw_data/YYYY/MM/DD/ folder and are ignored, "
            f"e.g. {outside[0]}"
        )
    known = set(daily_partitions.get_partition_keys())
    run_requests = []
    for request in requests:
        key = request.day.isoformat()
        if key not in known:
            context.log.warning(
                f"files for {key} are outside the partitions (SNUK_START_DATE "
                f"{daily_partitions.start:%Y-%m-%d} .. today): {request.files[:3]}"
            )
            continue
        run_requests.append(
            RunRequest(
                run_key=request.run_key,
                partition_key=key,
                tags={"snuk/new_files": str(len(request.files))},
            )
        )
    if not run_requests:
        return SensorResult(skip_reason=SkipReason("no new landing files"), cursor=cursor.dump())
    return SensorResult(run_requests=run_requests, cursor=cursor.dump())
