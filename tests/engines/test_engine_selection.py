"""SNUK_ENGINE chooses the engine once, in definitions.py; importing never starts a JVM."""

from __future__ import annotations

import subprocess
import sys

import pytest

from snuk_assets.engines import LocalEngine, SparkEngine, engine_from_env


def test_local_is_the_default():
    assert isinstance(engine_from_env({}), LocalEngine)
    assert isinstance(engine_from_env({"SNUK_ENGINE": "local"}), LocalEngine)


def test_spark_takes_its_master_from_the_environment():
    engine = engine_from_env({"SNUK_ENGINE": "Spark", "SNUK_SPARK_MASTER": "local[1]"})
    assert isinstance(engine, SparkEngine) and engine.master == "local[1]"


def test_an_unknown_engine_fails_naming_the_choices():
    with pytest.raises(ValueError, match=r"SNUK_ENGINE='dask'.*local, spark"):
        engine_from_env({"SNUK_ENGINE": "dask"})


def test_loading_the_spark_definitions_starts_no_jvm():
    code = (
        "import sys, snuk_assets.definitions as d;"
        "engine = d.defs.resources['engine'];"
        "assert type(engine).__name__ == 'SparkEngine', engine;"
        "sys.exit(1 if any(m.startswith(('pyspark', 'py4j')) for m in sys.modules) else 0)"
    )
    env = {"SNUK_ENGINE": "spark", "PATH": "/usr/bin:/bin"}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=120).returncode == 0
