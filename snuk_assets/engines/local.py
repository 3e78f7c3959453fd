"""The default engine: groups run in this process, or in a pool of spawned processes."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pyarrow as pa
from pydantic import Field

from snuk_assets.engines.base import ComputeEngine, GroupFunction, conform


class LocalEngine(ComputeEngine):
    """Runs each group in-process, or with ``max_workers`` > 1 in spawned worker processes.

    Workers are spawned, never forked: delta-rs panics in a forked copy of a process that
    already used it.
    """

    max_workers: int = Field(default=1, description="Processes for groups; 1 runs in-process.")

    def apply_per_group(
        self,
        data: pd.DataFrame | pa.Table,
        *,
        key: str,
        fn: GroupFunction,
        output_schema: pa.Schema,
    ) -> pd.DataFrame:
        frame = data.to_pandas() if isinstance(data, pa.Table) else data
        groups = [group for _, group in frame.groupby(key, sort=True)]
        if self.max_workers > 1 and len(groups) > 1:
            context = multiprocessing.get_context("spawn")
            workers = min(self.max_workers, len(groups))
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                results = list(pool.map(fn, groups))
        else:
            results = [fn(group) for group in groups]
        results = [conform(result, output_schema) for result in results]
        if not results:
            return output_schema.empty_table().to_pandas()
        return pd.concat(results, ignore_index=True)
