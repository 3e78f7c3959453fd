"""Ingest: a landing folder's files, parsed, validated and deduplicated, per arrival day.

Valid rows go to ``raw_observations``, every rejected row to ``quarantined_observations`` with
its original text and the reason; ``date`` is the arrival day (the landing folder), not the day
of measurement. Both tables land as one ingest (``Lakehouse.replace_partitions_together``:
quarantine first, raw as the commit point), so a crash never leaves one without the other. The
counts add up: records in the files (counted from their bytes) = rows read less whole-file
rows, and read = kept + quarantined + duplicates.

Memory: a day is read one file at a time. Each file is parsed and validated alone (its
duplicates dropped, its quarantined rows built), then only its kept rows stay, compactly
(``transforms.ingest.day_rows``: 20 bytes a row), and its quarantined rows (their ``raw_text``
at most 1,024 characters); the duplicates across the day's files are dropped at the end, and
the kept rows are streamed to the single commit in record batches. So a day's peak is one file
(at most ``SNUK_MAX_FILE_BYTES`` decompressed) plus about 30 bytes per kept row.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from snuk_assets.building_ids import DEFAULT_BUILDING
from snuk_assets.landing import LandingFile, LandingZone, LandingZoneError, SkippedFile, day_folder
from snuk_assets.sensor_types import SensorCatalog
from snuk_assets.tables import RowBatches
from snuk_assets.transforms.ingest.day_rows import DayKeptRows
from snuk_assets.transforms.ingest.parse import (
    PARSED_SCHEMA,
    ParseLimits,
    decode_landing_file,
    parse_decoded,
)
from snuk_assets.transforms.ingest.records import count_decoded
from snuk_assets.transforms.ingest.validate import (
    KEPT_SCHEMA,
    QUARANTINE_SCHEMA,
    validate_observations,
)

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
    """One arrival day read: its kept and quarantined rows, the counts, what the files held.

    ``rows_read == rows_kept + rows_quarantined + rows_duplicate``; ``reasons`` counts the
    quarantined rows per reason category, ``unknown_sensors`` the kept rows per sensor id of
    the gateway's shape that is not registered (as ``validate.ValidationResult``).
    """

    day: dt.date
    kept: DayKeptRows
    quarantined: pa.Table
    files: list[LandingFile]
    skipped: list[SkippedFile]
    rows_read: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    reasons: Counter = field(default_factory=Counter)
    unknown_sensors: dict[str, int] = field(default_factory=dict)
    records: int = 0  # records counted from the files' bytes (records.count_records)
    file_level_rows: int = 0  # rows for a whole-file problem (no line number)
    mismatched: dict[str, str] = field(default_factory=dict)  # path -> "N records, M rows"

    @property
    def rows_kept(self) -> int:
        return self.kept.num_rows


@dataclass(frozen=True)
class IngestResult:
    """What one ingest run read and wrote, per day and in total."""

    days: list[dt.date]
    per_day: list[DayIngest]
    kept_write: WriteReport
    quarantine_write: WriteReport
    totals: Counter
    reasons: Counter
    unknown: Counter
    skipped: Counter  # skipped landing entries per category
    skipped_files: dict[str, str]  # path -> reason
    mismatched: dict[str, str]  # path -> "N records, M rows", files whose rows differ
    measured_from: str  # the earliest kept ts (ISO 8601), "-" without kept rows
    measured_to: str
    sensors: int  # distinct sensor ids of the kept rows

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
    quarantined = pa.concat_tables([d.quarantined for d in days_read])
    kept = RowBatches(KEPT_SCHEMA, lambda: (batch for d in days_read for batch in d.kept.batches()))
    quarantine_write, kept_write = lakehouse.replace_partitions_together(
        [(QUARANTINE, quarantined), (RAW, kept)], dates=days
    )
    totals: Counter = Counter()
    reasons: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    for d in days_read:
        totals.update(
            read=d.rows_read,
            kept=d.rows_kept,
            quarantined=d.rows_quarantined,
            duplicate=d.rows_duplicate,
            records=d.records,
            file_level_rows=d.file_level_rows,
            files=len(d.files),
            files_skipped=len(d.skipped),
        )
        reasons.update(d.reasons)
        unknown.update(d.unknown_sensors)
        skipped.update(s.category for s in d.skipped)
    return IngestResult(
        days=days,
        per_day=days_read,
        kept_write=kept_write,
        quarantine_write=quarantine_write,
        totals=totals,
        reasons=reasons,
        unknown=unknown,
        skipped=skipped,
        skipped_files={s.path: s.reason for d in days_read for s in d.skipped},
        mismatched={path: n for d in days_read for path, n in d.mismatched.items()},
        **_measured(days_read),
    )


def _measured(days_read: list[DayIngest]) -> dict:
    """The kept rows' time span and distinct sensors, over all days."""
    ranges = [r for d in days_read if (r := d.kept.ts_range_ms()) is not None]
    sensors = {s for d in days_read for s in d.kept.rows_per_sensor()}
    if not ranges:
        return {"measured_from": "-", "measured_to": "-", "sensors": 0}
    ts_type = KEPT_SCHEMA.field("ts").type
    first = pa.scalar(min(r[0] for r in ranges), ts_type).as_py()
    last = pa.scalar(max(r[1] for r in ranges), ts_type).as_py()
    return {
        "measured_from": first.isoformat(),
        "measured_to": last.isoformat(),
        "sensors": len(sensors),
    }


def ingest_day(
    log: Logger,
    landing: LandingZone,
    day: dt.date,
    *,
    settings: SnukSettings,
    known_sensor_ids: frozenset[str],
    catalog: SensorCatalog | None = None,
) -> DayIngest:
    """Read, parse and validate one arrival day's landing files, one file at a time.

    Only the file being read is held whole; of the files before it, their kept rows
    (compactly) and their quarantined rows. Duplicates across files are dropped at the end.
    """
    building_id = settings.single_building_id()
    # A portfolio's lines name the building; the one building's read as before buildings.
    where = str(day) if building_id == DEFAULT_BUILDING else f"{building_id} {day}"
    files, skipped = landing.scan_day(day, building_id)  # an unreadable landing zone fails here
    if not files and not skipped:
        log.warning(
            f"{where}: no landing folder at {landing.describe(day_folder(day, building_id))}; "
            "the partition is materialized empty"
        )
    for entry in skipped:
        log.warning(f"{where}: skipped {entry.path}: {entry.reason}")
    read = DayIngest(day, DayKeptRows(day), QUARANTINE_SCHEMA.empty_table(), files, skipped)
    quarantined = []
    for landing_file in files:
        rows, file_records = read_and_parse(landing, landing_file, settings.parse_limits)
        read.records += file_records
        file_rows = rows.num_rows - rows["line_number"].null_count
        if file_rows != file_records:
            read.mismatched[landing_file.path] = f"{file_records} records, {file_rows} rows"
        read.file_level_rows += rows["line_number"].null_count
        result = validate_observations(
            rows,
            arrival_day=day,
            max_lateness=settings.max_lateness,
            catalog=catalog,
        )
        del rows  # the file's parsed rows and text: only its results stay
        read.kept.add(result.kept)
        quarantined.append(result.quarantined)
        read.rows_read += result.rows_read
        read.rows_quarantined += result.rows_quarantined
        read.rows_duplicate += result.rows_duplicate
        read.reasons.update(result.reasons)
        del result  # its kept table (ids, file names as strings) while the next file is read
    read.rows_duplicate += read.kept.deduplicate()
    if quarantined:
        # As one validation of the whole day orders them (the files are read in path order).
        read.quarantined = pa.concat_tables(quarantined).sort_by(
            [("source_file", "ascending"), ("line_number", "ascending")]
        )
    read.unknown_sensors = {
        sensor_id: count
        for sensor_id, count in read.kept.rows_per_sensor().items()
        if sensor_id not in known_sensor_ids
    }
    log.info(
        f"{where}: {len(files)} files ({len(skipped)} skipped), {read.records} records, "
        f"{read.rows_read} rows read, {read.rows_kept} kept, "
        f"{read.rows_quarantined} quarantined, {read.rows_duplicate} duplicates"
    )
    return read


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
        f"{d.rows_read} | {d.rows_kept} | {d.rows_quarantined} | {d.rows_duplicate} |"
        for d in days_read
    ]
    return "\n".join(lines)
