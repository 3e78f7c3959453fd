"""Arrow between Spark and SNUK on both Spark lines (3.5, which EMR 7 ships, and 4.x).

What PySpark 4 has and 3.5 lacks, written on what both have: ``groupBy().applyInArrow``
(``group_apply``: hash-partition, sort, ``mapInArrow``), ``createDataFrame(pyarrow.Table)`` and
``DataFrame.toArrow()`` (``arrow_to_spark``, ``spark_to_arrow``: Arrow IPC blobs). The Arrow
types are pinned on both lines: timestamps in UTC microseconds, plain strings.

Executors unpickle the functions here: this module imports numpy, pyarrow and the engines'
Dagster-free half (``engines.grouped``; pyspark inside the driver-side functions), never
Dagster or delta-rs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.engines.grouped import from_ipc, to_ipc
from snuk_assets.tables import plain_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


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
    spark_types = spark_schema(output_schema)
    runner = partial(
        _run_sorted_groups,
        keys=keys,
        run=run,
        input_schema=arrow_schema(rows.schema),
        result_schema=arrow_schema(spark_types),
    )
    return rows.repartition(*keys).sortWithinPartitions(*keys).mapInArrow(runner, spark_types)


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
    Spark's own pandas conversion, which differs between the lines.
    """
    table = table.cast(spark_safe_schema(table.schema))
    blobs = [(to_ipc(pa.Table.from_batches([b], table.schema)),) for b in table.to_batches()]
    parts = spark.createDataFrame(blobs or [(to_ipc(table),)], "ipc binary")
    return parts.mapInArrow(_unpack_ipc, spark_schema(table.schema))


def spark_to_arrow(data: DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    """The rows of ``data`` on the driver, as a table of ``schema`` (default: Spark's Arrow
    types for ``data``'s schema); they travel as IPC blobs, one a batch.

    ``DataFrame.toArrow()`` is PySpark 4.0+; this works on 3.5 as well.
    """
    schema = arrow_schema(data.schema) if schema is None else schema
    blobs = data.mapInArrow(_pack_ipc, "ipc binary").collect()
    tables = [from_ipc(row[0]) for row in blobs]
    return pa.concat_tables([t.cast(schema) for t in tables]) if tables else schema.empty_table()


def _unpack_ipc(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for blob in batch["ipc"].to_pylist():
            yield from from_ipc(blob).to_batches()


def _pack_ipc(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        blob = to_ipc(pa.Table.from_batches([batch]))
        yield pa.RecordBatch.from_arrays([pa.array([blob], pa.binary())], names=["ipc"])


def arrow_schema(schema) -> pa.Schema:
    """The Arrow types Spark exchanges for the Spark schema ``schema``; timestamps in UTC.

    The one call whose signature differs between the lines: PySpark 4 takes the zone of
    timestamps as an argument, PySpark 3.5 always uses UTC (as the sessions do).
    """
    from pyspark.sql.pandas.types import to_arrow_schema

    try:
        return to_arrow_schema(schema, timezone="UTC")
    except TypeError:  # PySpark 3.5: no timezone argument
        return to_arrow_schema(schema)


def spark_safe_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with large and view strings as plain strings, the type Spark exchanges."""
    return plain_schema(schema, large=True)


def spark_schema(schema: pa.Schema):
    """The Spark schema of the Arrow ``schema``, the same on PySpark 3.5 and 4."""
    from pyspark.sql.pandas.types import from_arrow_schema

    # Explicit: naive timestamps are TIMESTAMP_NTZ on both lines (3.5 defaults to False).
    return from_arrow_schema(spark_safe_schema(schema), prefer_timestamp_ntz=True)
