"""The Spark engine: the same group functions, run by executors on PySpark 3.5 and 4.x.

A stage's rows go from the source table's Parquet files (listed by delta-rs) to the executors,
through a per-group step (``group_apply``) and back to Parquet files the executors write; the
driver only lists files, commits them with delta-rs and collects each group's small summary.
pyspark is imported when the engine is first used, so importing this module starts no JVM.

Each group reaches ``fn`` as ``pyarrow.Table.to_pandas()`` of its rows, exactly as in the local
engine (``applyInPandas`` would hand over Spark's own pandas conversion, with naive timestamps).
The grouping is written on ``mapInArrow`` rather than ``groupBy().applyInArrow``: EMR 7 ships
Spark 3.5, which has no ``applyInArrow`` (new in 4.0), and one code path is tested on both.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, PrivateAttr

from snuk_assets.engines.base import (
    TARGET_DATE,
    ComputeEngine,
    GroupedStage,
    GroupFunction,
    StageResult,
    SummarizingGroupFunction,
    empty_frame,
    split_result,
    to_arrow,
)
from snuk_assets.lakehouse import DATE_COLUMN, Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The Arrow IPC bytes of a group's summary, on one extra row per group whose table columns
# are null: one pass over the groups gives both the rows and the summaries.
SUMMARY_COLUMN = "__snuk_summary"


class SparkEngine(ComputeEngine):
    """Runs each group on Spark executors; the session starts on first use.

    Dagster's ``PySparkResource`` is not used: it imports pyspark when its module is imported
    and starts the session for every run, while this engine must cost nothing until a stage
    runs (and the code location loads without a JVM).
    """

    master: str = Field(
        default="",
        description="Spark master URL; empty: SNUK_SPARK_MASTER, else local[2] (or "
        "spark-submit's --master).",
    )
    _session: SparkSession | None = PrivateAttr(default=None)

    @classmethod
    def on(cls, spark: SparkSession) -> SparkEngine:
        """An engine that runs on an existing session (a spark-submit entry point's)."""
        engine = cls()
        engine._session = spark
        return engine

    def session(self) -> SparkSession:
        """The session this engine runs on, started (with its JVM) on the first call."""
        if self._session is None:
            from snuk_assets.spark.session import spark_session

            self._session = spark_session("snuk", master=self.master or None)
        return self._session

    def apply_per_group(
        self,
        data: pd.DataFrame | pa.Table,
        *,
        key: str,
        fn: GroupFunction,
        output_schema: pa.Schema,
    ) -> pd.DataFrame:
        table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data)
        spark = self.session()
        rows = arrow_to_spark(spark, table)
        results = group_apply(rows, [key], _group_runner(fn, output_schema, None), output_schema)
        frame = spark_to_arrow(results, output_schema).to_pandas()
        # Each group's rows come from one task, in order: a stable sort keeps them so.
        return frame.sort_values(key, kind="stable", ignore_index=True)

    def _run_stage(self, lakehouse: Lakehouse, stage: GroupedStage) -> StageResult:
        from pyspark.sql import functions as F

        from snuk_assets.spark.delta_io import replace_partitions

        spark = self.session()
        rows = _read_slices(spark, lakehouse, stage.source, stage.slices, stage.columns)
        keys = [TARGET_DATE, stage.key] if stage.per_target_day else [stage.key]
        output_schema, summary_schema = stage.output_schema, stage.summary_schema
        packed = output_schema
        if summary_schema is not None:
            packed = output_schema.append(pa.field(SUMMARY_COLUMN, pa.binary()))
        results = group_apply(
            rows, keys, _group_runner(stage.fn, output_schema, summary_schema), packed
        )
        write = partial(
            replace_partitions,
            lakehouse=lakehouse,
            name=stage.target,
            dates=stage.target_dates,
            schema=output_schema,
        )
        if summary_schema is None:
            return StageResult(write(results), empty_frame(None))
        # Cached: the write and the summaries come from one run of the groups.
        results = results.persist()
        try:
            report = write(results.where(F.col(SUMMARY_COLUMN).isNull()))
            blobs = results.where(F.col(SUMMARY_COLUMN).isNotNull()).select(SUMMARY_COLUMN)
            summaries = [_from_ipc(row[0]) for row in blobs.collect()]
        finally:
            results.unpersist()
        summary = pa.concat_tables(summaries) if summaries else summary_schema.empty_table()
        return StageResult(report, summary.to_pandas())


def _read_slices(
    spark: SparkSession,
    lakehouse: Lakehouse,
    source: str,
    slices: dict[dt.date | None, list[dt.date]],
    columns: list[str] | None,
) -> DataFrame:
    """The source rows every slice reads; per target day, tagged with it in ``target_date``.

    A source day in several target days' windows is read once and joined to each of them.
    """
    from pyspark.sql import functions as F

    from snuk_assets.spark.delta_io import read_partitions

    days = sorted({day for source_days in slices.values() for day in source_days})
    if None in slices:
        return read_partitions(spark, lakehouse, source, dates=days, columns=columns)
    wanted = None if columns is None else list(dict.fromkeys([*columns, DATE_COLUMN]))
    rows = read_partitions(spark, lakehouse, source, dates=days, columns=wanted)
    windows = spark.createDataFrame(
        [(target_day, day) for target_day, days in slices.items() for day in days],
        f"{TARGET_DATE} date, {DATE_COLUMN} date",
    )
    tagged = rows.join(F.broadcast(windows), on=DATE_COLUMN)
    return tagged.select(*(columns or rows.columns), TARGET_DATE)


def _group_runner(
    fn: GroupFunction | SummarizingGroupFunction,
    output_schema: pa.Schema,
    summary_schema: pa.Schema | None,
) -> Callable[[pa.Table], pa.Table]:
    """``_run_group`` with the stage's function and schemas bound."""
    return partial(_run_group, fn=fn, output_schema=output_schema, summary_schema=summary_schema)


# -- grouping on every Spark line ------------------------------------------------------------
def group_apply(
    rows: DataFrame,
    keys: list[str],
    run: Callable[[pa.Table], pa.Table],
    output_schema: pa.Schema,
) -> DataFrame:
    """``run`` on the rows of each distinct ``keys`` (nulls a group of their own), on executors.

    What ``rows.groupBy(*keys).applyInArrow(run, schema)`` does on PySpark 4, on the API that
    PySpark 3.5 has as well: hash-partition by the keys (every row of a group in one task),
    sort each partition by them (Spark's sort spills to disk, as ``groupBy`` does) and cut the
    sorted Arrow batches of ``mapInArrow`` into groups. A group is in memory whole, as with
    ``applyInArrow``; a partition never is.

    Each group's table is cast to the Arrow types of ``rows``' Spark schema, and each result
    to those of ``output_schema`` as Spark maps it, so ``run`` sees, and Spark receives, the
    same types whichever line sends them (PySpark 4 may send large strings, for instance).
    """
    spark_schema = _spark_schema(output_schema)
    runner = partial(
        _run_sorted_groups,
        keys=keys,
        run=run,
        input_schema=_arrow_schema(rows.schema),
        result_schema=_arrow_schema(spark_schema),
    )
    return rows.repartition(*keys).sortWithinPartitions(*keys).mapInArrow(runner, spark_schema)


def _run_sorted_groups(
    batches: Iterator[pa.RecordBatch],
    *,
    keys: list[str],
    run: Callable[[pa.Table], pa.Table],
    input_schema: pa.Schema,
    result_schema: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    """Executor side: one partition's batches, sorted by ``keys``, cut into groups and run.

    A group may span batches: the rows of the last key of a batch wait for the next batch.
    """

    def flush(parts: list[pa.Table]) -> Iterator[pa.RecordBatch]:
        group = pa.concat_tables(parts).combine_chunks()
        yield from run(group).select(result_schema.names).cast(result_schema).to_batches()

    pending: list[pa.Table] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch]).select(input_schema.names).cast(input_schema)
        if pending and _key_at(pending[-1], keys, -1) != _key_at(table, keys, 0):
            yield from flush(pending)
            pending = []
        start = 0
        for end in _run_ends(table, keys):
            pending.append(table.slice(start, end - start))
            if end < table.num_rows:  # the last run may go on in the next batch
                yield from flush(pending)
                pending = []
            start = end
    if pending:
        yield from flush(pending)


def _run_ends(table: pa.Table, keys: list[str]) -> list[int]:
    """Where each run of equal ``keys`` ends in ``table`` (sorted by them); nulls are equal."""
    ends = [pc.run_end_encode(table[key].combine_chunks()).run_ends.to_numpy() for key in keys]
    return np.unique(np.concatenate(ends)).tolist()


def _key_at(table: pa.Table, keys: list[str], row: int) -> tuple:
    row = row % table.num_rows
    return tuple(table[key][row].as_py() for key in keys)


def arrow_to_spark(spark: SparkSession, table: pa.Table) -> DataFrame:
    """``table`` as a DataFrame with the same Arrow types: its batches travel as IPC blobs.

    ``spark.createDataFrame(table)`` is PySpark 4.0+, and a pandas frame would go through
    Spark's own pandas conversion (which PySpark 3.5 does not know for pandas 3).
    """
    table = table.cast(_spark_safe(table.schema))
    blobs = [(_to_ipc(pa.Table.from_batches([b], table.schema)),) for b in table.to_batches()]
    parts = spark.createDataFrame(blobs or [(_to_ipc(table),)], "ipc binary")
    return parts.mapInArrow(_unpack_ipc, _spark_schema(table.schema))


def spark_to_arrow(data: DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """The rows of ``data`` on the driver, as a table of ``schema`` (default: Spark's Arrow
    types for ``data``'s schema); they travel as IPC blobs, one a batch.

    ``DataFrame.toArrow()`` is PySpark 4.0+; this works on 3.5 as well.
    """
    schema = _arrow_schema(data.schema) if schema is None else schema
    blobs = data.mapInArrow(_pack_ipc, "ipc binary").collect()
    tables = [_from_ipc(row[0]) for row in blobs]
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()


def _unpack_ipc(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for blob in batch["ipc"].to_pylist():
            yield from _from_ipc(blob).to_batches()


def _pack_ipc(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        blob = _to_ipc(pa.Table.from_batches([batch]))
        yield pa.RecordBatch.from_arrays([pa.array([blob], pa.binary())], names=["ipc"])


def _run_group(
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
    blob = _to_ipc(to_arrow(summary, summary_schema))
    marker = pa.table(
        [pa.nulls(1, field.type) for field in table.schema], schema=table.schema
    ).append_column(SUMMARY_COLUMN, pa.array([blob], pa.binary()))
    table = table.append_column(SUMMARY_COLUMN, pa.nulls(table.num_rows, pa.binary()))
    return pa.concat_tables([table, marker])


def _spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    # Explicit: naive timestamps are TIMESTAMP_NTZ on both lines (3.5 defaults to False).
    return from_arrow_schema(_spark_safe(schema), prefer_timestamp_ntz=True)


def _arrow_schema(schema) -> pa.Schema:
    """The Arrow types Spark exchanges for the Spark schema ``schema``; timestamps in UTC.

    The one call whose signature differs between the lines: PySpark 4 takes the zone of
    timestamps as an argument, PySpark 3.5 always uses UTC (as the sessions do).
    """
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(schema, timezone="UTC")
    except TypeError:  # PySpark 3.5: no timezone argument
        return to_arrow_schema(schema)


def _spark_safe(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the types PySpark 3.5 cannot map (large and view strings) made plain."""
    from snuk_assets.spark.delta_io import _plain_schema

    return _plain_schema(schema)


def _to_ipc(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _from_ipc(blob: bytes) -> pa.Table:
    return pa.ipc.open_stream(blob).read_all()
