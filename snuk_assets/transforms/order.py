"""Sorting and per-value work on a column through its distinct values (issue 19).

A stage's columns repeat a few hundred values over millions of rows (sensor ids, room ids,
file names). Arrow's stable sort of a string column compares the strings row by row; here the
column is dictionary-encoded once, its distinct values are sorted, and the rows are sorted by
their value's rank, an integer (numpy's stable sort). The order is Arrow's ``sort_by``: values
ascending in Arrow's order (strings by bytes), nulls last, equal rows in their order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class DistinctValues:
    """A column as its distinct values and each row's index into them (null for a null row).

    Parameters
    ----------
    column
        Any Arrow column whose type Arrow can sort (strings, integers, dates).
    """

    def __init__(self, column: pa.ChunkedArray | pa.Array) -> None:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):  # one dictionary for all chunks
            encoded = encoded.combine_chunks()
        self.distinct = encoded.dictionary
        self.indices = encoded.indices

    def per_row(self, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
        """``fn`` (an Arrow function of a column, element by element) of every row, computed
        once per distinct value; null for a null row."""
        return pc.take(fn(self.distinct), self.indices)

    def ranks(self) -> np.ndarray:
        """Per row, its value's rank among the distinct values (0 the smallest; nulls last)."""
        count = len(self.distinct)
        rank_of_index = np.empty(count + 1, dtype=np.int64)
        rank_of_index[pc.sort_indices(self.distinct).to_numpy()] = np.arange(count)
        rank_of_index[count] = count  # a null row's
        return rank_of_index[pc.fill_null(self.indices, count).to_numpy(zero_copy_only=False)]


def stable_sort_indices(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """The row order of ``column`` sorted ascending, nulls last, ties in row order (what
    ``pc.sort_indices(..., null_placement="at_end")`` gives, for a column of few values)."""
    ranks = DistinctValues(column).ranks()
    if len(ranks) and ranks.max() < np.iinfo(np.int16).max:
        ranks = ranks.astype(np.int16)  # numpy sorts small integers by radix, stably
    return np.argsort(ranks, kind="stable")
