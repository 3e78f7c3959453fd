"""What every SNUK table follows, owned here: the ``date`` partition column and its checks, plain
string types, and the error for a table or column that is not there.

``lakehouse.py`` (delta-rs, on the driver) and ``engines/delta_io.py`` (Spark executors, which
must not import delta-rs: it panics in forked processes) both apply these rules; this module
imports pyarrow only, so both can. Errors: ``LakehouseError`` for a table that cannot be read as
asked (missing, or missing columns), ``ValueError`` for rows that do not fit the partitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

DATE_COLUMN = "date"
# A portfolio's tables (issue 22): partitioned by building, then day; written by
# ``Lakehouse.replace_partitions(..., building_id=...)`` and ``Lakehouse.migrate_to_buildings``.
BUILDING_COLUMN = "building_id"


class LakehouseError(RuntimeError):
    """A lakehouse table could not be read or written; the message says which and why."""


def missing_columns_error(table_uri: str, name: str, missing: Iterable[str]) -> LakehouseError:
    """The error for reading columns that table ``name`` lacks (written by an older SNUK)."""
    return LakehouseError(
        f"the Delta table {table_uri} has no columns {sorted(missing)}: it was written by an "
        f"older SNUK; materialize {name!r} again to add them"
    )


def check_partition_schema(schema: pa.Schema, name: str) -> None:
    """Raise unless ``schema`` has a ``date`` column of type date32 to partition by."""
    if DATE_COLUMN not in schema.names:
        raise ValueError(f"data for {name!r} has no {DATE_COLUMN!r} column to partition by")
    if schema.field(DATE_COLUMN).type != pa.date32():
        raise TypeError(
            f"the {DATE_COLUMN!r} column of {name!r} must be date32, "
            f"not {schema.field(DATE_COLUMN).type}"
        )


def building_schema(schema: pa.Schema) -> pa.Schema:
    """The columns of a building table written with ``schema``: ``building_id`` first (filled
    in by the write where the rows lack it)."""
    if BUILDING_COLUMN in schema.names:
        return schema
    return schema.insert(0, pa.field(BUILDING_COLUMN, pa.string()))


def check_building(table: pa.Table, building_id: str | None, name: str) -> None:
    """Raise if rows written as ``building_id``'s carry another ``building_id`` or a null."""
    if building_id is None or BUILDING_COLUMN not in table.schema.names or not table.num_rows:
        return
    values = table[BUILDING_COLUMN]
    if values.null_count or not pc.all(pc.equal(values, building_id)).as_py():
        raise ValueError(f"rows for {name!r} belong to other buildings than {building_id!r}")


def check_dates(dates: tuple[dt.date, ...], name: str) -> None:
    """Raise unless at least one partition is named."""
    if not dates:
        raise ValueError(f"replacing partitions of {name!r} needs at least one date")


@dataclass(frozen=True)
class RowBatches:
    """Rows to write as a stream of record batches, not one table in memory.

    ``batches`` makes the stream afresh on every call: a conflicting commit is retried, and
    each attempt writes all rows again. The rows are counted as they pass.
    """

    schema: pa.Schema
    batches: Callable[[], Iterator[pa.RecordBatch]]

    def checked_batches(self, dates: tuple[dt.date, ...], name: str) -> Iterator[pa.RecordBatch]:
        """The batches; one with a row outside ``dates`` stops the write."""
        for batch in self.batches():
            check_rows_within(pa.Table.from_batches([batch]), dates, name)
            yield batch


def check_rows_within(data: pa.Table, dates: tuple[dt.date, ...], name: str) -> None:
    """Raise unless every row of ``data`` has a non-null ``date`` among ``dates``."""
    check_dates(dates, name)
    check_partition_schema(data.schema, name)
    if data.num_rows == 0:
        return
    if data[DATE_COLUMN].null_count:
        raise ValueError(f"rows for {name!r} have a null {DATE_COLUMN!r}")
    outside = pc.invert(pc.is_in(data[DATE_COLUMN], value_set=pa.array(dates, pa.date32())))
    n_outside = pc.sum(outside).as_py() or 0
    if n_outside:
        sample = pc.filter(data[DATE_COLUMN], outside)[0].as_py()
        raise ValueError(
            f"{n_outside} rows for {name!r} have a date outside the partitions being replaced "
            f"({dates[0]} .. {dates[-1]}), e.g. {sample}"
        )


def _plain_type(kind: pa.DataType, *, large: bool) -> pa.DataType:
    if kind == pa.string_view() or (large and kind == pa.large_string()):
        return pa.string()
    if pa.types.is_list(kind):
        return pa.list_(_plain_type(kind.value_type, large=large))
    return kind


def plain_schema(schema: pa.Schema, *, large: bool = False) -> pa.Schema:
    """``schema`` with ``string`` for DataFusion's ``string_view``, inside lists too (pandas
    cannot convert ``list<string_view>``); with ``large``, for ``large_string`` as well (what
    Spark's Arrow conversion expects)."""
    return pa.schema([field.with_type(_plain_type(field.type, large=large)) for field in schema])


def plain_strings(table: pa.Table) -> pa.Table:
    """``table`` cast to ``plain_schema``: the same schema whichever engine read it."""
    schema = plain_schema(table.schema)
    return table if schema == table.schema else table.cast(schema)


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns of ``schema`` worth a dictionary in Parquet: all but the floats.

    A float column rarely repeats, and its dictionary encoder holds several times its values
    while a file is open (``Lakehouse.writer_properties``).
    """
    return [field.name for field in schema if not pa.types.is_floating(field.type)]
