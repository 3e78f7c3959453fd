"""The ``raw_observations`` asset: a landing folder's files, parsed, validated, deduplicated.

Valid rows go to ``raw_observations``, every rejected row to ``quarantined_observations`` with
its original text and the reason. ``date`` is the arrival day (the landing folder), not the day of
measurement.
"""

import datetime as dt
from collections import Counter

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

from snuk_assets.landing import LandingZone, LandingZoneError, day_folder
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.transforms.ingest.parse import PARSED_SCHEMA, parse_landing_file
from snuk_assets.transforms.ingest.validate import ValidationResult, validate_observations

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
        AssetCheckSpec("rows_add_up", asset=RAW, description="read = kept + quarantined + dup"),
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
    known_sensor_ids = settings.registry().sensor_ids()

    results = [
        ingest_day(context, landing, day, settings=settings, known_sensor_ids=known_sensor_ids)
        for day in days
    ]

    lakehouse = settings.lakehouse()
    kept = pa.concat_tables([r.kept for r in results])
    quarantined = pa.concat_tables([r.quarantined for r in results])
    kept_report = lakehouse.replace_partitions(RAW, kept, dates=days)
    quarantine_report = lakehouse.replace_partitions(QUARANTINE, quarantined, dates=days)

    totals = Counter()
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

    selected = {key.to_user_string() for key in context.selected_asset_keys}
    raw_result = MaterializeResult(
        asset_key=RAW,
        metadata={
            "dagster/row_count": kept.num_rows,
            "rows_read": totals["read"],
            "rows_kept": totals["kept"],
            "rows_quarantined": totals["quarantined"],
            "rows_duplicate": totals["duplicate"],
            "days": MetadataValue.md(_per_day_table(days, results)),
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
    adds_up = totals["read"] == totals["kept"] + totals["quarantined"] + totals["duplicate"]
    yield AssetCheckResult(
        asset_key=RAW,
        check_name="rows_add_up",
        passed=adds_up,
        metadata={k: totals[k] for k in ("read", "kept", "quarantined", "duplicate")},
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


def ingest_day(
    context: AssetExecutionContext,
    landing: LandingZone,
    day: dt.date,
    *,
    settings: SnukSettings,
    known_sensor_ids: frozenset[str],
) -> ValidationResult:
    """Read, parse and validate every file of one arrival day's landing folder."""
    files = landing.list_day(day)  # an unreadable landing zone fails here, with its reason
    if not files:
        context.log.warning(
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
    context.log.info(
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


def _per_day_table(days: list[dt.date], results: list[ValidationResult]) -> str:
    lines = ["| day | read | kept | quarantined | duplicate |", "|---|---:|---:|---:|---:|"]
    lines += [
        f"| {d} | {r.rows_read} | {r.rows_kept} | {r.rows_quarantined} | {r.rows_duplicate} |"
        for d, r in zip(days, results, strict=True)
    ]
    return "\n".join(lines)


def _ts_bound(kept: pa.Table, which: str) -> str:
    if kept.num_rows == 0:
        return "-"
    import pyarrow.compute as pc

    value = getattr(pc, which)(kept["ts"]).as_py()
    return value.isoformat() if value else "-"
