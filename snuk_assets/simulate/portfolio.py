"""A simulated portfolio (issue 22): the reference office and variants of it, one registry each.

The demo's three buildings:

==============================  ================  =========  ===================================
building_id                     time zone         holidays   rooms
==============================  ================  =========  ===================================
``snuk-reference-office``       Europe/Berlin     DE-BE      all 36 (the registry as shipped)
``snuk-reference-office-nyc``   America/New_York  US-NY      all 36: the same office in New York
``snuk-reference-office-annex`` Europe/Berlin     DE-BE      the ground floor only
==============================  ================  =========  ===================================

More buildings (the benchmark's 10 and 100) repeat the three kinds as ``snuk-office-<n>``.
Building ``k`` is simulated with seed ``seed + k``, so each building's people differ and the
same seed gives the same portfolio. Registries are written as
``<registries>/<building_id>.yaml``, uploads to ``raw_data/<building_id>/YYYY/MM/DD/`` and the
truth to ``<truth>/<building_id>/occupancy_truth.parquet``.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import yaml

from snuk_assets.registry import default_registry_path, load_building_registry
from snuk_assets.simulate.simulation import SimulationSummary, simulate_building

# (suffix of the building id, time zone, country, subdivision, floors kept; None: as shipped)
KINDS = (
    ("", None, None, None, None),
    ("-nyc", "America/New_York", "US", "NY", None),
    ("-annex", None, None, None, {0}),
)


def portfolio_documents(buildings: int, base: dict | None = None) -> list[dict]:
    """The registry documents of a portfolio of ``buildings``, the reference office first."""
    if buildings < 1:
        raise ValueError(f"a portfolio needs at least one building, not {buildings}")
    base = base or yaml.safe_load(default_registry_path().read_text())
    documents = []
    for k in range(buildings):
        suffix, timezone, country, subdivision, floors = KINDS[k % len(KINDS)]
        document = copy.deepcopy(base)
        stem = base["building_id"] if k < len(KINDS) else f"snuk-office-{k:03d}"
        document["building_id"] = f"{stem}{suffix}"
        document["name"] = f"{base['name']}{suffix}" if k < len(KINDS) else document["building_id"]
        if timezone:
            document.update(timezone=timezone, country=country, subdivision=subdivision)
        if floors is not None:
            document["floors"] = [f for f in document["floors"] if f["floor"] in floors]
            kept = {r["room_id"] for r in document["rooms"] if r["floor"] in floors}
            document["rooms"] = [r for r in document["rooms"] if r["room_id"] in kept]
            document["sensors"] = [s for s in document["sensors"] if s["room_id"] in kept]
        documents.append(document)
    return documents


def simulate_portfolio(
    *,
    buildings: int,
    registries_dir: str | Path,
    landing_uri: str,
    truth_dir: str | Path,
    start: dt.date,
    days: int,
    seed: int,
    fmt: str = "line",
    gzip: bool = False,
) -> dict[str, SimulationSummary]:
    """Write the portfolio's registries and simulate each building into one landing zone.

    Returns each building's summary by building id.
    """
    folder = Path(registries_dir)
    folder.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for k, document in enumerate(portfolio_documents(buildings)):
        building_id = document["building_id"]
        path = folder / f"{building_id}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        summaries[building_id] = simulate_building(
            registry=load_building_registry(path, building_id),
            landing_uri=landing_uri,
            truth_dir=Path(truth_dir) / building_id,
            start=start,
            days=days,
            seed=seed + k,
            fmt=fmt,
            gzip=gzip,
            building_id=building_id,
        )
    return summaries
