"""Delta tables of the lakehouse: read partitions, replace partitions atomically.

Every date-partitioned table has a ``date`` column (Delta type ``date``). A write names the
partitions it replaces; one Delta commit removes exactly those partitions' files and adds the new
ones, so other partitions are never touched, a rerun gives the same rows, and a reader sees either
the old or the new partition, never a mix. Concurrent writers of different partitions (a backfill
runs partitions in parallel) are serialised by Delta's optimistic concurrency: a conflicting
commit is retried.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
from deltalake import DeltaTable, QueryBuilder, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from snuk_assets.storage import Location, s3_storage_options
from snuk_assets.tables import (
    DATE_COLUMN,
    LakehouseError,
    check_rows_within,
    missing_columns_error,
    plain_strings,
)


@dataclass(frozen=True)
class WriteReport:
    """What one partition replacement did."""

    table_uri: str
    version: int
    rows: int
    dates: tuple[dt.date, ...]
    attempts: int


def date_ranges(dates: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Collapse dates into sorted, inclusive runs of consecutive days."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(dates)):
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def partition_predicate(dates: Iterable[dt.date]) -> str:
    """A Delta predicate that selects exactly ``dates`` (as runs of consecutive days)."""
    clauses = [
        f"{DATE_COLUMN} = '{first}'"
        if first == last
        else f"({DATE_COLUMN} >= '{first}' AND {DATE_COLUMN} <= '{last}')"
        for first, last in date_ranges(dates)
    ]
    if not clauses:
        raise ValueError("a partition predicate needs at least one date")
    return " OR ".join(clauses)


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, CommitFailedError):
        return True
    # A concurrent writer may create the table's first version between our check and commit.
    message = str(error).lower()
    return any(s in message for s in ("already exists", "conflict", "concurrent"))


class Lakehouse:
    """The Delta tables below one root URI (local folder or ``s3://bucket/prefix``).

    Each table lives at ``<root>/<name>``.
    """

    def __init__(self, root_uri: str, *, max_commit_attempts: int = 12):
        self.location = Location.parse(root_uri)
        self.storage_options = s3_storage_options() if self.location.is_s3 else None
        self.max_commit_attempts = max_commit_attempts

    @property
    def uri(self) -> str:
        return self.location.uri

    def table_uri(self, name: str) -> str:
        return self.location.join(name)

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(self.table_uri(name), storage_options=self.storage_options)

    def table(self, name: str) -> DeltaTable:
        try:
            return DeltaTable(self.table_uri(name), storage_options=self.storage_options)
        except TableNotFoundError as error:
            raise LakehouseError(
                f"the Delta table {self.table_uri(name)} does not exist yet: "
                f"materialize the asset {name!r} first"
            ) from error

    # -- writing -------------------------------------------------------------------------
    def replace_partitions(
        self, name: str, data: pa.Table, *, dates: Sequence[dt.date]
    ) -> WriteReport:
        """Replace the partitions ``dates`` of table ``name`` with ``data`` in one commit.

        ``data`` may be empty (the partitions become empty) but every row's ``date`` must be
        one of ``dates``. Partitions not named are left untouched. The table is created,
        partitioned by ``date``, on its first write.
        """
        dates = tuple(sorted(set(dates)))
        check_rows_within(data, dates, name)
        uri = self.table_uri(name)
        predicate = partition_predicate(dates)

        def write() -> None:
            if self.exists(name):
                write_deltalake(
                    uri,
                    data,
                    mode="overwrite",
                    predicate=predicate,
                    # A column added by a newer SNUK joins the table; older partitions read
                    # it as null until they are materialized again.
                    schema_mode="merge",
                    storage_options=self.storage_options,
                )
            else:
                write_deltalake(
                    uri,
                    data,
                    mode="error",
                    partition_by=[DATE_COLUMN],
                    storage_options=self.storage_options,
                )

        attempts = self.commit_with_retries(write, uri)
        version = self.table(name).version()
        return WriteReport(uri, version, data.num_rows, dates, attempts)

    def replace_table(self, name: str, data: pa.Table) -> WriteReport:
        """Overwrite a whole unpartitioned table (e.g. the building registry)."""
        uri = self.table_uri(name)

        def write() -> None:
            write_deltalake(
                uri,
                data,
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=self.storage_options,
            )

        attempts = self.commit_with_retries(write, uri)
        return WriteReport(uri, self.table(name).version(), data.num_rows, (), attempts)

    def commit_with_retries(self, write: Callable[[], None], uri: str) -> int:
        """Run ``write`` (one Delta commit) until it lands; a conflict is retried with backoff.

        Returns the number of attempts. Non-conflict errors, and the last conflict, raise
        ``LakehouseError`` naming ``uri``.
        """
        for attempt in range(1, self.max_commit_attempts + 1):
            try:
                write()
                return attempt
            except (CommitFailedError, DeltaError) as error:
                if not _is_retryable(error) or attempt == self.max_commit_attempts:
                    raise LakehouseError(f"writing {uri} failed: {error}") from error
                # Back off with jitter so parallel backfill runs stop colliding.
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # -- reading -------------------------------------------------------------------------
    def read(
        self,
        name: str,
        *,
        dates: Iterable[dt.date] | None = None,
        columns: list[str] | None = None,
        missing_ok: bool = False,
    ) -> pa.Table | None:
        """Rows of table ``name``, only from the partitions ``dates`` if given.

        With ``missing_ok``, a table that does not exist yet reads as ``None``.
        """
        if missing_ok and not self.exists(name):
            return None
        table = self.table(name)
        if columns:
            missing = sorted(set(columns) - set(pa.schema(table.schema()).names))
            if missing:
                raise missing_columns_error(self.table_uri(name), name, missing)
        select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = f"SELECT {select} FROM snuk_table"
        if dates is not None:
            wanted = sorted(set(dates))
            if not wanted:
                return _empty_result(table, columns)
            sql += f" WHERE {partition_predicate(wanted)}"
        # delta-rs's own query engine, not DeltaTable.to_pyarrow_table: the pyarrow dataset it
        # builds leaves scanner threads that abort the interpreter at exit now and then
        # (delta-rs issue 2184).
        result = QueryBuilder().register("snuk_table", table).execute(sql).read_all()
        return plain_strings(pa.table(result))


def _empty_result(table: DeltaTable, columns: list[str] | None) -> pa.Table:
    schema = pa.schema(table.schema())
    if columns:
        schema = pa.schema([schema.field(c) for c in columns])
    return schema.empty_table()


__all__ = ["DATE_COLUMN", "Lakehouse", "LakehouseError", "WriteReport"]
