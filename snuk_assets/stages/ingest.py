"""Ingest: a landing folder's files, parsed, validated and deduplicated, per arrival day.

Valid rows go to ``raw_observations``, every rejected row to ``quarantined_observations`` with
its original text and the reason; ``date`` is the arrival day (the landing folder), not the day
of measurement. The counts add up: read = kept + quarantined + duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.landing import LandingZone, LandingZoneError, day_folder
from snuk_assets.transforms.ingest.parse import PARSED_SCHEMA, parse_landing_file
from snuk_assets.transforms.ingest.validate import ValidationResult, validate_observations

if TYPE_CHECKING:
    from snuk_assets.lakehouse import WriteReport
    from snuk_assets.settings import SnukSettings

RAW = "raw_observations"
QUARANTINE = "quarantined_observations"


class Logger(Protocol):
    """Where progress goes: ``logging.Logger``, or a Dagster context's ``log``."""

    def info(self, msg: str) -> object: ...

    def warning(self, msg: str) -> object: ...


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run read and wrote, per day and in total."""

    days: list[dt.date]
    per_day: list[ValidationResult]
    kept: pa.Table
    kept_write: WriteReport
    quarantine_write: WriteReport
    totals: Counter
    reasons: Counter
    unknown: Counter

    @property
    def adds_up(self) -> bool:
        """read = kept + quarantined + duplicates."""
        t = self.totals
        return t["read"] == t["kept"] + t["quarantined"] + t["duplicate"]


def ingest_days(settings: SnukSettings, days: list[dt.date], *, log: Logger) -> IngestResult:
    """Parse and validate the arrival ``days``' landing files; replace both tables' partitions."""
    landing = settings.landing()
    known_sensor_ids = settings.registry().sensor_ids()
    results = [
        ingest_day(log, landing, day, settings=settings, known_sensor_ids=known_sensor_ids)
        for day in days
    ]
    lakehouse = settings.lakehouse()
    kept = pa.concat_tables([r.kept for r in results])
    quarantined = pa.concat_tables([r.quarantined for r in results])
    kept_write = lakehouse.replace_partitions(RAW, kept, dates=days)
    quarantine_write = lakehouse.replace_partitions(QUARANTINE, quarantined, dates=days)
    totals: Counter = Counter()
    reasons: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    for r in results:
        totals.update(
            read=r.rows_read,
            kept=r.rows_kept,
            quarantined=r.rows_quarantined,
            duplicate=r.rows_duplicate,
        )
        reasons.update(r.reasons)
        unknown.update(r.unknown_sensors)
    return IngestResult(days, results, kept, kept_write, quarantine_write, totals, reasons, unknown)


def ingest_day(
    log: Logger,
    landing: LandingZone,
    day: dt.date,
    *,
    settings: SnukSettings,
    known_sensor_ids: frozenset[str],
) -> ValidationResult:
    """Read, parse and validate every file of one arrival day's landing folder."""
    files = landing.list_day(day)  # an unreadable landing zone fails here, with its reason
    if not files:
        log.warning(
            f"{day}: no landing folder at {landing.describe(day_folder(day))}; "
            "the partition is materialized empty"
        )
    parsed = [read_and_parse(landing, f.path) for f in files]
    result = validate_observations(
        pa.concat_tables(parsed) if parsed else PARSED_SCHEMA.empty_table(),
        arrival_day=day,
        max_lateness=settings.max_lateness,
        known_sensor_ids=known_sensor_ids,
    )
    log.info(
        f"{day}: {len(files)} files, {result.rows_read} rows read, {result.rows_kept} kept, "
        f"{result.rows_quarantined} quarantined, {result.rows_duplicate} duplicates"
    )
    return result


def read_and_parse(landing: LandingZone, path: str) -> pa.Table:
    """Parse one landing file; a file that cannot be read becomes one quarantine row."""
    try:
        data = landing.read_bytes(path)
    except (OSError, LandingZoneError) as error:
        return pa.Table.from_pylist(
            [
                {
                    "sensor_id": None,
                    "ts_ms": None,
                    "value": None,
                    "line_number": None,
                    "raw_text": "",
                    "source_file": path,
                    "error": f"unreadable file: {error}",
                }
            ],
            schema=PARSED_SCHEMA,
        )
    return parse_landing_file(path, data)


def per_day_table(days: list[dt.date], results: list[ValidationResult]) -> str:
    lines = ["| day | read | kept | quarantined | duplicate |", "|---|---:|---:|---:|---:|"]
    lines += [
        f"| {d} | {r.rows_read} | {r.rows_kept} | {r.rows_quarantined} | {r.rows_duplicate} |"
        for d, r in zip(days, results, strict=True)
    ]
    return "\n".join(lines)


def ts_bound(kept: pa.Table, which: str) -> str:
    if kept.num_rows == 0:
        return "-"
    value = getattr(pc, which)(kept["ts"]).as_py()
    return value.isoformat() if value else "-"
