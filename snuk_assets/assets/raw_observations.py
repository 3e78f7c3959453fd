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

from snuk_assets.assets.buildings import building_runs, combined_checks, combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.partitions import pipeline_partitions
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.ingest import QUARANTINE, RAW, IngestResult, ingest_days, per_day_table


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
    partitions_def=pipeline_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    # `--select raw_observations` alone must work; both tables are still written together,
    # because the quarantine is half of the ingest's row accounting.
    can_subset=True,
)
def raw_observations(context: AssetExecutionContext, settings: SnukSettings):
    """Parse and validate one or more arrival days of landing files into Delta.

    Both tables are written on every run, whichever of the two assets is selected; each
    building's landing folder is ingested on its own.
    """
    raw, quarantine, checks = {}, {}, {}
    for building, scoped, days in building_runs(settings, context.partition_keys):
        result = ingest_days(scoped, days, log=context.log)
        raw[building], quarantine[building] = _raw_metadata(result), _quarantine_metadata(result)
        checks[building] = _checks(result)
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if RAW in selected:
        yield MaterializeResult(asset_key=RAW, metadata=combined_metadata(raw))
    if QUARANTINE in selected:
        yield MaterializeResult(asset_key=QUARANTINE, metadata=combined_metadata(quarantine))
    if RAW in selected:  # the checks belong to raw_observations
        yield from combined_checks(checks)


def _raw_metadata(result: IngestResult) -> dict[str, object]:
    totals, unknown = result.totals, result.unknown
    return {
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
    }


def _quarantine_metadata(result: IngestResult) -> dict[str, object]:
    return {
        **table_metadata(result.quarantine_write),
        "reasons": MetadataValue.json(dict(result.reasons.most_common())),
    }


def _checks(result: IngestResult) -> list[AssetCheckResult]:
    totals, unknown = result.totals, result.unknown
    return [
        AssetCheckResult(
            asset_key=RAW,
            check_name="rows_add_up",
            passed=result.adds_up,
            description=None
            if result.adds_up
            else f"{len(result.mismatched)} files' records differ from the rows read from them",
            metadata={
                **{
                    k: totals[k]
                    for k in (
                        "records",
                        "file_level_rows",
                        "read",
                        "kept",
                        "quarantined",
                        "duplicate",
                    )
                },
                "files_whose_rows_differ": MetadataValue.json(
                    dict(list(result.mismatched.items())[:50])
                ),
            },
        ),
        AssetCheckResult(
            asset_key=RAW,
            check_name="known_sensors",
            passed=not unknown,
            severity=AssetCheckSeverity.WARN,
            description=f"{len(unknown)} sensor ids are not in the building registry"
            if unknown
            else "every sensor id is in the building registry",
            metadata={"unknown_sensors": MetadataValue.json(dict(unknown.most_common(50)))},
        ),
    ]
