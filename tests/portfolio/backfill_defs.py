"""A code location for the backfill experiment of issue 22: one asset over (building x day).

The partitions are the design's: a dynamic ``building`` dimension beside SNUK's daily ``date``
(UTC, from 2016-06-01), with ``BackfillPolicy.single_run()``. Each run writes the partition keys
it was given to ``<instance root>/pairs/<run id>.json``, so the test sees what a stage would.
"""

# No ``from __future__ import annotations``: Dagster checks the context's type hint as a class.
import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    asset,
)

buildings = DynamicPartitionsDefinition(name="buildings")
building_days = MultiPartitionsDefinition(
    {
        "building": buildings,
        "date": DailyPartitionsDefinition(start_date="2016-06-01", end_date="2016-07-01"),
    }
)


@asset(partitions_def=building_days, backfill_policy=BackfillPolicy.single_run())
def portfolio_stage(context: AssetExecutionContext) -> None:
    """Records the (building, date) pairs of its run."""
    pairs = [
        [key.keys_by_dimension["building"], key.keys_by_dimension["date"]]
        for key in context.partition_keys
    ]
    folder = Path(context.instance.root_directory) / "pairs"
    folder.mkdir(exist_ok=True)
    (folder / f"{context.run.run_id}.json").write_text(json.dumps(sorted(pairs)))


defs = Definitions(assets=[portfolio_stage])
