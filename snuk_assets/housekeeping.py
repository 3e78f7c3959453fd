"""Housekeeping: a weekly ``vacuum`` of the lakehouse's replaced and orphaned files, after raw
observations past their retention (``SNUK_RAW_RETENTION_DAYS``, 90 days) are deleted.

Every partition replacement leaves the replaced Parquet files behind for time travel; a crashed
write can leave files no commit names. ``Lakehouse.vacuum`` deletes both once they are older than
Delta's retention (7 days by default, ``delta.deletedFileRetentionDuration``); the schedule runs
it on Sundays at 03:00 UTC, and ``snuk vacuum`` runs it by hand.
"""

from dagster import (
    DefaultScheduleStatus,
    MetadataValue,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)

from snuk_assets.settings import SnukSettings


@op(description="Delete Delta files past the retention that no version within it needs.")
def vacuum_lakehouse(context: OpExecutionContext, settings: SnukSettings) -> None:
    from snuk_assets.environment import raw_retention_days
    from snuk_assets.privacy import expire_raw

    # Raw observations first: SNUK_RAW_RETENTION_DAYS (90) arrival days are kept.
    expired = expire_raw(settings, retention_days=raw_retention_days())
    done = settings.lakehouse().vacuum()
    deleted = {name: len(files) for name, files in done.items() if not isinstance(files, str)}
    skipped = {name: reason for name, reason in done.items() if isinstance(reason, str)}
    for name, reason in skipped.items():
        context.log.warning(f"{name}: {reason}")
    context.add_output_metadata(
        {
            "files_deleted": MetadataValue.json(deleted),
            "tables_skipped": MetadataValue.json(skipped),
            "raw_expired": MetadataValue.json(expired),
        }
    )


@job(description="Vacuum every Delta table of the lakehouse (snuk vacuum).")
def vacuum_job() -> None:
    vacuum_lakehouse()


vacuum_schedule = ScheduleDefinition(
    name="weekly_vacuum",
    job=vacuum_job,
    cron_schedule="0 3 * * 0",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
