"""One way for the tests to run assets over a range of days, as ``snuk materialize`` does."""

from __future__ import annotations

import datetime as dt

from dagster import ExecuteInProcessResult, materialize

from snuk_assets.engines import LocalEngine
from snuk_assets.settings import SnukSettings


def materialize_days(
    assets: list,
    settings: SnukSettings,
    first: dt.date,
    last: dt.date,
    *,
    workers: int = 1,
    config: dict | None = None,
) -> ExecuteInProcessResult:
    """Materialize ``assets`` for the days ``first`` .. ``last`` in one run; it must succeed.

    The range goes in as the partition-range tags (one run, as a backfill's single-run policy
    gives), on a ``LocalEngine`` with ``workers`` processes.
    """
    result = materialize(
        assets,
        resources={"settings": settings, "engine": LocalEngine(max_workers=workers)},
        run_config=config,
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
    )
    assert result.success
    return result
