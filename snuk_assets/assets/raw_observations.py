"""The ``raw_observations`` asset: a landing folder's files, parsed, validated, deduplicated.

The stage is ``stages.ingest``. Valid rows go to ``raw_observations``, every rejected row to
``quarantined_observations``; both are written on every run, whichever is selected, as one
ingest (quarantine first, raw as the commit point).
"""

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

from snuk_assets.assets.metadata import table_metadata
from snuk_assets.partitions import daily_partitions, partition_dates
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.ingest import QUARANTINE, RAW, ingest_days, per_day_table


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
    result = ingest_days(settings, days, log=context.log)
    totals, unknown = result.totals, result.unknown
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if RAW in selected:
        yield MaterializeResult(
            asset_key=RAW,
            metadata={
                **table_metadata(result.kept_write),
                "rows_read": totals["read"],
                "rows_kept": totals["kept"],
                "rows_quarantined": totals["quarantined"],
                "rows_duplicate": totals["duplicate"],
                "records_in_files": totals["records"],
                "files_read": totals["files"],
                "files_skipped": MetadataValue.json(dict(result.skipped.most_common())),
                "skipped_files": MetadataValue.json(dict(list(result.skipped_files.items())[:50])),
                "days": MetadataValue.md(per_day_table(result.per_day)),
                "measured_from": result.measured_from,
                "measured_to": result.measured_to,
                "sensors": result.sensors,
                "unknown_sensors": MetadataValue.json(dict(unknown.most_common(50))),
                "quarantine_table_uri": MetadataValue.path(result.quarantine_write.table_uri),
            },
        )
    if QUARANTINE in selected:
        yield MaterializeResult(
            asset_key=QUARANTINE,
            metadata={
                **table_metadata(result.quarantine_write),
                "reasons": MetadataValue.json(dict(result.reasons.most_common())),
            },
        )
    if RAW not in selected:
        return  # the checks below belong to raw_observations
    yield AssetCheckResult(
        asset_key=RAW,
        check_name="rows_add_up",
        passed=result.adds_up,
        description=None
        if result.adds_up
        else f"{len(result.mismatched)} files' records differ from the rows read from them",
        metadata={
            **{
                k: totals[k]
                for k in ("records", "file_level_rows", "read", "kept", "quarantined", "duplicate")
            },
            "files_whose_rows_differ": MetadataValue.json(
                dict(list(result.mismatched.items())[:50])
            ),
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
