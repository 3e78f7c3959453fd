"""Delta tables of the lakehouse: read partitions, replace partitions atomically.

Every date-partitioned table has a ``date`` column (Delta type ``date``). A write names the
partitions it replaces; one Delta commit removes exactly those partitions' files and adds the new
ones, so other partitions are never touched, a rerun gives the same rows, and a reader sees either
the old or the new partition, never a mix. Concurrent writers of different partitions (a backfill
runs partitions in parallel) are serialised by Delta's optimistic concurrency: a conflicting
commit is retried.

An ingest writes two tables, ``quarantined_observations`` and ``raw_observations``; Delta has no
transaction over two tables, so a commit protocol makes the pair atomic
(:meth:`Lakehouse.replace_partitions_together`): the follower (quarantine) is committed first,
the commit point (raw) last, both carrying the same ingest id and dates in their commit info. A
follower's write counts only once its commit point holds the same ingest id: ``read`` of a
follower serves each date at its latest committed write, so a run killed between the two
commits leaves both tables as they were, to every reader through this class.

A portfolio's table (issue 22) is partitioned by ``building_id`` and then ``date``: a write
names its building (``replace_partitions(..., building_id=...)``) and replaces exactly that
building's named days, never another building's files. A table written before buildings is
rewritten once as one building's (``migrate_to_buildings``, ``snuk migrate``); until then a
write that names a building is refused, and the other way round.

A lakehouse may be scoped to one building (``Lakehouse(uri, building_id=b)``, what
``SnukSettings.lakehouse()`` returns): its writes are ``b``'s, its reads of a building table
serve ``b``'s rows without the ``building_id`` column, so a stage sees the schema it had
before buildings. A scope on the class, not a wrapping view: the engines and the stages pass
one ``Lakehouse`` around (into spawned workers, into ``engines/delta_io.py``), and a view would
have to forward every method and attribute they use.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import random
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from deltalake import (
    ColumnProperties,
    CommitProperties,
    DeltaTable,
    QueryBuilder,
    WriterProperties,
    write_deltalake,
)
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from snuk_assets.storage import Location, s3_storage_options
from snuk_assets.tables import (
    BUILDING_COLUMN,
    DATE_COLUMN,
    LakehouseError,
    RowBatches,
    building_schema,
    check_building,
    check_dates,
    check_partition_schema,
    check_rows_within,
    dictionary_columns,
    missing_columns_error,
    plain_schema,
    plain_strings,
)

# Follower table -> its commit point: a follower's write is visible once the commit point has
# a write with the same ingest id (see replace_partitions_together).
COMMIT_POINTS = {"quarantined_observations": "raw_observations"}
_INGEST_ID = "snuk.ingest_id"
_DATES = "snuk.dates"
_BUILDING = "snuk.building_id"


def writer_properties(schema: pa.Schema) -> WriterProperties:
    """Parquet settings of a partition write: float columns without dictionary encoding.

    delta-rs keeps every date partition's Parquet writer open until the commit, and a float
    column's dictionary encoder holds several times its values (feature_windows' 79 columns
    cost about 23 MiB per open date, 2 GB for 90 days; plain encoding about a third of that,
    and the files come out smaller: floats rarely repeat). Other columns (keys, strings, dates)
    keep the dictionary, where it pays. SNUK's own Parquet writers (engines/delta_io.py) follow
    the same rule through ``dictionary_columns``.
    """
    plain = ColumnProperties(dictionary_enabled=False)
    keep = set(dictionary_columns(schema))
    return WriterProperties(
        compression="SNAPPY",
        column_properties={field.name: plain for field in schema if field.name not in keep},
    )


def commit_metadata(
    dates: Sequence[dt.date], *, ingest_id: str | None = None, building_id: str | None = None
) -> dict[str, str]:
    """The commit info of a partition replacement: its dates, and its ingest's id and its
    building if any."""
    metadata = {_DATES: json.dumps([d.isoformat() for d in sorted(set(dates))])}
    if ingest_id is not None:
        metadata[_INGEST_ID] = ingest_id
    if building_id is not None:
        metadata[_BUILDING] = building_id
    return metadata


@dataclass(frozen=True)
class WriteReport:
    """What one partition replacement did."""

    table_uri: str
    version: int
    rows: int
    dates: tuple[dt.date, ...]
    attempts: int


@dataclass(frozen=True)
class KeyRange:
    """The rows whose ``column`` lies in ``[first, last]``, or with both None, is null.

    Keys are strings or integers, compared as SQL (and Arrow) compare them: strings by their
    UTF-8 bytes.
    """

    column: str
    first: str | int | None
    last: str | int | None

    def predicate(self) -> str:
        column = f'"{self.column}"'
        if self.first is None and self.last is None:
            return f"{column} IS NULL"
        return f"({column} >= {_literal(self.first)} AND {column} <= {_literal(self.last)})"


def _literal(value: str | int | None) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"a key range needs string or integer keys, not {value!r}")


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


def building_partition_predicate(pairs: Iterable[tuple[str, dt.date]]) -> str:
    """A Delta predicate that selects exactly the ``(building_id, date)`` pairs:
    ``(building_id = 'b1' AND (date ...)) OR (building_id = 'b2' AND ...)``, each building's
    dates as runs of consecutive days."""
    dates_by_building: dict[str, set[dt.date]] = defaultdict(set)
    for building_id, day in pairs:
        dates_by_building[building_id].add(day)
    clauses = [
        f"({BUILDING_COLUMN} = {_literal(building_id)} AND ({partition_predicate(dates)}))"
        for building_id, dates in sorted(dates_by_building.items())
    ]
    if not clauses:
        raise ValueError("a partition predicate needs at least one (building_id, date) pair")
    return " OR ".join(clauses)


def _with_building(
    data: pa.Table | RowBatches, building_id: str, name: str
) -> pa.Table | RowBatches:
    """``data`` with ``building_id`` as its first column (filled in where it lacks it); rows
    of another building stop the write."""
    if isinstance(data, RowBatches):
        schema = building_schema(data.schema)
        return RowBatches(
            schema,
            lambda: (
                _table_with_building(pa.Table.from_batches([batch]), building_id, name)
                .cast(schema)
                .to_batches()[0]
                for batch in data.batches()
                if batch.num_rows
            ),
        )
    return _table_with_building(data, building_id, name)


def _table_with_building(table: pa.Table, building_id: str, name: str) -> pa.Table:
    if BUILDING_COLUMN not in table.schema.names:
        column = pa.array([building_id] * table.num_rows, pa.string())
        return table.add_column(0, BUILDING_COLUMN, column)
    check_building(table, building_id, name)
    return table


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

    def __init__(
        self, root_uri: str, *, max_commit_attempts: int = 12, building_id: str | None = None
    ):
        self.location = Location.parse(root_uri)
        self.storage_options = s3_storage_options() if self.location.is_s3 else None
        self.max_commit_attempts = max_commit_attempts
        self.building_id = building_id

    def scoped(self, building_id: str | None) -> Lakehouse:
        """The same tables seen as ``building_id``'s (None: unscoped, every building's rows)."""
        return Lakehouse(
            self.uri, max_commit_attempts=self.max_commit_attempts, building_id=building_id
        )

    def partition_columns(self, name: str) -> list[str]:
        """The partition columns of table ``name`` (empty: unpartitioned)."""
        return list(self.table(name).metadata().partition_columns)

    def append_partition_columns(self, name: str) -> list[str]:
        """The partition columns of an append to table ``name`` (``control_commands``,
        ``live_room_forecasts``: rows that carry their ``building_id``): the table's own, so
        a table written before buildings keeps taking rows until ``snuk migrate``, and
        ``building_id`` and ``date`` for a new table."""
        return self.partition_columns(name) if self.exists(name) else [BUILDING_COLUMN, DATE_COLUMN]

    def building_to_read(self, name: str, table: DeltaTable | None = None) -> str | None:
        """The building whose rows a read of table ``name`` (``table``, if already opened)
        keeps: the scope's for a table partitioned by building, None when unscoped or for a
        table without days (``sensors``).

        Raises ``LakehouseError`` for a scoped read of a table partitioned by date only: its
        rows belong to no building until ``snuk migrate`` rewrites it.
        """
        if self.building_id is None:
            return None
        table = self.table(name) if table is None else table
        columns = list(table.metadata().partition_columns)
        if columns == [DATE_COLUMN]:
            raise self._old_layout_error(name, self.building_id)
        return self.building_id if BUILDING_COLUMN in columns else None

    def _old_layout_error(self, name: str, building_id: str) -> LakehouseError:
        return LakehouseError(
            f"the Delta table {self.table_uri(name)} is partitioned by date only (written "
            f"before buildings): run `snuk migrate` once, which rewrites the lakehouse's "
            f"tables as building {building_id!r}'s (README: Upgrading)"
        )

    @property
    def uri(self) -> str:
        return self.location.uri

    def table_uri(self, name: str) -> str:
        return self.location.join(name)

    def check_reachable(self) -> None:
        """Fail now, naming the URI and the operation, if the lakehouse root cannot be used.

        Local: the folder is created if missing and must be writable. S3: the bucket must
        answer a listing of the prefix. Called before an ingest reads any file, so a wrong
        endpoint or missing bucket costs seconds, not a whole ingest.
        """
        if not self.location.is_s3:
            root = Path(self.location.prefix)
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise LakehouseError(
                    f"creating the lakehouse folder {self.uri}: {error}"
                ) from error
            if not os.access(root, os.W_OK | os.X_OK):
                raise LakehouseError(f"the lakehouse folder {self.uri} is not writable")
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from snuk_assets.storage import s3_client

        try:
            s3_client().list_objects_v2(
                Bucket=self.location.bucket, Prefix=self.location.prefix, MaxKeys=1
            )
        except (ClientError, BotoCoreError) as error:
            raise LakehouseError(
                f"listing the lakehouse {self.uri} (s3 ListObjectsV2 on bucket "
                f"{self.location.bucket!r}) failed: {error}. Check that the bucket exists, the "
                "credentials may list it, and AWS_ENDPOINT_URL if you use a non-AWS endpoint."
            ) from error

    def exists(self, name: str) -> bool:
        uri = self.table_uri(name)
        try:
            return DeltaTable.is_deltatable(uri, storage_options=self.storage_options)
        except (DeltaError, OSError) as error:
            raise LakehouseError(
                f"checking for a Delta table at {uri} (reading its _delta_log) failed: {error}"
            ) from error

    def table(self, name: str, *, version: int | None = None) -> DeltaTable:
        uri = self.table_uri(name)
        try:
            return DeltaTable(uri, version=version, storage_options=self.storage_options)
        except TableNotFoundError as error:
            raise LakehouseError(
                f"the Delta table {uri} does not exist yet: materialize the asset {name!r} first"
            ) from error
        except (DeltaError, OSError) as error:
            at = "" if version is None else f" at version {version}"
            raise LakehouseError(f"opening the Delta table {uri}{at} failed: {error}") from error

    # -- writing -------------------------------------------------------------------------
    def replace_partitions_together(
        self, tables: Sequence[tuple[str, pa.Table | RowBatches]], *, dates: Sequence[dt.date]
    ) -> list[WriteReport]:
        """Replace the partitions ``dates`` of several tables as one ingest: all or nothing.

        The tables are committed in order, each with the same ingest id; the last is the
        commit point. A follower's rows for a date are only read (``read``) once the commit
        point holds that ingest, so a crash between the commits shows the old rows of every
        table, and the next run of those dates replaces all of them. Every table's rows are
        checked before the first commit; streamed rows (``RowBatches``, only the commit point's
        in an ingest) have their schema checked then and each batch as it is written, and a
        bad batch fails that commit (the followers' commits before it stay unread).
        """
        dates = tuple(sorted(set(dates)))
        for name, data in tables:
            _check_before_write(data, dates, name)
        ingest_id = uuid.uuid4().hex
        return [
            self.replace_partitions(name, data, dates=dates, ingest_id=ingest_id)
            for name, data in tables
        ]

    def replace_partitions(
        self,
        name: str,
        data: pa.Table | RowBatches,
        *,
        dates: Sequence[dt.date],
        ingest_id: str | None = None,
        building_id: str | None = None,
    ) -> WriteReport:
        """Replace the partitions ``dates`` of table ``name`` with ``data`` in one commit.

        ``data`` may be empty (the partitions become empty) but every row's ``date`` must be
        one of ``dates``. Partitions not named are left untouched. The table is created,
        partitioned by ``date``, on its first write. The commit info records the dates (and
        ``ingest_id``, for :meth:`replace_partitions_together`). ``RowBatches`` are streamed
        to the writer a batch at a time, each checked and counted as it passes.

        With ``building_id`` (default: the lakehouse's scope), the rows are that building's (its
        ``building_id`` column is filled in where ``data`` lacks it), the table is partitioned
        by ``building_id`` and ``date``, and only the pairs ``(building_id, d)`` for ``d`` in
        ``dates`` are replaced. A table of the other layout is refused (``LakehouseError``,
        naming the fix).
        """
        dates = tuple(sorted(set(dates)))
        _check_before_write(data, dates, name)
        building_id = self.building_id if building_id is None else building_id
        partition_by = self.partition_columns_for(name, building_id)
        uri = self.table_uri(name)
        if building_id is None:
            predicate = partition_predicate(dates)
        else:
            data = _with_building(data, building_id, name)
            predicate = building_partition_predicate((building_id, day) for day in dates)
        metadata = commit_metadata(dates, ingest_id=ingest_id, building_id=building_id)
        commit = CommitProperties(custom_metadata=metadata)
        written = 0

        def counted(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            nonlocal written
            for batch in batches:
                written += batch.num_rows
                yield batch

        def write() -> None:
            nonlocal written
            written = 0
            rows = data
            if isinstance(data, RowBatches):
                rows = pa.RecordBatchReader.from_batches(
                    data.schema, counted(data.checked_batches(dates, name))
                )
            if self.exists(name):
                write_deltalake(
                    uri,
                    rows,
                    mode="overwrite",
                    predicate=predicate,
                    # A column added by a newer SNUK joins the table; older partitions read
                    # it as null until they are materialized again.
                    schema_mode="merge",
                    storage_options=self.storage_options,
                    writer_properties=writer_properties(data.schema),
                    commit_properties=commit,
                )
            else:
                write_deltalake(
                    uri,
                    rows,
                    mode="error",
                    partition_by=partition_by,
                    storage_options=self.storage_options,
                    writer_properties=writer_properties(data.schema),
                    commit_properties=commit,
                )

        attempts = self.commit_with_retries(write, uri)
        version = self.table(name).version()
        rows_written = written if isinstance(data, RowBatches) else data.num_rows
        return WriteReport(uri, version, rows_written, dates, attempts)

    def partition_columns_for(self, name: str, building_id: str | None) -> list[str]:
        """The partition columns a write of ``building_id`` (None: before buildings) needs;
        raises if table ``name`` exists with the other ones (``engines/delta_io.py`` writes
        by the same rule)."""
        wanted = [DATE_COLUMN] if building_id is None else [BUILDING_COLUMN, DATE_COLUMN]
        if not self.exists(name):
            return wanted
        actual = self.partition_columns(name)
        if actual == wanted:
            return wanted
        if actual == [DATE_COLUMN]:
            raise self._old_layout_error(name, building_id)
        raise LakehouseError(
            f"the Delta table {self.table_uri(name)} is partitioned by {actual}: a write "
            f"partitioned by {wanted} would mix the layouts"
            + ("; name the building of the rows" if building_id is None else "")
        )

    def migrate_to_buildings(
        self, name: str, *, building_id: str | None = None
    ) -> WriteReport | None:
        """Rewrite table ``name``, partitioned by ``date`` only (written before buildings), as
        partitioned by ``building_id`` (default: the lakehouse's scope) and ``date``, in one
        commit: every row gets ``building_id`` (a table with its own ``building_id`` column,
        ``control_commands``, keeps its values).

        The rows are read as ``read`` serves them (a follower's dates at their latest
        committed ingest), a date at a time, into an Arrow stream in a temporary file, which
        the write then reads back: delta-rs cannot read a table from inside its own write (a
        nested runtime panics), and the file keeps memory to a batch rather than the table.
        Run it while no run writes the table: a conflicting commit fails the migration rather
        than being retried with stale rows. The old files stay for Delta's retention (time
        travel, ``vacuum``). Returns None,
        writing nothing, for a table that is unpartitioned or already partitioned by building.
        """
        building_id = self.building_id if building_id is None else building_id
        if building_id is None:
            raise ValueError(f"migrating {name!r} needs the building its rows belong to")
        table = self.table(name)
        if list(table.metadata().partition_columns) != [DATE_COLUMN]:
            return None
        source = self.scoped(None)  # the rows as they are, before any building
        dates = sorted({dt.date.fromisoformat(p[DATE_COLUMN]) for p in table.partitions()})
        schema = building_schema(plain_schema(pa.schema(table.schema())))
        uri = self.table_uri(name)
        commit = CommitProperties(
            custom_metadata={**commit_metadata(dates), "snuk.migrated": BUILDING_COLUMN}
        )
        with tempfile.TemporaryDirectory(prefix="snuk-migrate-") as spill:
            stream = os.path.join(spill, f"{name}.arrows")
            written = 0
            with pa.OSFile(stream, "wb") as sink, pa.ipc.new_stream(sink, schema) as writer:
                for day in dates:
                    rows = source.read(name, dates=[day])
                    if BUILDING_COLUMN not in rows.schema.names:
                        rows = _table_with_building(rows, building_id, name)
                    writer.write_table(rows.select(schema.names).cast(schema))
                    written += rows.num_rows

            def write() -> None:
                with pa.memory_map(stream) as source:
                    write_deltalake(
                        uri,
                        pa.ipc.open_stream(source),
                        mode="overwrite",
                        schema_mode="overwrite",
                        partition_by=[BUILDING_COLUMN, DATE_COLUMN],
                        storage_options=self.storage_options,
                        writer_properties=writer_properties(schema),
                        commit_properties=commit,
                    )

            try:  # not retried: after a concurrent commit the rows read would be stale
                write()
            except (DeltaError, OSError) as error:
                raise LakehouseError(
                    f"migrating {uri} failed (a Delta commit): {error}; migrate while no run "
                    "writes the lakehouse"
                ) from error
        return WriteReport(uri, self.table(name).version(), written, tuple(dates), 1)

    def migrate_tables(self) -> dict[str, WriteReport | None]:
        """``migrate_to_buildings`` of every table, as the scope's building: per table its
        report, None for a table left as it is (no days, or already by building)."""
        return {name: self.migrate_to_buildings(name) for name in self.table_names()}

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
                    raise LakehouseError(
                        f"writing {uri} failed (a Delta commit): {error}"
                    ) from error
            except OSError as error:
                raise LakehouseError(f"writing {uri} failed (a Delta commit): {error}") from error
            # A conflict to retry: back off with jitter so parallel backfill runs stop colliding.
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    # -- housekeeping --------------------------------------------------------------------
    def table_names(self) -> list[str]:
        """The Delta tables directly below the root, sorted."""
        if self.location.is_s3:
            from snuk_assets.storage import s3_client

            prefix = f"{self.location.prefix}/" if self.location.prefix else ""
            pages = (
                s3_client()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.location.bucket, Prefix=prefix, Delimiter="/")
            )
            names = [
                entry["Prefix"][len(prefix) :].strip("/")
                for page in pages
                for entry in page.get("CommonPrefixes", [])
            ]
        else:
            root = Path(self.location.prefix)
            names = [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        return sorted(name for name in names if self.exists(name))

    def compact(self, name: str, *, dry_run: bool = False) -> int:
        """Merge each partition's small files of table ``name`` into larger ones.

        For the tables appended to a few rows at a time (``control_commands``, one commit a
        bin): their rows stay as they were, in fewer files; the merged files are left for
        ``vacuum`` to delete after the retention. Returns how many files were merged (with
        ``dry_run``, how many would be: those of partitions with more than one file).
        """
        table = self.table(name)
        if dry_run:
            # Our tables are partitioned by folder: a file's folder is its partition.
            per_partition = collections.Counter(uri.rsplit("/", 1)[0] for uri in table.file_uris())
            return sum(n for n in per_partition.values() if n > 1)
        merged = {}

        def write() -> None:
            merged.update(self.table(name).optimize.compact())

        self.commit_with_retries(write, self.table_uri(name))
        return int(merged.get("numFilesRemoved", 0))

    def vacuum(
        self, *, retention_hours: int | None = None, dry_run: bool = False
    ) -> dict[str, list[str] | str]:
        """Delete files no version within the retention needs: replaced partitions, orphans.

        Delta's own rule holds: ``retention_hours`` (default: each table's
        ``delta.deletedFileRetentionDuration``, 7 days) may not be shorter than the table's
        retention, so time travel and a reader still on an older version within it keep
        working. A follower table with an unfinished ingest is left alone: its reads need the
        older version (see ``replace_partitions_together``).

        Returns per table the files deleted (or that would be, with ``dry_run``), or why the
        table was skipped.
        """
        done: dict[str, list[str] | str] = {}
        for name in self.table_names():
            unfinished = self._unfinished_dates(name)
            if unfinished:
                days = ", ".join(str(d) for d in sorted(unfinished))
                done[name] = (
                    f"skipped: an unfinished ingest of {days}; materialize raw_observations "
                    "for those days, then vacuum"
                )
                continue
            try:
                done[name] = self.table(name).vacuum(
                    retention_hours=retention_hours,
                    dry_run=dry_run,
                    enforce_retention_duration=True,
                    # Full: also files no commit names (a crashed write's), not only the
                    # replaced ones the log lists as removed.
                    full=True,
                )
            except (DeltaError, OSError) as error:
                raise LakehouseError(
                    f"vacuuming the Delta table {self.table_uri(name)} failed: {error}"
                ) from error
        return done

    # -- reading -------------------------------------------------------------------------
    def read(
        self,
        name: str,
        *,
        dates: Iterable[dt.date] | None = None,
        columns: list[str] | None = None,
        keys: KeyRange | None = None,
        missing_ok: bool = False,
        building_id: str | None = None,
    ) -> pa.Table | None:
        """Rows of table ``name``, only from the partitions ``dates`` if given.

        With ``keys``, only the rows whose key lies in that range (a chunk of a long range,
        see ``key_counts``). With ``missing_ok``, a table that does not exist yet reads as
        ``None``. With ``building_id``, only that building's rows (a table partitioned by
        building). A scoped lakehouse reads its building's rows, without the ``building_id``
        column unless ``columns`` names it (``building_to_read``).
        """
        if missing_ok and not self.exists(name):
            return None
        table = self.table(name)
        if columns:
            missing = sorted(set(columns) - set(pa.schema(table.schema()).names))
            if missing:
                raise missing_columns_error(self.table_uri(name), name, missing)
        scope = self.building_to_read(name, table)
        select = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        where = [] if keys is None else [keys.predicate()]
        for building in {building_id, scope} - {None}:
            where.append(f'"{BUILDING_COLUMN}" = {_literal(building)}')
        parts = self._select(name, table, dates, select=select, where=where)
        if parts is None:
            rows = _empty_result(table, columns)
        elif len(parts) > 1:
            # An older version may lack a column a newer SNUK added: it reads as null.
            rows = pa.concat_tables(parts, promote_options="default")
        else:
            rows = parts[0]
        if scope is not None and not columns:
            rows = rows.drop_columns([BUILDING_COLUMN])  # a stage's schema, as before buildings
        return rows

    def key_counts(self, name: str, key: str, *, dates: Iterable[dt.date]) -> pa.Table:
        """Rows per value of column ``key`` in the partitions ``dates`` (``key``, ``rows``).

        A null key is counted too. The rows are not read, so a long range can then be read a
        chunk of keys at a time (``read(..., keys=KeyRange(...))``).
        """
        table = self.table(name)
        if key not in pa.schema(table.schema()).names:
            raise missing_columns_error(self.table_uri(name), name, [key])
        select = f'"{key}", count(*) AS rows'
        scope = self.building_to_read(name, table)
        where = [] if scope is None else [f'"{BUILDING_COLUMN}" = {_literal(scope)}']
        parts = self._select(name, table, dates, select=select, where=where, group_by=key)
        if parts is None:
            field = plain_schema(pa.schema(table.schema())).field(key)
            return pa.schema([field, pa.field("rows", pa.int64())]).empty_table()
        if len(parts) == 1:
            return parts[0]
        # Dates served from older versions (an unfinished ingest) were counted apart.
        counts = pa.concat_tables(parts).group_by(key).aggregate([("rows", "sum")])
        return counts.rename_columns({"rows_sum": "rows"}).select([key, "rows"])

    def _select(
        self,
        name: str,
        table: DeltaTable,
        dates: Iterable[dt.date] | None,
        *,
        select: str,
        where: list[str],
        group_by: str | None = None,
    ) -> list[pa.Table] | None:
        """``select`` over the partitions ``dates`` (all without), each date read at its
        latest committed write: one result per version read, None when no date is named."""
        wanted = None if dates is None else sorted(set(dates))
        if wanted is not None and not wanted:
            return None
        older = self.uncommitted_dates(name)
        if wanted is not None:
            older = {d: v for d, v in older.items() if d in set(wanted)}
        days = [] if wanted is None else [f"({partition_predicate(wanted)})"]
        if older:
            days.append(f"NOT ({partition_predicate(older)})")
        try:
            parts = [_query(table, select, [*days, *where], group_by)]
            # Dates whose newest write is an unfinished ingest: their latest committed write.
            for version in sorted({v for v in older.values() if v is not None}):
                at = [d for d, v in older.items() if v == version]
                past = self.table(name, version=version)
                parts.append(
                    _query(past, select, [f"({partition_predicate(at)})", *where], group_by)
                )
        except (DeltaError, OSError) as error:
            raise LakehouseError(
                f"reading the Delta table {self.table_uri(name)} failed: {error}"
            ) from error
        return parts

    def uncommitted_dates(
        self, name: str, *, building_id: str | None = None
    ) -> dict[dt.date, int | None]:
        """Dates of a follower table whose newest write of building ``building_id`` (default:
        the scope's) belongs to an unfinished ingest.

        For each, the version holding that building's latest committed write (None: there is
        none, the date reads empty). A write counts for the building its commit names, and
        one naming none (written before buildings, or the migration) for every building;
        unscoped and without ``building_id``, every write counts, which is right for a table
        of one building. Empty for tables that are not followers (``COMMIT_POINTS``).
        """
        histories = self._histories(name)
        if histories is None:
            return {}
        history, committed = histories
        return _uncommitted(_of_building(history, building_id or self.building_id), committed)

    def _histories(self, name: str) -> tuple[list[dict], set[str | None]] | None:
        """A follower's commits (newest first) and its commit point's ingest ids, each log
        read once; None for a table that is no follower or does not exist yet."""
        point = COMMIT_POINTS.get(name)
        if point is None or not self.exists(point) or not self.exists(name):
            return None
        committed = {h.get(_INGEST_ID) for h in self.table(point).history()}
        return self.table(name).history(), committed

    def _unfinished_dates(self, name: str) -> set[dt.date]:
        """The dates of table ``name`` with an unfinished ingest of any building (both logs
        read once, then filtered per building)."""
        histories = self._histories(name)
        if histories is None:
            return set()
        history, committed = histories
        buildings = {commit.get(_BUILDING) for commit in history}
        return {
            day
            for building_id in buildings
            for day in _uncommitted(_of_building(history, building_id), committed)
        }


def _of_building(history: list[dict], building_id: str | None) -> list[dict]:
    """The commits that count for ``building_id``: those naming it, and those naming no
    building (before buildings, the migration); every commit for None."""
    return [
        commit
        for commit in history
        if building_id is None or commit.get(_BUILDING, building_id) == building_id
    ]


def _uncommitted(history: list[dict], committed: set[str | None]) -> dict[dt.date, int | None]:
    """``uncommitted_dates`` of a follower's ``history`` (newest first), given the ingest ids
    its commit point ``committed``."""
    seen: set[dt.date] = set()
    pending: set[dt.date] = set()
    result: dict[dt.date, int | None] = {}
    for commit in history:
        if _DATES not in commit:
            # Written before commits named their dates: its state is the best known.
            result.update(dict.fromkeys(pending, commit["version"]))
            return result
        dates = {dt.date.fromisoformat(d) for d in json.loads(commit[_DATES])}
        if commit.get(_INGEST_ID, None) not in committed and _INGEST_ID in commit:
            pending |= dates - seen
        else:
            result.update(dict.fromkeys(pending & dates, commit["version"]))
            pending -= dates
        seen |= dates
    result.update(dict.fromkeys(pending))
    return result


def _check_before_write(data: pa.Table | RowBatches, dates: tuple[dt.date, ...], name: str) -> None:
    if isinstance(data, RowBatches):
        check_dates(dates, name)
        check_partition_schema(data.schema, name)
    else:
        check_rows_within(data, dates, name)


def _query(table: DeltaTable, select: str, where: list[str], group_by: str | None) -> pa.Table:
    sql = f"SELECT {select} FROM snuk_table"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group_by:
        sql += f' GROUP BY "{group_by}"'
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


__all__ = ["DATE_COLUMN", "KeyRange", "Lakehouse", "LakehouseError", "WriteReport"]
