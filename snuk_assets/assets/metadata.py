"""What assets report the same way: a table write's metadata, and a stage's check verdict."""

from __future__ import annotations

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from snuk_assets.lakehouse import WriteReport
from snuk_assets.stages.resample import CheckVerdict


def table_metadata(write: WriteReport) -> dict[str, object]:
    """``dagster/row_count``, ``table_uri`` and ``delta_version`` of one table write."""
    return {
        "dagster/row_count": write.rows,
        "table_uri": MetadataValue.path(write.table_uri),
        "delta_version": write.version,
    }


def check_result(verdict: CheckVerdict) -> AssetCheckResult:
    """A stage's check verdict as Dagster's check result (dicts as JSON metadata)."""
    return AssetCheckResult(
        check_name=verdict.name,
        passed=verdict.passed,
        severity=AssetCheckSeverity.WARN if verdict.warn_only else AssetCheckSeverity.ERROR,
        description=verdict.description or None,
        metadata={
            key: MetadataValue.json(value) if isinstance(value, dict) else value
            for key, value in verdict.metadata.items()
        },
    )
