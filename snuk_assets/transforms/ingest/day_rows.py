"""A day's kept rows, held compactly from one file to the next and deduplicated across files.

The ingest validates one landing file at a time (``validate.validate_observations``) and keeps
of each file only this: per kept row the sensor id as a rank in the day's sorted ids (int32),
``ts_ms`` (int64), ``value`` (float64) and the file (one name per file), 20 bytes a row instead
of the file's parsed rows with their text (about 1 KB a line with the intermediates). At the end
the rows are sorted and deduplicated across files as ``validate_observations`` does for a whole
day at once: of rows with equal sensor_id, ts and value the first by source_file is kept (the
file's own duplicates are gone already, the first by line number), in the order sensor_id, ts,
value. Written with numpy, not an Arrow table sort: the sort needs the int ranks and its
permutation (8 bytes a row more), and the columns are put in order one at a time, so the day
never holds two sorted copies; afterwards 24 bytes a kept row (the file's rank in output order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from snuk_assets.transforms.ingest.validate import KEPT_SCHEMA

# Rows per record batch handed to the writer: a few MB of plain strings at a time.
BATCH_ROWS = 64 * 1024


@dataclass
class _FileRows:
    source_file: str
    sensor_ids: pa.Array  # the file's distinct ids (a dictionary)
    id_index: np.ndarray  # int32, per row, into sensor_ids
    ts_ms: np.ndarray
    value: np.ndarray


class DayKeptRows:
    """The kept rows of one arrival day, file by file; :meth:`deduplicate`, then write.

    Parameters
    ----------
    day
        The arrival day, the ``date`` of every row.
    """

    def __init__(self, day: dt.date):
        self.day = day
        self._files: list[_FileRows] = []
        self.sensor_ids_ = pa.array([], pa.string())  # the day's kept ids, sorted
        self.source_files_ = pa.array([], pa.string())  # the files with kept rows, sorted
        self._sensor = np.zeros(0, np.int32)  # per row: rank in sensor_ids_
        self._ts_ms = np.zeros(0, np.int64)
        self._value = np.zeros(0, np.float64)
        self._file = np.zeros(0, np.int32)  # per row: rank in source_files_

    def add(self, kept: pa.Table) -> None:
        """One file's kept rows (:data:`~.validate.KEPT_SCHEMA`, no duplicates within it)."""
        if kept.num_rows == 0:
            return
        names = pc.unique(kept["source_file"])
        if len(names) != 1:
            raise ValueError(f"kept rows of one file expected, got {len(names)} source files")
        encoded = pc.dictionary_encode(kept["sensor_id"]).combine_chunks()
        self._files.append(
            _FileRows(
                names[0].as_py(),
                encoded.dictionary,
                encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32),
                kept["ts"].cast(pa.int64()).to_numpy(),
                kept["value"].to_numpy(),
            )
        )

    def deduplicate(self) -> int:
        """Drop the rows another file kept first; returns how many were dropped."""
        files, self._files = self._files, []
        if not files:
            return 0
        unique_ids = pc.unique(pa.concat_arrays([f.sensor_ids for f in files]))
        self.sensor_ids_ = unique_ids.take(pc.sort_indices(unique_ids))
        self.source_files_ = pa.array(sorted(f.source_file for f in files), pa.string())
        file_rank = {name: rank for rank, name in enumerate(self.source_files_.to_pylist())}
        # One column at a time, each file's part dropped once copied.
        self._sensor = np.concatenate([_ranks(f, self.sensor_ids_) for f in files])
        self._file = np.concatenate(
            [np.full(len(f.ts_ms), file_rank[f.source_file], np.int32) for f in files]
        )
        self._ts_ms = _concatenate_and_drop(files, "ts_ms")
        self._value = _concatenate_and_drop(files, "value")
        order = np.lexsort((self._file, self._value, self._ts_ms, self._sensor))
        repeat = np.zeros(len(order), dtype=bool)
        if len(order) > 1:
            # An equal (sensor, ts, value) right before, in the sort: a later file's duplicate.
            for column in (self._sensor, self._ts_ms, self._value):
                sorted_column = column[order]
                if column is self._sensor:
                    repeat[1:] = sorted_column[1:] == sorted_column[:-1]
                else:
                    repeat[1:] &= sorted_column[1:] == sorted_column[:-1]
                del sorted_column
        kept = order[~repeat]
        del order
        # In output order, the dropped rows gone: 24 bytes a kept row from here to the write.
        self._sensor = self._sensor[kept]
        self._ts_ms = self._ts_ms[kept]
        self._value = self._value[kept]
        self._file = self._file[kept]
        return int(repeat.sum())

    @property
    def num_rows(self) -> int:
        """Kept rows, once :meth:`deduplicate` has run."""
        return len(self._ts_ms)

    @property
    def nbytes(self) -> int:
        """Bytes held for the rows: 20 a row before :meth:`deduplicate`, 24 a kept row after."""
        held = (self._sensor, self._ts_ms, self._value, self._file)
        pending = sum(f.id_index.nbytes + f.ts_ms.nbytes + f.value.nbytes for f in self._files)
        return sum(a.nbytes for a in held) + pending

    def batches(self, max_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The kept rows in :data:`~.validate.KEPT_SCHEMA`, sorted by sensor_id, ts, value."""
        day = pa.scalar(self.day, pa.date32())
        for start in range(0, self.num_rows, max_rows):
            rows = slice(start, start + max_rows)
            size = min(max_rows, self.num_rows - start)
            yield pa.record_batch(
                [
                    self.sensor_ids_.take(pa.array(self._sensor[rows])),
                    pa.array(self._ts_ms[rows], KEPT_SCHEMA.field("ts").type),
                    pa.array(self._value[rows], pa.float64()),
                    pa.repeat(day, size),
                    self.source_files_.take(pa.array(self._file[rows])),
                ],
                schema=KEPT_SCHEMA,
            )

    def to_table(self) -> pa.Table:
        """All kept rows as one table (for small days and tests; the ingest streams batches)."""
        return pa.Table.from_batches(list(self.batches()), schema=KEPT_SCHEMA)

    def rows_per_sensor(self) -> dict[str, int]:
        """Kept rows per sensor id."""
        counts = np.bincount(self._sensor, minlength=len(self.sensor_ids_))
        return {
            sensor_id: int(count)
            for sensor_id, count in zip(self.sensor_ids_.to_pylist(), counts, strict=True)
            if count
        }

    def ts_range_ms(self) -> tuple[int, int] | None:
        """The earliest and latest kept ``ts`` in ms since the epoch, or None without rows."""
        if not self.num_rows:
            return None
        return int(self._ts_ms.min()), int(self._ts_ms.max())


def _ranks(rows: _FileRows, sorted_ids: pa.Array) -> np.ndarray:
    """Per row of one file, its sensor id's rank in the whole day's ``sorted_ids``; frees the
    file's ``id_index``. Not ``order.DistinctValues.ranks``, which ranks one column among its
    own values: here each file has its own dictionary and the ranks must agree across files."""
    rank_of_index = pc.index_in(rows.sensor_ids, value_set=sorted_ids).to_numpy()
    ranks = rank_of_index.astype(np.int32)[rows.id_index]
    rows.id_index = np.zeros(0, np.int32)
    return ranks


def _concatenate_and_drop(files: list[_FileRows], name: str) -> np.ndarray:
    parts = []
    for rows in files:
        parts.append(getattr(rows, name))
        setattr(rows, name, None)
    return np.concatenate(parts)
