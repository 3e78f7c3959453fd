"""Where per-group work runs: in this process (``LocalEngine``) or on PySpark (``SparkEngine``).

``engine_from_env`` chooses one from ``SNUK_ENGINE``. Importing this package never imports
pyspark: the Spark engine imports it when it first runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from snuk_assets.engines.base import TARGET_DATE, ComputeEngine, StageResult
from snuk_assets.engines.local import LocalEngine
from snuk_assets.engines.spark import SparkEngine

DEFAULT_ENGINE = "local"
# One entry per engine, built from the environment; the keys are SNUK_ENGINE's values.
ENGINES: dict[str, Callable[[Mapping[str, str]], ComputeEngine]] = {
    # Rooms train in parallel; spawned workers, one per core of the 2-core default box.
    "local": lambda env: LocalEngine(max_workers=2),
    "spark": lambda env: SparkEngine(master=env.get("SNUK_SPARK_MASTER", "")),
}


def engine_from_env(environ: Mapping[str, str] | None = None) -> ComputeEngine:
    """The engine ``SNUK_ENGINE`` names (``local``, the default, or ``spark``).

    Raises
    ------
    ValueError
        If ``SNUK_ENGINE`` names no engine; the message lists the choices.
    """
    env = os.environ if environ is None else environ
    name = env.get("SNUK_ENGINE", "").strip().lower() or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ValueError(
            f"SNUK_ENGINE={env['SNUK_ENGINE']!r} is not an engine; set it to one of "
            f"{', '.join(ENGINES)} (default {DEFAULT_ENGINE}), or unset it"
        )
    return ENGINES[name](env)


__all__ = [
    "ENGINES",
    "TARGET_DATE",
    "ComputeEngine",
    "LocalEngine",
    "SparkEngine",
    "StageResult",
    "engine_from_env",
]
