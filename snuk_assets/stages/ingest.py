"""Ingest: a landing folder's files, parsed, validated and deduplicated, per arrival day.

Valid rows go to ``raw_observations``, every rejected row to ``quarantined_observations`` with
its original text and the reason; ``date`` is the arrival day (the landing folder), not the day
of measurement. Both tables land as one ingest (``Lakehouse.replace_partitions_together``:
quarantine first, raw as the commit point), so a crash never leaves one without the other. The
counts add up: records in the files (counted from their bytes) = rows read less whole-file
rows, and read = kept + quarantined + duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.landing import LandingFile, LandingZone, LandingZoneError, SkippedFile, day_folder
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.transforms.ingest.parse import (
    PARSED_SCHEMA,
    ParseLimits,
    decode_landing_file,
    parse_decoded,
)
from snuk_assets.transforms.ingest.records import count_decoded
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


@dataclass
class DayIngest:
    """One arrival day read: the validation result and what the files held."""

    day: dt.date
    result: ValidationResult
    files: list[LandingFile]
    skipped: list[SkippedFile]
    records: int = 0  # records counted from the files' bytes (records.count_records)
    file_level_rows: int = 0  # rows for a whole-file problem (no line number)
    mismatched: dict[str, str] = field(default_factory=dict)  # path -> "N records, M rows"


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run read and wrote, per day and in total."""

    days: list[dt.date]
    per_day: list[DayIngest]
    kept: pa.Table
    quarantined: pa.Table
    kept_write: WriteReport
    quarantine_write: WriteReport
    totals: Counter
    reasons: Counter
    unknown: Counter
    skipped: Counter  # skipped landing entries per category
    skipped_files: dict[str, str]  # path -> reason
    mismatched: dict[str, str]  # path -> "N records, M rows", files whose rows differ

    @property
    def adds_up(self) -> bool:
        return rows_add_up(self.totals)


def rows_add_up(totals: dict[str, int]) -> bool:
    """Records in the files = rows read less whole-file rows; read = kept + quarantined + dup.

    ``records`` is counted from the files' bytes (``records.count_records``), not from the
    parser's rows, so a file the parser collapsed (3 lines read as 1 row) fails; a whole-file
    problem (an unreadable file, the lines past the size limit) is one row but no record.
    """
    return (
        totals["read"] == totals["kept"] + totals["quarantined"] + totals["duplicate"]
        and totals["records"] == totals["read"] - totals["file_level_rows"]
    )


def ingest_days(settings: SnukSettings, days: list[dt.date], *, log: Logger) -> IngestResult:
    """Parse and validate the arrival ``days``' landing files; replace both tables' partitions."""
    landing = settings.landing()
    lakehouse = settings.lakehouse()
    # Before reading a single file: an unreachable lakehouse fails now, naming its URI.
    lakehouse.check_reachable()
    registry = settings.registry()
    days_read = [
        ingest_day(
            log,
            landing,
            day,
            settings=settings,
            known_sensor_ids=registry.sensor_ids(),
            catalog=registry.catalog(),
        )
        for day in days
    ]
    kept = pa.concat_tables([d.result.kept for d in days_read])
    quarantined = pa.concat_tables([d.result.quarantined for d in days_read])
    quarantine_write, kept_write = lakehouse.replace_partitions_together(
        [(QUARANTINE, quarantined), (RAW, kept)], dates=days
    )
    totals: Counter = Counter()
    reasons: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for d in days_read:
        r = d.result
        totals.update(
            read=r.rows_read,
            kept=r.rows_kept,
            quarantined=r.rows_quarantined,
            duplicate=r.rows_duplicate,
            records=d.records,
            file_level_rows=d.file_level_rows,
            files=len(d.files),
            files_skipped=len(d.skipped),
        )
        reasons.update(r.reasons)
        unknown.update(r.unknown_sensors)
        skipped.update(s.category for s in d.skipped)
    return IngestResult(
        days=days,
        per_day=days_read,
        kept=kept,
        quarantined=quarantined,
        kept_write=kept_write,
        quarantine_write=quarantine_write,
        totals=totals,
        reasons=reasons,
        unknown=unknown,
        skipped=skipped,
        skipped_files={s.path: s.reason for d in days_read for s in d.skipped},
        mismatched={path: n for d in days_read for path, n in d.mismatched.items()},
    )


def ingest_day(
    log: Logger,
    landing: LandingZone,
    day: dt.date,
    *,
    settings: SnukSettings,
    known_sensor_ids: frozenset[str],
    catalog: SensorCatalog | None = None,
) -> DayIngest:
    """Read, parse and validate every file of one arrival day's landing folder."""
    files, skipped = landing.scan_day(day)  # an unreadable landing zone fails here
    if not files and not skipped:
        log.warning(
            f"{day}: no landing folder at {landing.describe(day_folder(day))}; "
            "the partition is materialized empty"
        )
    for entry in skipped:
        log.warning(f"{day}: skipped {entry.path}: {entry.reason}")
    parsed, records, mismatched = [], 0, {}
    for landing_file in files:
        rows, file_records = read_and_parse(landing, landing_file, settings.parse_limits)
        parsed.append(rows)
        records += file_records
        file_rows = rows.num_rows - rows["line_number"].null_count
        if file_rows != file_records:
            mismatched[landing_file.path] = f"{file_records} records, {file_rows} rows"
    table = pa.concat_tables(parsed) if parsed else PARSED_SCHEMA.empty_table()
    result = validate_observations(
        table,
        arrival_day=day,
        max_lateness=settings.max_lateness,
        known_sensor_ids=known_sensor_ids,
        catalog=catalog,
    )
    log.info(
        f"{day}: {len(files)} files ({len(skipped)} skipped), {records} records, "
        f"{result.rows_read} rows read, {result.rows_kept} kept, "
        f"{result.rows_quarantined} quarantined, {result.rows_duplicate} duplicates"
    )
    return DayIngest(
        day, result, files, skipped, records, table["line_number"].null_count, mismatched
    )


def read_and_parse(
    landing: LandingZone, landing_file: LandingFile | str, limits: ParseLimits | None = None
) -> tuple[pa.Table, int]:
    """Parse one landing file and count its records; an unreadable file is one quarantine row.

    At most ``limits.max_file_bytes`` (plus one) bytes are read; a larger file's rest is
    reported by the parser. Returns the parsed rows and the records counted from the bytes.
    """
    limits = limits or ParseLimits()
    path = landing_file if isinstance(landing_file, str) else landing_file.path
    try:
        data = landing.read_bytes(path, max_bytes=limits.max_file_bytes)
    except (OSError, LandingZoneError) as error:
        row = {name: None for name in PARSED_SCHEMA.names}
        row.update(raw_text="", raw_length=0, source_file=path, error=f"unreadable file: {error}")
        return pa.Table.from_pylist([row], schema=PARSED_SCHEMA), 0
    # Read once, then parsed and counted apart (the count shares only this reading).
    decoded = decode_landing_file(
        path, data, limits=limits, complete=len(data) <= limits.max_file_bytes
    )
    return parse_decoded(path, decoded, limits=limits), count_decoded(decoded)


def per_day_table(days_read: list[DayIngest]) -> str:
    lines = [
        "| day | files | skipped | records | read | kept | quarantined | duplicate |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {d.day} | {len(d.files)} | {len(d.skipped)} | {d.records} | "
        f"{d.result.rows_read} | {d.result.rows_kept} | {d.result.rows_quarantined} | "
        f"{d.result.rows_duplicate} |"
        for d in days_read
    ]
    return "\n".join(lines)


def ts_bound(kept: pa.Table, which: str) -> str:
    if kept.num_rows == 0:
        return "-"
    value = getattr(pc, which)(kept["ts"]).as_py()
    return value.isoformat() if value else "-"
