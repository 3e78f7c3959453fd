"""Where per-group work runs: in this process or a spawned process pool (``LocalEngine``).

A Spark engine with the same interface is imported lazily by name; importing this package
never imports pyspark.
"""

from snuk_assets.engines.base import ComputeEngine
from snuk_assets.engines.local import LocalEngine

__all__ = ["ComputeEngine", "LocalEngine"]
