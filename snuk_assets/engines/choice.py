"""The one place that decides where per-group work runs: ``SNUK_ENGINE`` to an engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from snuk_assets.engines.base import ComputeEngine
from snuk_assets.engines.local import LocalEngine
from snuk_assets.engines.spark import SparkEngine
from snuk_assets.environment import EngineChoice, engine_choice

# One entry per engine, built from the environment's choice; the keys are SNUK_ENGINE's values.
ENGINES: dict[str, Callable[[EngineChoice], ComputeEngine]] = {
    # Rooms train in parallel; spawned workers, one per core of the 2-core default box.
    "local": lambda choice: LocalEngine(max_workers=2),
    "spark": lambda choice: SparkEngine(master=choice.spark_master),
}


def engine_from_env(environ: Mapping[str, str] | None = None) -> ComputeEngine:
    """The engine ``SNUK_ENGINE`` names (``local``, the default, or ``spark``).

    Raises
    ------
    ValueError
        If ``SNUK_ENGINE`` names no engine; the message lists the choices.
    """
    choice = engine_choice(environ, choices=tuple(ENGINES))
    return ENGINES[choice.name](choice)
