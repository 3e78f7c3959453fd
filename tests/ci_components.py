"""Components the suite needs: missing on a developer's machine they skip, under CI they fail.

A test (or a test module, or a fixture) that needs something outside the Python environment
calls ``require("name")``. When the component is there nothing happens. When it is missing:

- with ``CI`` set to a true value (``.ci/run`` runs with ``CI=true``) the test fails, and at
  module level the module's collection errors, with the component's name and what is missing:
  a green CI run can not silently lose the Spark folder or the browser tests;
- otherwise the test skips with the same message, so a developer without Java or chromium can
  still run the rest.

A component is a name and a probe returning None when it is usable, or why it is not.
Register another one with ``@component("name")`` on its probe (mosquitto, for the live
service's tests, is the last one below);
``tests/conftest.py`` also fails a CI run that skipped anything at all, whatever the reason.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

# Waits in the slow tests poll for their event (a server answers, a run or backfill reaches a
# terminal status) and return as soon as it happens; this bound only stops a hang, so it is
# generous for a loaded machine (pytest's per-test timeout, 900 s, is the outer bound).
HANG_GUARD_S = 600

Probe = Callable[[], "str | None"]
PROBES: dict[str, Probe] = {}


def in_ci() -> bool:
    """Whether this run is CI's: ``CI`` set to 1/true/yes (any case)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def component(name: str) -> Callable[[Probe], Probe]:
    """Register ``probe`` as the check of the component ``name`` (probed once per run)."""

    def register(probe: Probe) -> Probe:
        PROBES[name] = functools.cache(probe)
        return probe

    return register


def missing(name: str) -> str | None:
    """Why ``name`` is not usable here, or None when it is."""
    if name not in PROBES:
        raise KeyError(f"unknown component {name!r}; known: {sorted(PROBES)}")
    return PROBES[name]()


def require(name: str, *, why: str = "") -> None:
    """Skip (developer) or fail (``CI=true``) unless the component ``name`` is usable.

    Works in a test, a fixture, or at module level (the whole module then skips or errors).
    """
    reason = missing(name)
    if reason is None:
        return
    message = f"required component {name!r} is missing: {reason}" + (f" ({why})" if why else "")
    if in_ci():
        pytest.fail(f"CI=true: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def _module(name: str) -> str | None:
    if importlib.util.find_spec(name) is None:
        return f"the Python module {name} does not import (pip install -e '.[dev]')"
    return None


def _runs(command: list[str]) -> str | None:
    if shutil.which(command[0]) is None:
        return f"no {command[0]} on PATH"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{' '.join(command)} did not run: {error}"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        return f"{' '.join(command)} exited {done.returncode}: {tail[0]}"
    return None


@component("pyspark")
def _pyspark() -> str | None:
    return _module("pyspark")


@component("java")
def _java() -> str | None:
    # PySpark 4 needs Java 17; `java -version` exits 0 on a working JDK/JRE.
    java_home = os.environ.get("JAVA_HOME")
    java = os.path.join(java_home, "bin", "java") if java_home else "java"
    return _runs([java, "-version"])


@component("moto")
def _moto() -> str | None:
    # The server needs moto's [server] extra (flask); moto.server imports it.
    if (reason := _module("moto")) is not None:
        return reason
    try:
        importlib.import_module("moto.server")
    except ImportError as error:
        return f"moto.server does not import: {error} (pip install 'moto[server]')"
    return None


@component("playwright")
def _playwright() -> str | None:
    return _module("playwright")


@component("chromium")
def _chromium() -> str | None:
    # Debian's chromium (.ci/run installs it); Playwright drives it, no browser is downloaded.
    return _runs(["chromium", "--headless", "--no-sandbox", "--version"])


@component("mosquitto")
def _mosquitto() -> str | None:
    # Debian's broker and its command-line clients (packages mosquitto, mosquitto-clients;
    # .ci/run installs both); /usr/sbin, where the broker is, is not always on PATH.
    missing = [
        name
        for name in ("mosquitto", "mosquitto_sub", "mosquitto_pub")
        if not (shutil.which(name) or os.access(f"/usr/sbin/{name}", os.X_OK))
    ]
    if missing:
        return f"no {', '.join(missing)} (apt-get install mosquitto mosquitto-clients)"
    return None
