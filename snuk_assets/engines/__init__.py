"""Where per-group work runs: in this process (``LocalEngine``) or on PySpark (``SparkEngine``).

``engine_from_env`` chooses one from ``SNUK_ENGINE``. Importing this package imports neither
Dagster nor pyspark: worker processes and Spark executors import ``engines.grouped`` (and the
executor side of ``engines.delta_io``) through it, so the engines themselves, which are Dagster
resources, load on first use of their names. The Spark engine imports pyspark when it first runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from snuk_assets.engines.grouped import TARGET_DATE, StageResult

if TYPE_CHECKING:
    from snuk_assets.engines.base import ComputeEngine
    from snuk_assets.engines.choice import ENGINES, engine_from_env
    from snuk_assets.engines.local import LocalEngine
    from snuk_assets.engines.spark import SparkEngine

# Name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "ComputeEngine": "snuk_assets.engines.base",
    "LocalEngine": "snuk_assets.engines.local",
    "SparkEngine": "snuk_assets.engines.spark",
    "ENGINES": "snuk_assets.engines.choice",
    "engine_from_env": "snuk_assets.engines.choice",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ENGINES",
    "TARGET_DATE",
    "ComputeEngine",
    "LocalEngine",
    "SparkEngine",
    "StageResult",
    "engine_from_env",
]
