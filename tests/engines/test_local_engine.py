"""The engine contract, run against every local configuration (a Spark engine joins later)."""

from __future__ import annotations

import functools

import pandas as pd
import pyarrow as pa
import pytest

from snuk_assets.engines import LocalEngine

SCHEMA = pa.schema([("room_id", pa.string()), ("rows", pa.int64()), ("total", pa.float64())])


def summarize(group: pd.DataFrame, *, scale: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "room_id": [group["room_id"].iloc[0]],
            "rows": [len(group)],
            "total": [group["value"].sum() * scale],
        }
    )


@pytest.fixture(params=[1, 2], ids=["in_process", "spawned_pool"])
def engine(request) -> LocalEngine:
    return LocalEngine(max_workers=request.param)


def test_apply_per_group_runs_once_per_key(engine):
    data = pd.DataFrame({"room_id": ["b", "a", "b", "c"], "value": [1.0, 2.0, 3.0, 4.0]})
    out = engine.apply_per_group(
        pa.Table.from_pandas(data),
        key="room_id",
        fn=functools.partial(summarize, scale=10.0),
        output_schema=SCHEMA,
    )
    assert out.to_dict("list") == {
        "room_id": ["a", "b", "c"],
        "rows": [1, 2, 1],
        "total": [20.0, 40.0, 40.0],
    }


def test_empty_input_gives_the_output_schema(engine):
    data = pd.DataFrame({"room_id": pd.Series([], dtype=str), "value": []})
    out = engine.apply_per_group(
        data, key="room_id", fn=functools.partial(summarize, scale=1.0), output_schema=SCHEMA
    )
    assert list(out.columns) == SCHEMA.names and out.empty


def test_conform_fills_missing_columns_with_typed_nulls():
    """Every room skipped: no feature_names column at all, still the declared list type."""
    import pandas as pd
    import pyarrow as pa

    from snuk_assets.engines.base import conform

    schema = pa.schema([("room_id", pa.string()), ("feature_names", pa.list_(pa.string()))])
    frame = conform(pd.DataFrame({"room_id": ["7101", "7102"]}), schema)
    assert list(frame.columns) == ["room_id", "feature_names"]
    assert frame["feature_names"].isna().all()
    mixed = conform(pd.DataFrame({"room_id": ["a", "b"], "feature_names": [["x"], None]}), schema)
    assert mixed["feature_names"].iloc[0].tolist() == ["x"]
