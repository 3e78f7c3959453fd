"""The engine interface: run a pandas function once per group, like Spark's applyInPandas."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import pandas as pd
import pyarrow as pa
from dagster import ConfigurableResource

GroupFunction = Callable[[pd.DataFrame], pd.DataFrame]


class ComputeEngine(ConfigurableResource, ABC):
    """Runs transforms over groups of rows; asset code names the resource, never the engine."""

    @abstractmethod
    def apply_per_group(
        self,
        data: pd.DataFrame | pa.Table,
        *,
        key: str,
        fn: GroupFunction,
        output_schema: pa.Schema,
    ) -> pd.DataFrame:
        """``fn`` applied to the rows of each value of column ``key``, results concatenated.

        Parameters
        ----------
        data : pandas.DataFrame or pyarrow.Table
            The rows to split by ``key``.
        key : str
            The grouping column (e.g. ``room_id``).
        fn : callable
            ``fn(group: pandas.DataFrame) -> pandas.DataFrame``; a top-level function or a
            ``functools.partial`` of one, so it pickles into other processes.
        output_schema : pyarrow.Schema
            The columns and types every result has (Spark needs it up front).

        Returns
        -------
        pandas.DataFrame
            The results in the order of the sorted keys, with exactly ``output_schema``'s
            columns.
        """


def conform(frame: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """``frame`` with exactly ``schema``'s columns and types (missing columns as nulls)."""
    # A missing column becomes typed nulls: reindexing would make it float NaN, which cannot
    # become e.g. list<string> (every room skipped as too sparse has no feature_names).
    columns = [
        pa.Array.from_pandas(frame[field.name], type=field.type)
        if field.name in frame.columns
        else pa.nulls(len(frame), type=field.type)
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema).to_pandas()
