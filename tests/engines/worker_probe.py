"""A group function that reports what the process running it has imported (no Dagster here).

It runs a real stage's per-group function, imports every module workers import (the stages,
``engines.grouped``, ``engines.delta_io``), then says whether Dagster got loaded on the way.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import pandas as pd

WORKER_MODULES = ["snuk_assets.engines.grouped", "snuk_assets.engines.delta_io"]


def stage_modules() -> list[str]:
    import snuk_assets.stages

    return [
        f"snuk_assets.stages.{info.name}"
        for info in pkgutil.iter_modules(snuk_assets.stages.__path__)
    ]


def loaded_modules(group: pd.DataFrame, *, fn) -> pd.DataFrame:
    """``fn(group)`` run, every worker module imported; which heavy packages are loaded."""
    fn(group)
    for name in [*WORKER_MODULES, *stage_modules()]:
        importlib.import_module(name)
    return pd.DataFrame(
        {
            "room_id": [group["room_id"].iloc[0]],
            "pid": [os.getpid()],
            "dagster": [any(m == "dagster" or m.startswith("dagster") for m in sys.modules)],
            "deltalake": ["deltalake" in sys.modules],
        }
    )


def dated_probe(group: pd.DataFrame) -> pd.DataFrame:
    """``loaded_modules`` of a stage's group, dated by the group's ``date`` for the target."""
    return loaded_modules(group, fn=len).assign(date=group["date"].iloc[0])
