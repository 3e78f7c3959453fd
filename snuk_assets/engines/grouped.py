"""What a stage's groups are and what they return: the half of the engines that workers import.

Local worker processes and Spark executors unpickle group functions and run them through the
helpers here, so this module imports pandas and pyarrow only: never Dagster, never delta-rs.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from snuk_assets.lakehouse import WriteReport

GroupFunction = Callable[[pd.DataFrame], pd.DataFrame]
# With a summary, a group function returns (rows, summary rows).
SummarizingGroupFunction = Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
# Source dates given per target day: each group then holds one target day's rows, and this
# column says which day (see ``ComputeEngine.transform_partitions``).
TARGET_DATE = "target_date"
SourceDates = Sequence[dt.date] | Mapping[dt.date, Sequence[dt.date]]


@dataclass(frozen=True)
class StageResult:
    """What one ``transform_partitions`` call wrote, and the groups' summaries.

    ``summary`` concatenates every group's summary rows in no particular order (empty, with
    the summary schema's columns, when there were no groups or no summary was asked for).
    """

    write: WriteReport
    summary: pd.DataFrame


@dataclass(frozen=True)
class GroupedStage:
    """What ``transform_partitions`` was asked for, with the source days per slice.

    ``slices`` maps each target day (``None``: all target days at once) to the source days
    its groups read; the other fields are ``transform_partitions``' arguments.
    """

    source: str
    slices: dict[dt.date | None, list[dt.date]]
    columns: list[str] | None
    key: str
    fn: GroupFunction | SummarizingGroupFunction
    output_schema: pa.Schema
    summary_schema: pa.Schema | None
    target: str
    target_dates: tuple[dt.date, ...]
    parallel: bool

    @property
    def per_target_day(self) -> bool:
        return None not in self.slices


def to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as a table with exactly ``schema``'s columns and types (missing as nulls)."""
    # A missing column becomes typed nulls: reindexing would make it float NaN, which cannot
    # become e.g. list<string> (every room skipped as too sparse has no feature_names).
    columns = [
        pa.Array.from_pandas(frame[field.name], type=field.type)
        if field.name in frame.columns
        else pa.nulls(len(frame), type=field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def conform(frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """``frame`` with exactly ``schema``'s columns and types (missing columns as nulls)."""
    return to_arrow(frame, schema).to_pandas()


def empty_frame(schema: pa.Schema | None) -> pd.DataFrame:
    """No rows, with ``schema``'s columns (no columns without a schema)."""
    return pd.DataFrame() if schema is None else schema.empty_table().to_pandas()


def worker_ready(fn: Callable) -> None:
    """Nothing: unpickling ``fn`` in a spawned worker imported its module (and this one, which
    workers import anyway: a function of ``engines.local`` would bring Dagster and delta-rs)."""


def split_result(
    result: pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame], summary_schema: pa.Schema | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """A group function's result as ``(rows, summary)``; ``summary`` is None without a schema."""
    if summary_schema is None:
        return result, None
    rows, summary = result
    return rows, summary


# -- Spark's executor side --------------------------------------------------------------------
# The Arrow IPC bytes of a group's summary, on one extra row per group whose table columns
# are null: one pass over the groups gives both the rows and the summaries.
SUMMARY_COLUMN = "__snuk_summary"


def group_runner(
    fn: GroupFunction | SummarizingGroupFunction,
    output_schema: pa.Schema,
    summary_schema: pa.Schema | None,
) -> Callable[[pa.Table], pa.Table]:
    """``run_group`` for ``applyInArrow``, which needs a plain function with type hints (it
    picks the table or the batch-iterator form from them; a ``partial`` has none)."""

    def run(group: pa.Table) -> pa.Table:
        return run_group(group, fn=fn, output_schema=output_schema, summary_schema=summary_schema)

    return run


def run_group(
    group: pa.Table,
    *,
    fn: GroupFunction | SummarizingGroupFunction,
    output_schema: pa.Schema,
    summary_schema: pa.Schema | None,
) -> pa.Table:
    """Executor side: ``fn`` on one group; with a summary, one more row carrying it."""
    result = fn(group.to_pandas())
    rows, summary = split_result(result, summary_schema)
    table = to_arrow(rows, output_schema)
    if summary is None:
        return table
    blob = to_ipc(to_arrow(summary, summary_schema))
    marker = pa.table(
        [pa.nulls(1, field.type) for field in table.schema], schema=table.schema
    ).append_column(SUMMARY_COLUMN, pa.array([blob], pa.binary()))
    table = table.append_column(SUMMARY_COLUMN, pa.nulls(table.num_rows, pa.binary()))
    return pa.concat_tables([table, marker])


def to_ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def from_ipc(blob: bytes) -> pa.Table:
    return pa.ipc.open_stream(blob).read_all()
