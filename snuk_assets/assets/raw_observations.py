"""The ``raw_observations`` asset: a landing folder's files, parsed, validated, deduplicated.

Valid rows go to ``raw_observations``, every rejected row to ``quarantined_observations`` with
its original text and the reason. ``date`` is the arrival day (the landing folder), not the day of
measurement. Both tables land as one ingest (``Lakehouse.replace_partitions_together``:
quarantine first, raw as the commit point), so a crash never leaves one without the other.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from snuk_assets.landing import LandingFile, LandingZone, LandingZoneError, SkippedFile, day_folder
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.parse import (
    PARSED_SCHEMA,
    ParseLimits,
    decode_landing_file,
    parse_decoded,
)
from snuk_assets.transforms.records import count_decoded
from snuk_assets.transforms.validate import ValidationResult, validate_observations

RAW = "raw_observations"
QUARANTINE = "quarantined_observations"


@multi_asset(
    specs=[
        AssetSpec(
            RAW,
            description="Valid raw observations of each arrival day: sensor_id, ts (UTC), "
            "value, source_file, date.",
            group_name="ingest",
            kinds={"delta"},
            deps=["sensors"],
        ),
        AssetSpec(
            QUARANTINE,
            description="Every rejected raw row with its file, line number, original text and "
            "the reason.",
            group_name="ingest",
            kinds={"delta"},
            deps=["sensors"],
        ),
    ],
    check_specs=[
        AssetCheckSpec(
            "rows_add_up",
            asset=RAW,
            description="records in the files (counted from their bytes) = rows read = kept + "
            "quarantined + duplicates",
        ),
        AssetCheckSpec("known_sensors", asset=RAW, description="every sensor is registered"),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    # `--select raw_observations` alone must work; both tables are still written together,
    # because the quarantine is half of the ingest's row accounting.
    can_subset=True,
)
def raw_observations(context: AssetExecutionContext, settings: SnukSettings):
    """Parse and validate one or more arrival days of landing files into Delta.

    Both tables are written on every run, whichever of the two assets is selected.
    """
    days = partition_dates(context.partition_keys)
    landing = settings.landing()
    lakehouse = settings.lakehouse()
    # Before reading a single file: an unreachable lakehouse fails now, naming its URI.
    lakehouse.check_reachable()
    known_sensor_ids = settings.registry().sensor_ids()

    days_read = [
        ingest_day(context, landing, day, settings=settings, known_sensor_ids=known_sensor_ids)
        for day in days
    ]
    results = [d.result for d in days_read]

    kept = pa.concat_tables([r.kept for r in results])
    quarantined = pa.concat_tables([r.quarantined for r in results])
    quarantine_report, kept_report = lakehouse.replace_partitions_together(
        [(QUARANTINE, quarantined), (RAW, kept)], dates=days
    )

    totals = Counter()
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
    skipped_files = {s.path: s.reason for d in days_read for s in d.skipped}
    mismatched = {path: n for d in days_read for path, n in d.mismatched.items()}

    selected = {key.to_user_string() for key in context.selected_asset_keys}
    raw_result = MaterializeResult(
        asset_key=RAW,
        metadata={
            "dagster/row_count": kept.num_rows,
            "rows_read": totals["read"],
            "rows_kept": totals["kept"],
            "rows_quarantined": totals["quarantined"],
            "rows_duplicate": totals["duplicate"],
            "records_in_files": totals["records"],
            "files_read": totals["files"],
            "files_skipped": MetadataValue.json(dict(skipped.most_common())),
            "skipped_files": MetadataValue.json(dict(list(skipped_files.items())[:50])),
            "days": MetadataValue.md(_per_day_table(days_read)),
            "measured_from": _ts_bound(kept, "min"),
            "measured_to": _ts_bound(kept, "max"),
            "sensors": len(set(kept["sensor_id"].to_pylist())) if kept.num_rows else 0,
            "unknown_sensors": MetadataValue.json(dict(unknown.most_common(50))),
            "table_uri": MetadataValue.path(kept_report.table_uri),
            "delta_version": kept_report.version,
            "quarantine_table_uri": MetadataValue.path(quarantine_report.table_uri),
        },
    )
    quarantine_result = MaterializeResult(
        asset_key=QUARANTINE,
        metadata={
            "dagster/row_count": quarantined.num_rows,
            "reasons": MetadataValue.json(dict(reasons.most_common())),
            "table_uri": MetadataValue.path(quarantine_report.table_uri),
            "delta_version": quarantine_report.version,
        },
    )
    if RAW in selected:
        yield raw_result
    if QUARANTINE in selected:
        yield quarantine_result
    if RAW not in selected:
        return  # the checks below belong to raw_observations
    adds_up = rows_add_up(totals)
    yield AssetCheckResult(
        asset_key=RAW,
        check_name="rows_add_up",
        passed=adds_up,
        description=None
        if adds_up
        else f"{len(mismatched)} files' records differ from the rows read from them",
        metadata={
            **{
                k: totals[k]
                for k in ("records", "file_level_rows", "read", "kept", "quarantined", "duplicate")
            },
            "files_whose_rows_differ": MetadataValue.json(dict(list(mismatched.items())[:50])),
        },
    )
    yield AssetCheckResult(
        asset_key=RAW,
        check_name="known_sensors",
        passed=not unknown,
        severity=AssetCheckSeverity.WARN,
        description=f"{len(unknown)} sensor ids are not in the building registry"
        if unknown
        else "every sensor id is in the building registry",
        metadata={"unknown_sensors": MetadataValue.json(dict(unknown.most_common(50)))},
    )


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


def ingest_day(
    context: AssetExecutionContext,
    landing: LandingZone,
    day: dt.date,
    *,
    settings: SnukSettings,
    known_sensor_ids: frozenset[str],
) -> DayIngest:
    """Read, parse and validate every file of one arrival day's landing folder."""
    files, skipped = landing.scan_day(day)  # an unreadable landing zone fails here
    if not files and not skipped:
        context.log.warning(
            f"{day}: no landing folder at {landing.describe(day_folder(day))}; "
            "the partition is materialized empty"
        )
    for entry in skipped:
        context.log.warning(f"{day}: skipped {entry.path}: {entry.reason}")
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
    )
    context.log.info(
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


def _per_day_table(days_read: list[DayIngest]) -> str:
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


def _ts_bound(kept: pa.Table, which: str) -> str:
    if kept.num_rows == 0:
        return "-"
    import pyarrow.compute as pc

    value = getattr(pc, which)(kept["ts"]).as_py()
    return value.isoformat() if value else "-"
