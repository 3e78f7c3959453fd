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
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
from pydantic import Field, PrivateAttr

from snuk_assets.engines.base import ComputeEngine
from snuk_assets.engines.grouped import (
    SUMMARY_COLUMN,
    TARGET_DATE,
    GroupedStage,
    GroupFunction,
    StageResult,
    empty_frame,
    from_ipc,
    group_runner,
)
from snuk_assets.engines.spark_arrow import arrow_to_spark, group_apply, spark_to_arrow
from snuk_assets.lakehouse import DATE_COLUMN, Lakehouse

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


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
            from snuk_assets.engines.spark_session import spark_session

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
        results = group_apply(rows, [key], group_runner(fn, output_schema, None), output_schema)
        frame = spark_to_arrow(results, output_schema).to_pandas()
        # Each group's rows come from one task, in order: a stable sort keeps them so.
        return frame.sort_values(key, kind="stable", ignore_index=True)

    def _run_stage(self, lakehouse: Lakehouse, stage: GroupedStage) -> StageResult:
        from pyspark.sql import functions as F

        from snuk_assets.engines.delta_io import replace_partitions

        spark = self.session()
        rows = _read_slices(spark, lakehouse, stage.source, stage.slices, stage.columns)
        keys = [TARGET_DATE, stage.key] if stage.per_target_day else [stage.key]
        output_schema, summary_schema = stage.output_schema, stage.summary_schema
        packed = output_schema
        if summary_schema is not None:
            packed = output_schema.append(pa.field(SUMMARY_COLUMN, pa.binary()))
        results = group_apply(
            rows, keys, group_runner(stage.fn, output_schema, summary_schema), packed
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
            summaries = [from_ipc(row[0]) for row in blobs.collect()]
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

    from snuk_assets.engines.delta_io import read_partitions

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
