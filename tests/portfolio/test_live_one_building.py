"""Issue 22: `snuk live` runs one building of a portfolio per service (`--building`).

Criteria, fixed before the first run: with a registries folder of two buildings, `--building`
scopes the service's settings to that building (its registry, landing key and table rows);
without it the command refuses, naming `--building`; a folder of one building and a
`SNUK_REGISTRY` deployment need none.
"""

from __future__ import annotations

import pytest
import yaml

from snuk_assets.live.cli import live_settings
from snuk_assets.settings import SnukSettings
from snuk_assets.simulate.portfolio import portfolio_documents


@pytest.fixture
def folder(tmp_path):
    registries = tmp_path / "registries"
    registries.mkdir()
    for document in portfolio_documents(2):  # the registries `snuk simulate --buildings` writes
        path = registries / f"{document['building_id']}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return registries


def test_building_scopes_the_service(folder):
    settings = SnukSettings(registries_path=str(folder))
    scoped = live_settings(settings, "snuk-reference-office-nyc")
    assert scoped.deployment_building_id() == "snuk-reference-office-nyc"
    assert scoped.registry().timezone == "America/New_York"
    assert scoped.lakehouse().building_id == "snuk-reference-office-nyc"


def test_several_buildings_need_building(folder):
    with pytest.raises(ValueError, match="name it with --building"):
        live_settings(SnukSettings(registries_path=str(folder)), "")


def test_one_building_needs_none(folder, tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    (folder / "snuk-reference-office.yaml").rename(one / "snuk-reference-office.yaml")
    settings = SnukSettings(registries_path=str(one))
    assert live_settings(settings, "").deployment_building_id() == "snuk-reference-office"
    single = SnukSettings()  # the reference office of SNUK_REGISTRY's default
    assert live_settings(single, "") is single
