"""Delta tables as Spark DataFrames, without delta-spark: files by Arrow, commits by delta-rs.

delta-spark's jars are not available everywhere SNUK runs (nor is hadoop-aws for ``s3://``), so
Spark never touches the Delta log or a Hadoop filesystem here. Reading lists the snapshot's
Parquet files with delta-rs on the driver and the executors read them with pyarrow; writing has
the executors write Parquet files with pyarrow, one per day and task, and the driver commits
them with delta-rs in one transaction that replaces exactly the named ``date`` partitions (the
guarantees of ``Lakehouse.replace_partitions``, including retries on a commit conflict).

A lakehouse scoped to a building (``Lakehouse.building_id``) is read and written as
``Lakehouse`` does it: files below ``building_id=<b>/date=<d>/``, only ``(b, d)`` replaced, and
reads of ``b``'s files only, without the ``building_id`` column.

deltalake is imported on the driver only, inside the functions that need it: delta-rs panics
in forked processes, and Spark's Python workers are forked.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from snuk_assets.tables import (
    BUILDING_COLUMN,
    DATE_COLUMN,
    building_schema,
    check_building,
    check_dates,
    check_partition_schema,
    check_rows_within,
    dictionary_columns,
    missing_columns_error,
    plain_schema,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from snuk_assets.lakehouse import Lakehouse, WriteReport

_FILE_LIST_DDL = "uri string, day string, building string"
_WRITTEN_SCHEMA = pa.schema(
    [("path", pa.string()), ("size", pa.int64()), ("day", pa.string()), ("rows", pa.int64())]
)


# -- reading ---------------------------------------------------------------------------------
def read_partitions(
    spark: SparkSession,
    lakehouse: Lakehouse,
    name: str,
    *,
    dates: Iterable[dt.date] | None = None,
    columns: list[str] | None = None,
) -> DataFrame:
    """Rows of Delta table ``name`` as a Spark DataFrame, only the partitions ``dates`` if given.

    The same rows and columns as ``Lakehouse.read(name, dates=dates, columns=columns)``, the
    scoped lakehouse's building's only; the snapshot is the table's version when this is called.
    """
    from snuk_assets.engines.spark_arrow import spark_schema

    table = lakehouse.table(name)
    building = lakehouse.building_to_read(name, table)
    schema = plain_schema(pa.schema(table.schema()), large=True)
    if columns:
        missing = sorted(set(columns) - set(schema.names))
        if missing:
            raise missing_columns_error(lakehouse.table_uri(name), name, missing)
        schema = pa.schema([schema.field(c) for c in columns])
    elif building is not None:
        schema = schema.remove(schema.get_field_index(BUILDING_COLUMN))
    wanted = None if dates is None else [day.isoformat() for day in sorted(set(dates))]
    filters = [] if building is None else [(BUILDING_COLUMN, "=", building)]
    if wanted is not None:
        filters.append((DATE_COLUMN, "in", wanted))
    uris = [] if wanted == [] else table.file_uris(file_pruning_predicate=filters or None)
    spark_types = spark_schema(schema)  # the same on PySpark 3.5 and 4
    if not uris:
        return spark.createDataFrame([], spark_types)
    files = [(uri, *_partition_values(uri, name)) for uri in uris]
    slices = min(len(files), 4 * spark.sparkContext.defaultParallelism)
    listing = spark.sparkContext.parallelize(files, numSlices=slices).toDF(_FILE_LIST_DDL)
    return listing.mapInArrow(
        partial(_read_files, schema=schema, s3_options=executor_s3_options(lakehouse)), spark_types
    )


def _partition_values(uri: str, name: str) -> tuple[str, str | None]:
    """The ``date`` and ``building_id`` (None if not partitioned by it) partition values of a
    data file, from its Hive-style folders."""
    values = dict(segment.split("=", 1) for segment in uri.split("/")[:-1] if "=" in segment)
    if DATE_COLUMN not in values:
        raise ValueError(
            f"data file {uri} of table {name!r} is not below a '{DATE_COLUMN}=YYYY-MM-DD' "
            "folder; only tables written by SNUK (partitioned by date, Hive-style paths) can "
            "be read here"
        )
    return values[DATE_COLUMN], values.get(BUILDING_COLUMN)


def _read_files(
    batches: Iterator[pa.RecordBatch], *, schema: pa.Schema, s3_options: dict[str, str] | None
) -> Iterator[pa.RecordBatch]:
    """Executor side: each listed file's rows, with ``date`` (and ``building_id`` in a table
    partitioned by it) from its partition values."""
    for batch in batches:
        listed = zip(
            batch["uri"].to_pylist(),
            batch["day"].to_pylist(),
            batch["building"].to_pylist(),
            strict=True,
        )
        for uri, day, building in listed:
            partition = {DATE_COLUMN: pa.scalar(dt.date.fromisoformat(day), pa.date32())}
            if building is not None:
                partition[BUILDING_COLUMN] = pa.scalar(building, pa.string())
            data_columns = [c for c in schema.names if c not in partition]
            filesystem, path = _filesystem(uri, s3_options)
            with pq.ParquetFile(path, filesystem=filesystem) as parquet:
                present = [c for c in data_columns if c in parquet.schema_arrow.names]
                table = parquet.read(columns=present)
            # A file written before a column joined the table: the column reads as null.
            for column in data_columns:
                if column not in present:
                    table = table.append_column(
                        schema.field(column), pa.nulls(table.num_rows, schema.field(column).type)
                    )
            for column, value in partition.items():
                if column in schema.names:
                    table = table.append_column(column, pa.repeat(value, table.num_rows))
            yield from table.select(schema.names).cast(schema).to_batches()


# -- writing ---------------------------------------------------------------------------------
def replace_partitions(
    data: DataFrame,
    lakehouse: Lakehouse,
    name: str,
    *,
    dates: Sequence[dt.date],
    schema: pa.Schema,
) -> WriteReport:
    """Replace the partitions ``dates`` of table ``name`` with the rows of ``data``, atomically.

    Parameters
    ----------
    data : pyspark.sql.DataFrame
        The new rows; it may be empty (the partitions become empty), but every row's ``date``
        must be one of ``dates`` (the executors check, and the write fails before any commit).
    lakehouse : Lakehouse
        Where table ``name`` lives (local folder or ``s3://``); created, partitioned by
        ``date`` (by ``building_id`` and ``date`` for a scoped lakehouse), on its first write.
    dates : sequence of datetime.date
        The partitions replaced; partitions not named are left untouched.
    schema : pyarrow.Schema
        The table's columns and types, ``date`` (date32) among them; the files are cast to it.

    Returns
    -------
    WriteReport
        As ``Lakehouse.replace_partitions`` returns it.
    """

    dates = tuple(sorted(set(dates)))
    check_dates(dates, name)
    check_partition_schema(schema, name)
    building = lakehouse.building_id
    partition_by = lakehouse.partition_columns_for(name, building)  # before any file is written
    table_uri = lakehouse.table_uri(name)
    write = partial(
        _write_files,
        table_uri=table_uri,
        schema=schema,
        dates=dates,
        name=name,
        building=building,
        s3_options=executor_s3_options(lakehouse),
    )
    written = (
        data.select(*schema.names)
        # Every row of a day in one task: one file per day, not one per day and upstream task.
        .repartition(DATE_COLUMN)
        .mapInArrow(write, "path string, size long, day string, rows long")
        .collect()
    )
    return _commit_files(
        lakehouse, name, written, schema=schema, dates=dates, partition_by=partition_by
    )


def _write_files(
    batches: Iterator[pa.RecordBatch],
    *,
    table_uri: str,
    schema: pa.Schema,
    dates: tuple[dt.date, ...],
    name: str,
    building: str | None,
    s3_options: dict[str, str] | None,
) -> Iterator[pa.RecordBatch]:
    """Executor side: write this task's rows as one Parquet file per day; yield what it wrote.

    Files follow the Delta convention: ``<table>/date=YYYY-MM-DD/part-....parquet`` (below
    ``building_id=<building>/`` for a building), without the partition columns.
    """
    filesystem, root = _filesystem(table_uri, s3_options)
    file_schema = _file_schema(schema, building)
    writers: dict[str, tuple[str, pq.ParquetWriter]] = {}
    rows: dict[str, int] = {}
    try:
        for batch in batches:
            table = pa.Table.from_batches([batch])
            check_rows_within(table, dates, name)
            check_building(table, building, name)
            days = pc.strftime(table[DATE_COLUMN], format="%Y-%m-%d")
            for day in pc.unique(days).to_pylist():
                part = table.filter(pc.equal(days, day)).drop_columns([DATE_COLUMN])
                if day not in writers:
                    path = _new_day_file(filesystem, root, day, building)
                    writer = pq.ParquetWriter(
                        f"{root}/{path}",
                        file_schema,
                        filesystem=filesystem,
                        compression="snappy",
                        use_dictionary=dictionary_columns(file_schema),
                    )
                    writers[day], rows[day] = (path, writer), 0
                writers[day][1].write_table(part.select(file_schema.names).cast(file_schema))
                rows[day] += part.num_rows
    finally:
        for _, writer in writers.values():
            writer.close()
    paths = [writers[day][0] for day in writers]
    sizes = [filesystem.get_file_info(f"{root}/{path}").size for path in paths]
    yield pa.RecordBatch.from_arrays(
        [
            pa.array(paths),
            pa.array(sizes, pa.int64()),
            pa.array(list(writers)),
            pa.array(list(rows.values()), pa.int64()),
        ],
        schema=_WRITTEN_SCHEMA,
    )


def _commit_files(
    lakehouse: Lakehouse,
    name: str,
    written: list,
    stats: list[dict] | None = None,
    *,
    schema: pa.Schema,
    dates: tuple[dt.date, ...],
    partition_by: list[str],
    metadata: dict[str, str] | None = None,
) -> WriteReport:
    """Commit the ``written`` files (of the lakehouse's building, if scoped) in place of the
    partitions ``dates``, retried on a conflict; what was written."""
    from snuk_assets.lakehouse import WriteReport

    building = lakehouse.building_id
    commit = partial(
        _commit,
        lakehouse,
        name,
        actions=_add_actions(written, stats, building=building),
        schema=schema,
        dates=dates,
        partition_by=partition_by,
        building=building,
        metadata=metadata,
    )
    table_uri = lakehouse.table_uri(name)
    attempts = lakehouse.commit_with_retries(commit, table_uri)
    rows = sum(row["rows"] for row in written)
    return WriteReport(table_uri, lakehouse.table(name).version(), rows, dates, attempts)


def _add_actions(
    written: list, stats: list[dict] | None = None, *, building: str | None = None
) -> list:
    """Add actions of the ``written`` files (of ``building``, if any), with further statistics
    per file if given."""
    from deltalake.transaction import AddAction

    now_ms = int(time.time() * 1000)
    partition = {} if building is None else {BUILDING_COLUMN: building}
    return [
        AddAction(
            path=row["path"],
            size=row["size"],
            partition_values={**partition, DATE_COLUMN: row["day"]},
            modification_time=now_ms,
            data_change=True,
            stats=json.dumps({"numRecords": row["rows"], **further}),
        )
        for row, further in zip(written, stats or [{}] * len(written), strict=True)
    ]


def _commit(
    lakehouse: Lakehouse,
    name: str,
    *,
    actions: list,
    schema: pa.Schema,
    dates: tuple[dt.date, ...],
    partition_by: list[str],
    building: str | None = None,
    metadata: dict[str, str] | None = None,
) -> None:
    """One Delta commit: remove every file of ``dates`` (``building``'s only, if given), add
    ``actions``' files; ``partition_by`` as ``Lakehouse.partition_columns_for`` found it."""
    from deltalake import CommitProperties, DeltaTable

    filters = [(DATE_COLUMN, "in", [day.isoformat() for day in dates])]
    if building is not None:
        schema = building_schema(schema)
        filters.insert(0, (BUILDING_COLUMN, "=", building))
    if not lakehouse.exists(name):
        # A concurrent first writer may win this race: "ignore" keeps its table.
        DeltaTable.create(
            lakehouse.table_uri(name),
            schema,
            mode="ignore",
            partition_by=partition_by,
            storage_options=lakehouse.storage_options,
        )
    lakehouse.table(name).create_write_transaction(
        actions,
        mode="overwrite",
        schema=schema,
        partition_by=partition_by,
        partition_filters=filters,
        commit_properties=None if metadata is None else CommitProperties(custom_metadata=metadata),
    )


# -- the local engine's write ----------------------------------------------------------------
DayRows = Callable[[], Iterator[pa.RecordBatch]]


def replace_partitions_by_day(
    lakehouse: Lakehouse,
    name: str,
    days: Mapping[dt.date, DayRows],
    *,
    dates: Sequence[dt.date],
    schema: pa.Schema,
) -> WriteReport:
    """Replace the partitions ``dates`` of table ``name`` with each day's rows, in one commit.

    ``days`` gives the rows of each day that has any (a day not named becomes empty), as a
    function making a stream of batches. The days are written one after another, one Parquet
    file each, so memory holds one day's rows: delta-rs' own writer keeps every partition's
    file open until the commit, hundreds of MiB for a wide table over months. The commit is
    ``Lakehouse.replace_partitions``': the same guarantees, retries and commit info.
    """
    from snuk_assets.lakehouse import commit_metadata

    dates = tuple(sorted(set(dates)))
    check_dates(dates, name)
    check_partition_schema(schema, name)
    building = lakehouse.building_id
    partition_by = lakehouse.partition_columns_for(name, building)  # before any file is written
    table_uri = lakehouse.table_uri(name)
    filesystem, root = _filesystem(table_uri, executor_s3_options(lakehouse))
    day_file = partial(
        _write_day, filesystem, root, schema=schema, dates=dates, name=name, building=building
    )
    written = [day_file(day, rows) for day, rows in sorted(days.items())]
    written = [row for row in written if row["rows"]]
    return _commit_files(
        lakehouse,
        name,
        written,
        [row.pop("stats") for row in written],
        schema=schema,
        dates=dates,
        partition_by=partition_by,
        metadata=commit_metadata(dates, building_id=building),
    )


def _write_day(
    filesystem: pafs.FileSystem,
    root: str,
    day: dt.date,
    rows: DayRows,
    *,
    schema: pa.Schema,
    dates: tuple[dt.date, ...],
    name: str,
    building: str | None,
) -> dict:
    """One day's rows as one Parquet file (a single row group, as delta-rs writes them)."""
    table = pa.Table.from_batches(list(rows()), schema=schema)
    check_rows_within(table, dates, name)
    check_building(table, building, name)
    if pc.any(pc.not_equal(table[DATE_COLUMN], pa.scalar(day, pa.date32()))).as_py():
        raise ValueError(f"rows for {name!r} given as {day}'s have another {DATE_COLUMN!r}")
    file_schema = _file_schema(schema, building)
    table = table.select(file_schema.names).cast(file_schema)
    path = _new_day_file(filesystem, root, day.isoformat(), building)
    pq.write_table(
        table,
        f"{root}/{path}",
        filesystem=filesystem,
        compression="snappy",
        row_group_size=max(table.num_rows, 1),
        use_dictionary=dictionary_columns(file_schema),
    )
    size = filesystem.get_file_info(f"{root}/{path}").size
    return {
        "path": path,
        "size": size,
        "day": day.isoformat(),
        "rows": table.num_rows,
        "stats": _key_stats(table),
    }


def _file_schema(schema: pa.Schema, building: str | None) -> pa.Schema:
    """A partition file's columns: the table's without the partition columns (Delta
    convention): ``date``, and ``building_id`` when the files are a building's."""
    partition = {DATE_COLUMN} if building is None else {DATE_COLUMN, BUILDING_COLUMN}
    return pa.schema([field for field in schema if field.name not in partition])


def _new_day_file(filesystem: pafs.FileSystem, root: str, day: str, building: str | None) -> str:
    """A new Parquet file of ``day`` (of ``building``, if any): its path relative to the table
    ``root`` (folder made)."""
    folder = f"{DATE_COLUMN}={day}"
    if building is not None:
        folder = f"{BUILDING_COLUMN}={building}/{folder}"
    filesystem.create_dir(f"{root}/{folder}", recursive=True)
    return f"{folder}/part-00000-{uuid.uuid4()}-c000.snappy.parquet"


def _key_stats(table: pa.Table) -> dict:
    """Delta file statistics of the string and integer columns (what key ranges are read
    by), so delta-rs skips files as it does for its own; other columns have none."""
    keys = [
        f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_integer(f.type)
    ]
    bounds = {name: pc.min_max(table[name]) for name in keys}
    return {
        "minValues": {n: b["min"].as_py() for n, b in bounds.items() if b["min"].is_valid},
        "maxValues": {n: b["max"].as_py() for n, b in bounds.items() if b["max"].is_valid},
        "nullCount": {n: table[n].null_count for n in keys},
    }


# -- both sides ------------------------------------------------------------------------------
def executor_s3_options(lakehouse: Lakehouse) -> dict[str, str] | None:
    """What executors are told about S3: the region and the endpoint, never a credential.

    Every option here travels inside the task functions Spark serializes to its executors
    (and into whatever logs or dumps a task), so keys, secrets and session tokens stay out:
    executors take theirs from their own environment or instance profile (EMR's
    ``EMR_EC2_DefaultRole``; in local mode the driver's environment when the JVM started).
    """
    options = lakehouse.storage_options
    if options is None:
        return None
    return {k: options[k] for k in ("AWS_REGION", "AWS_ENDPOINT_URL") if options.get(k)}


def _filesystem(uri: str, s3_options: dict[str, str] | None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path on it of a local path or ``s3://`` URI.

    ``s3_options`` (``executor_s3_options``) name the region and the endpoint: executors may
    have started before the driver's environment named them (a test's moto server) and must
    reach the same endpoint. Credentials come from the executor's own AWS credential chain
    (environment, profile, instance profile), never from the task.
    """
    if not uri.startswith("s3://"):
        return pafs.LocalFileSystem(), uri.removeprefix("file://")
    s3_options = s3_options or {}
    options: dict[str, str] = {"region": s3_options.get("AWS_REGION", "us-east-1")}
    endpoint = s3_options.get("AWS_ENDPOINT_URL")
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options.update(scheme=scheme, endpoint_override=host.rstrip("/"))
    return pafs.S3FileSystem(**options), uri.removeprefix("s3://")
