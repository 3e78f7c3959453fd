"""Housekeeping: a weekly ``vacuum`` of the lakehouse's replaced and orphaned files, after raw
observations past their retention (``SNUK_RAW_RETENTION_DAYS``, 90 days) are deleted and the
appended tables' small files are compacted.

Every partition replacement leaves the replaced Parquet files behind for time travel; a crashed
write can leave files no commit names. ``Lakehouse.vacuum`` deletes both once they are older than
Delta's retention (7 days by default, ``delta.deletedFileRetentionDuration``); the schedule runs
it on Sundays at 03:00 UTC, and ``snuk vacuum`` runs it by hand. The tables appended to a few
rows at a time (``APPENDED_TABLES``) replace nothing, so there vacuum has nothing to delete while
their files grow by one a commit: they are compacted first, and the merged files are vacuumed
once past the retention.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from dagster import (
    DefaultScheduleStatus,
    MetadataValue,
    OpExecutionContext,
    ScheduleDefinition,
    job,
    op,
)

from snuk_assets.settings import SnukSettings

# control_commands: one append a bin and building; live_room_forecasts: the live service
# compacts it every day of appends, but only while one process runs that long.
APPENDED_TABLES = ("control_commands", "live_room_forecasts")


def compact_appended(lakehouse, *, dry_run: bool = False) -> dict[str, int]:
    """Compact each of ``APPENDED_TABLES`` that exists; the files merged per table."""
    return {
        name: lakehouse.compact(name, dry_run=dry_run)
        for name in APPENDED_TABLES
        if lakehouse.exists(name)
    }


@dataclass
class VacuumReport:
    """What ``vacuum_everything`` did (with ``dry_run``, would do)."""

    raw_retention_days: int
    # expire_raw's: rows per raw table, "landing files", and the "cutoff" day (ISO)
    expired: dict[str, int | str]
    compacted: dict[str, int] = field(default_factory=dict)  # files merged per appended table
    vacuumed: dict[str, list[str] | str] = field(default_factory=dict)  # Lakehouse.vacuum's


def vacuum_everything(
    settings: SnukSettings,
    *,
    retention_hours: int | None = None,
    dry_run: bool = False,
    on_expired: Callable[[VacuumReport], None] | None = None,
) -> VacuumReport:
    """Expire raw observations, compact ``APPENDED_TABLES``, then vacuum every table: the
    weekly vacuum and ``snuk vacuum``, on whole tables (every building of a portfolio).

    ``retention_hours`` is the vacuum's (None: each table's Delta retention, 7 days).
    ``on_expired(report)`` is called once the raw data is expired, before the compaction and
    the vacuum, which may fail (``LakehouseError``): ``snuk vacuum`` reports the expiry either
    way.
    """
    from snuk_assets.environment import raw_retention_days
    from snuk_assets.lakehouse import Lakehouse
    from snuk_assets.privacy import expire_raw

    # Raw observations first: SNUK_RAW_RETENTION_DAYS (90) arrival days are kept.
    retention_days = raw_retention_days()
    expired = expire_raw(settings, retention_days=retention_days, dry_run=dry_run)
    report = VacuumReport(raw_retention_days=retention_days, expired=expired)
    if on_expired is not None:
        on_expired(report)
    lakehouse = Lakehouse(settings.lakehouse_uri)  # whole tables: every building of a portfolio
    report.compacted = compact_appended(lakehouse, dry_run=dry_run)
    report.vacuumed = lakehouse.vacuum(retention_hours=retention_hours, dry_run=dry_run)
    return report


@op(description="Delete Delta files past the retention that no version within it needs.")
def vacuum_lakehouse(context: OpExecutionContext, settings: SnukSettings) -> None:
    report = vacuum_everything(settings)
    done = report.vacuumed
    deleted = {name: len(files) for name, files in done.items() if not isinstance(files, str)}
    skipped = {name: reason for name, reason in done.items() if isinstance(reason, str)}
    for name, reason in skipped.items():
        context.log.warning(f"{name}: {reason}")
    context.add_output_metadata(
        {
            "files_deleted": MetadataValue.json(deleted),
            "tables_skipped": MetadataValue.json(skipped),
            "raw_expired": MetadataValue.json(report.expired),
            "files_compacted": MetadataValue.json(report.compacted),
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
