"""The engine interface: one stage's per-group work, run in-process or on Spark.

A stage reads partitions of one Delta table, runs a pandas function once per group of rows
(per sensor, per room), and replaces partitions of another table with the results. Asset code
describes that and calls ``engine.transform_partitions``; the engine decides where the rows
live. On Spark they never pass through the driver: only the per-group summaries do, which the
stage function makes small on purpose (they feed the asset's metadata).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

import pandas as pd
import pyarrow as pa
from dagster import ConfigurableResource

from snuk_assets.engines.grouped import (
    TARGET_DATE,
    GroupedStage,
    GroupFunction,
    SourceDates,
    StageResult,
    SummarizingGroupFunction,
    conform,
    empty_frame,
    split_result,
    to_arrow,
)
from snuk_assets.lakehouse import Lakehouse


class ComputeEngine(ConfigurableResource, ABC):
    """Runs transforms over groups of rows; asset code names the resource, never the engine."""

    @abstractmethod
    def apply_per_group(
        self,
        data: pd.DataFrame | pa.Table,
        *,
        key: str,
        fn: GroupFunction,
        output_schema: pa.Schema,
    ) -> pd.DataFrame:
        """``fn`` applied to the rows of each value of column ``key``, results concatenated.

        For small data already in memory (the Spark engine sends it through the driver).

        Parameters
        ----------
        data : pandas.DataFrame or pyarrow.Table
            The rows to split by ``key``.
        key : str
            The grouping column (e.g. ``room_id``).
        fn : callable
            ``fn(group: pandas.DataFrame) -> pandas.DataFrame``; a top-level function or a
            ``functools.partial`` of one, so it pickles into other processes.
        output_schema : pyarrow.Schema
            The columns and types every result has (Spark needs it up front).

        Returns
        -------
        pandas.DataFrame
            The results in the order of the sorted keys, with exactly ``output_schema``'s
            columns.
        """

    def transform_partitions(
        self,
        lakehouse: Lakehouse,
        *,
        source: str,
        source_dates: SourceDates,
        columns: list[str] | None = None,
        key: str,
        fn: GroupFunction | SummarizingGroupFunction,
        output_schema: pa.Schema,
        summary_schema: pa.Schema | None = None,
        target: str,
        target_dates: Sequence[dt.date],
        missing_ok: bool = False,
        parallel: bool = False,
    ) -> StageResult:
        """Read ``source``, run ``fn`` per group of ``key``, replace ``target``'s partitions.

        Parameters
        ----------
        lakehouse : Lakehouse
            Where both tables live.
        source : str
            The table read.
        source_dates : sequence of datetime.date, or mapping of date to dates
            The partitions of ``source`` read. A mapping gives each target day its own source
            days (e.g. a trailing training window): groups are then per target day and key,
            and each group's rows carry their target day in a ``target_date`` column.
        columns : list of str, optional
            The columns of ``source`` read (default all).
        key : str
            The grouping column; a null key is a group of its own.
        fn : callable
            ``fn(group: pandas.DataFrame)`` returns the group's rows of ``target`` (columns
            of ``output_schema``, ``date`` among them), or with ``summary_schema`` the pair
            ``(rows, summary)``. A top-level function or a ``functools.partial`` of one: it
            runs in other processes. ``group`` is the ``to_pandas()`` of the Arrow rows, in
            no particular order.
        output_schema : pyarrow.Schema
            ``target``'s columns and types; results are conformed to it.
        summary_schema : pyarrow.Schema, optional
            The columns of each group's summary rows: a few rows per group for the asset's
            metadata (counts, shares), collected on the driver.
        target : str
            The table written.
        target_dates : sequence of datetime.date
            The partitions of ``target`` replaced in one Delta commit (guarantees of
            ``Lakehouse.replace_partitions``); every result row's ``date`` must be one of them.
        missing_ok : bool, default False
            A ``source`` table that does not exist yet reads as no rows (the partitions become
            empty) instead of failing.
        parallel : bool, default False
            Each group takes long enough (seconds: training) to be worth a process of its
            own; the local engine then uses its worker pool. Spark always spreads groups.

        Returns
        -------
        StageResult
        """
        if missing_ok and not lakehouse.exists(source):
            write = lakehouse.replace_partitions(
                target, output_schema.empty_table(), dates=target_dates
            )
            return StageResult(write, empty_frame(summary_schema))
        slices = (
            {day: sorted(set(days)) for day, days in sorted(source_dates.items())}
            if isinstance(source_dates, Mapping)
            else {None: sorted(set(source_dates))}
        )
        stage = GroupedStage(
            source=source,
            slices=slices,
            columns=columns,
            key=key,
            fn=fn,
            output_schema=output_schema,
            summary_schema=summary_schema,
            target=target,
            target_dates=tuple(sorted(set(target_dates))),
            parallel=parallel,
        )
        return self._run_stage(lakehouse, stage)

    @abstractmethod
    def _run_stage(self, lakehouse: Lakehouse, stage: GroupedStage) -> StageResult:
        """``transform_partitions`` once the source exists."""


__all__ = [
    "TARGET_DATE",
    "ComputeEngine",
    "GroupFunction",
    "GroupedStage",
    "SourceDates",
    "StageResult",
    "SummarizingGroupFunction",
    "conform",
    "empty_frame",
    "split_result",
    "to_arrow",
]
