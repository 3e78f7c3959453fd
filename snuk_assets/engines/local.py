"""The default engine: groups run in this process, or in a pool of spawned processes."""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import functools
import itertools
import multiprocessing
import pathlib
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from snuk_assets.engines.base import ComputeEngine
from snuk_assets.engines.delta_io import replace_partitions_by_day
from snuk_assets.engines.grouped import (
    TARGET_DATE,
    GroupedStage,
    GroupFunction,
    StageResult,
    empty_frame,
    split_result,
    to_arrow,
    worker_ready,
)
from snuk_assets.lakehouse import KeyRange, Lakehouse
from snuk_assets.tables import DATE_COLUMN, LakehouseError

_SPILL = pa.ipc.IpcWriteOptions(compression="lz4")
# A stage of slow groups reads this many keys per worker at a time (training: a room's 28 days
# of windows are about 6 MiB): the workers stay fed, the driver holds a few rooms, not all.
_KEYS_PER_WORKER = 4


class LocalEngine(ComputeEngine):
    """Runs each group in-process, or with ``max_workers`` > 1 in spawned worker processes.

    A stage's memory depends on ``chunk_rows``, not on its range: each slice is read a chunk
    of whole keys at a time (``Lakehouse.key_counts``, then a key range per chunk), kept as
    Arrow and sorted by key, and only one group at a time becomes pandas; the results go to
    spill files on local disk (lz4 Arrow IPC, one per day), written from them one day's
    Parquet file at a time for the single commit (``delta_io.replace_partitions_by_day``),
    and only the small summaries are kept in memory.

    Workers are spawned, never forked: delta-rs panics in a forked copy of a process that
    already used it. A pool is started per stage and its workers import the group function's
    module, which pays off for slow groups (training) only: ``transform_partitions`` uses it
    when the stage says its groups are slow (``parallel=True``). Such a stage is read a few
    keys per worker at a time, and at most two groups per worker wait in the pool.
    """

    max_workers: int = Field(default=1, description="Processes for groups; 1 runs in-process.")
    chunk_rows: int = Field(
        default=2_000_000,
        description="Source rows read at once (whole keys: a larger key is a chunk of its own).",
    )

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
        summaries = []
        # The groups' rows wait in files, one per day, not in memory, for the single commit;
        # the days are then written one after another (delta-rs' writer would hold every
        # day's file in memory until the commit).
        with tempfile.TemporaryDirectory(prefix="snuk-stage-") as folder:
            with _DaySpill(pathlib.Path(folder), stage.output_schema) as spill:
                for rows, summary in self._results(lakehouse, stage):
                    spill.write(to_arrow(rows, stage.output_schema))
                    if summary is not None:
                        summaries.append(to_arrow(summary, stage.summary_schema))
            write = replace_partitions_by_day(
                lakehouse,
                stage.target,
                spill.days(),
                dates=stage.target_dates,
                schema=stage.output_schema,
            )
        if stage.summary_schema is None:
            return StageResult(write, empty_frame(None))
        return StageResult(write, _concat(summaries, stage.summary_schema).to_pandas())

    def _results(self, lakehouse: Lakehouse, stage: GroupedStage) -> Iterator[tuple]:
        """Each group's ``(rows, summary)``, slice by slice, chunk by chunk, in key order."""
        with self._stage_pool(stage) as pool:
            if pool is None:
                results = map(stage.fn, self._groups(lakehouse, stage))
            else:
                # A chunk of a few keys per worker, and only as many groups as the workers
                # can take handed over at once: the driver holds neither the slice's rows
                # nor all its groups as pandas (issue 19: the peak of the training stage).
                keys = _KEYS_PER_WORKER * self.max_workers
                groups = self._groups(lakehouse, stage, max_keys=keys)
                results = _in_order(pool, stage.fn, groups, ahead=2 * self.max_workers)
            for result in results:
                yield split_result(result, stage.summary_schema)

    def _groups(
        self, lakehouse: Lakehouse, stage: GroupedStage, *, max_keys: int | None = None
    ) -> Iterator[pd.DataFrame]:
        """Each group's rows as pandas, one at a time, slice by slice and chunk by chunk."""
        for target_day, source_days in stage.slices.items():
            for chunk in self._chunks(lakehouse, stage, source_days, max_keys=max_keys):
                for group in _key_groups(chunk, stage.key):
                    yield _tagged(group, target_day).to_pandas()
                    del group  # a slice: it would keep the chunk alive
                del chunk  # before the next chunk is read

    @contextlib.contextmanager
    def _stage_pool(self, stage: GroupedStage) -> Iterator[ProcessPoolExecutor | None]:
        """For a stage of slow groups, one pool of spawned workers for all its slices and
        chunks (None: the groups run in this process).

        The workers are started, and import the group function's module, while this process
        reads the first chunk: a worker takes seconds to start (it imports the Dagster CLI as
        its main module, then pandas, scikit-learn, ...), once per stage, not per slice.
        """
        if not (stage.parallel and self.max_workers > 1):
            yield None
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.max_workers, mp_context=context) as pool:
            for _ in range(self.max_workers):
                pool.submit(worker_ready, stage.fn)  # each submit to a busy pool starts a worker
            yield pool

    def _chunks(
        self,
        lakehouse: Lakehouse,
        stage: GroupedStage,
        source_days: Sequence[dt.date],
        *,
        max_keys: int | None = None,
    ) -> Iterator[pa.Table]:
        """The source rows of one slice, a chunk of whole keys at a time (at most
        ``chunk_rows`` rows, and ``max_keys`` keys if given), sorted by key (a stable sort:
        the rows of a key keep their order), null keys last."""
        counts = lakehouse.key_counts(stage.source, stage.key, dates=source_days)
        expected = pc.sum(counts["rows"]).as_py() or 0
        if expected <= self.chunk_rows and (max_keys is None or counts.num_rows <= max_keys):
            ranges: list[KeyRange | None] = [None] if expected else []
        else:
            ranges = key_ranges(counts, stage.key, max_rows=self.chunk_rows, max_keys=max_keys)
        read = 0
        for keys in ranges:
            chunk = _read_sorted(lakehouse, stage, source_days, keys)
            read += chunk.num_rows
            yield chunk
            del chunk  # before the next chunk is read
        if read != expected:
            raise LakehouseError(
                f"reading {stage.source!r} by key ranges of {stage.key!r} gave {read} rows, "
                f"its key counts {expected}: report this as a bug"
            )

    def _map(
        self, fn: Callable, groups: Iterable[pd.DataFrame], *, parallel: bool = True
    ) -> Iterator:
        """``fn`` of each group, in order: in this process (one group at a time) or in
        spawned workers (the groups of one chunk at once)."""
        if parallel and self.max_workers > 1:
            groups = list(groups)
            if len(groups) > 1:
                context = multiprocessing.get_context("spawn")
                workers = min(self.max_workers, len(groups))
                with ProcessPoolExecutor(workers, mp_context=context) as pool:
                    return iter(list(pool.map(fn, groups)))
        return (fn(group) for group in groups)


class _DaySpill:
    """Rows spilled to local disk, one lz4 Arrow IPC stream per ``date``."""

    def __init__(self, folder: pathlib.Path, schema: pa.Schema) -> None:
        self.folder, self.schema = folder, schema
        self._writers: dict[dt.date, pa.ipc.RecordBatchStreamWriter] = {}

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        if rows[DATE_COLUMN].null_count:
            raise ValueError(f"a group's rows have a null {DATE_COLUMN!r}")
        for day in pc.unique(rows[DATE_COLUMN]).to_pylist():
            if day not in self._writers:
                path = str(self._path(day))
                self._writers[day] = pa.ipc.new_stream(path, self.schema, options=_SPILL)
            self._writers[day].write_table(rows.filter(pc.equal(rows[DATE_COLUMN], day)))

    def days(self) -> dict[dt.date, Callable[[], Iterator[pa.RecordBatch]]]:
        """Each spilled day's rows, as a function streaming them afresh."""
        return {day: functools.partial(_read_spilled, self._path(day)) for day in self._writers}

    def _path(self, day: dt.date) -> pathlib.Path:
        return self.folder / f"{day.isoformat()}.arrows"

    def __enter__(self) -> _DaySpill:
        return self

    def __exit__(self, *exc: object) -> None:
        for writer in self._writers.values():
            writer.close()


def _in_order(pool: ProcessPoolExecutor, fn: Callable, items: Iterable, *, ahead: int) -> Iterator:
    """``fn`` of each item in ``pool``, in order, with at most ``ahead`` items handed over
    and not yet returned: ``Executor.map`` takes every item at once (a ``buffersize`` came
    only in Python 3.14), so it would hold all of a stage's groups in the driver."""
    pending: collections.deque = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            del item  # the pool holds it until it is run
            if len(pending) >= ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # a failed group or an early stop: the groups not started yet are not run
        for future in pending:
            future.cancel()


def _read_spilled(path: pathlib.Path) -> Iterator[pa.RecordBatch]:
    """The spilled rows a batch at a time (read, not memory-mapped: mapped pages count as
    the process's own memory)."""
    with pa.OSFile(str(path)) as source:
        yield from pa.ipc.open_stream(source)


def key_ranges(
    counts: pa.Table, key: str, *, max_rows: int, max_keys: int | None = None
) -> list[KeyRange]:
    """Runs of consecutive keys of at most ``max_rows`` rows (``counts``: ``key``, ``rows``)
    and, if given, at most ``max_keys`` keys.

    A key with more rows is a run of its own; the null key, if any, is the last run.
    """
    counts = _sorted_by(counts, key)
    ranges: list[KeyRange] = []
    first = last = None
    rows = keys = 0
    for value, n in zip(counts[key].to_pylist(), counts["rows"].to_pylist(), strict=True):
        if value is None:
            break
        full = rows + n > max_rows or (max_keys is not None and keys == max_keys)
        if first is not None and full:
            ranges.append(KeyRange(key, first, last))
            first, rows, keys = None, 0, 0
        if first is None:
            first = value
        last, rows, keys = value, rows + n, keys + 1
    if first is not None:
        ranges.append(KeyRange(key, first, last))
    if counts.num_rows and counts[key].null_count:
        ranges.append(KeyRange(key, None, None))
    return ranges


def _read_sorted(
    lakehouse: Lakehouse, stage: GroupedStage, days: Sequence[dt.date], keys: KeyRange | None
) -> pa.Table:
    """The source rows of ``days`` within ``keys``, sorted by the stage's key."""
    rows = lakehouse.read(stage.source, dates=days, columns=stage.columns, keys=keys)
    return _sorted_by(rows, stage.key)


def _sorted_by(table: pa.Table, key: str) -> pa.Table:
    """``table`` stably sorted by ``key``, nulls last (the order pandas and Spark group in)."""
    order = pc.sort_indices(table, sort_keys=[(key, "ascending", "at_end")])
    return table.take(order)


def _key_groups(chunk: pa.Table, key: str) -> Iterator[pa.Table]:
    """The rows of each key of ``chunk``, which is sorted by ``key``: slices, not copies."""
    if chunk.num_rows == 0:
        return
    keys = chunk[key].combine_chunks()
    before, after = keys[:-1], keys[1:]
    both_valid = pc.and_(before.is_valid(), after.is_valid())
    changed = pc.if_else(
        both_valid,
        pc.not_equal(before, after),
        pc.not_equal(before.is_valid(), after.is_valid()),
    )
    starts = [0, *(np.flatnonzero(changed.to_numpy(zero_copy_only=False)) + 1), chunk.num_rows]
    for start, end in itertools.pairwise(starts):
        yield chunk.slice(start, end - start)


def _tagged(group: pa.Table, target_day: dt.date | None) -> pa.Table:
    """With a target day, ``group`` tagged with it in ``target_date``."""
    if target_day is None:
        return group
    day = pa.scalar(target_day, pa.date32())
    return group.append_column(TARGET_DATE, pa.repeat(day, group.num_rows))


def _groups(frame: pd.DataFrame, keys: list[str]) -> list[pd.DataFrame]:
    """The rows of each key in sorted key order; null keys form a group, as on Spark."""
    if frame.empty:
        return []
    by = keys[0] if len(keys) == 1 else keys
    return [group for _, group in frame.groupby(by, sort=True, dropna=False)]


def _concat(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(tables) if tables else schema.empty_table()
