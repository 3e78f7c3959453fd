"""The default engine: groups run in this process, or in a pool of spawned processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pyarrow as pa
from pydantic import Field

from snuk_assets.engines.base import ComputeEngine
from snuk_assets.engines.grouped import (
    TARGET_DATE,
    GroupedStage,
    GroupFunction,
    StageResult,
    empty_frame,
    split_result,
    to_arrow,
)
from snuk_assets.lakehouse import Lakehouse


class LocalEngine(ComputeEngine):
    """Runs each group in-process, or with ``max_workers`` > 1 in spawned worker processes.

    Workers are spawned, never forked: delta-rs panics in a forked copy of a process that
    already used it. A pool is started per call and its workers import the group function's
    module, which pays off for slow groups (training) only: ``transform_partitions`` uses it
    when the stage says its groups are slow (``parallel=True``).
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
        results = self._map(fn, _groups(frame, [key]))
        return _concat([to_arrow(r, output_schema) for r in results], output_schema).to_pandas()

    def _run_stage(self, lakehouse: Lakehouse, stage: GroupedStage) -> StageResult:
        rows, summaries = [], []
        # One target day's slice at a time, so trailing windows are never all in memory.
        for target_day, source_days in stage.slices.items():
            frame = _read_slice(lakehouse, stage.source, source_days, stage.columns, target_day)
            keys = [stage.key] if target_day is None else [TARGET_DATE, stage.key]
            for result in self._map(stage.fn, _groups(frame, keys), parallel=stage.parallel):
                group_rows, summary = split_result(result, stage.summary_schema)
                rows.append(to_arrow(group_rows, stage.output_schema))
                if summary is not None:
                    summaries.append(to_arrow(summary, stage.summary_schema))
        table = _concat(rows, stage.output_schema)
        write = lakehouse.replace_partitions(stage.target, table, dates=stage.target_dates)
        if stage.summary_schema is None:
            return StageResult(write, empty_frame(None))
        return StageResult(write, _concat(summaries, stage.summary_schema).to_pandas())

    def _map(self, fn: Callable, groups: list[pd.DataFrame], *, parallel: bool = True) -> list:
        """``fn`` of each group, in order: in this process or in spawned workers."""
        if parallel and self.max_workers > 1 and len(groups) > 1:
            context = multiprocessing.get_context("spawn")
            workers = min(self.max_workers, len(groups))
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                return list(pool.map(fn, groups))
        return [fn(group) for group in groups]


def _read_slice(
    lakehouse: Lakehouse,
    source: str,
    source_days: Sequence[dt.date],
    columns: list[str] | None,
    target_day: dt.date | None,
) -> pd.DataFrame:
    """The source rows of one slice; with a target day, tagged with it in ``target_date``."""
    table = lakehouse.read(source, dates=source_days, columns=columns)
    if target_day is not None:
        day = pa.scalar(target_day, pa.date32())
        table = table.append_column(TARGET_DATE, pa.repeat(day, table.num_rows))
    return table.to_pandas()


def _groups(frame: pd.DataFrame, keys: list[str]) -> list[pd.DataFrame]:
    """The rows of each key in sorted key order; null keys form a group, as on Spark."""
    if frame.empty:
        return []
    by = keys[0] if len(keys) == 1 else keys
    return [group for _, group in frame.groupby(by, sort=True, dropna=False)]


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()
