"""The CI guard itself: a missing component skips on a developer's machine, fails under CI."""

from __future__ import annotations

import pytest
from ci_components import PROBES, component, in_ci, missing, require


@pytest.fixture
def absent_component():
    name = "snuk-test-absent"
    component(name)(lambda: "not installed on purpose")
    yield name
    PROBES.pop(name)


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_ci_true_fails_with_the_component_name(absent_component, monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=r"CI=true: .*'snuk-test-absent'.*on purpose"):
        require(absent_component)


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_a_developer_machine_skips(absent_component, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="snuk-test-absent"):
        require(absent_component)


def test_a_present_component_passes_and_an_unknown_name_is_an_error(monkeypatch):
    monkeypatch.setenv("CI", "true")
    component("snuk-test-present")(lambda: None)
    try:
        require("snuk-test-present")
    finally:
        PROBES.pop("snuk-test-present")
    with pytest.raises(KeyError, match="unknown component"):
        missing("no-such-component")


def test_the_required_components_are_registered():
    assert {"pyspark", "java", "chromium", "playwright", "moto", "mosquitto"} <= set(PROBES)
