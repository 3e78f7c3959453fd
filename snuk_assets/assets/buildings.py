"""A run's buildings: each building's days with its own settings, and one report for them all.

A stage computes one building at a time (``building_runs``): its landing folder, registry, time
zone and table rows are those of ``settings.for_building``, and nothing of one building is read
to compute another's. A run of several buildings ("all buildings, one day") still makes one
materialization per asset and one result per check, so their reports are combined here:

- metadata (``combined_metadata``): one building's as it is; for several, the sum of the row
  counts, the table's last version, each number and text in a table with a row per building,
  and the pictures and tables of the first ``SHOWN_BUILDINGS`` buildings under their names;
- checks (``combined_checks``): a check passes when it passed for every building, and says
  which buildings failed and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

from dagster import AssetCheckResult, MetadataValue

from snuk_assets.partitions import building_days
from snuk_assets.settings import SnukSettings

# Pictures and markdown tables of at most this many buildings go into one run's metadata.
SHOWN_BUILDINGS = 3
_SUMMED = ("dagster/row_count",)
_LAST = ("table_uri", "delta_version")


def building_runs(
    settings: SnukSettings, partition_keys: Sequence[str]
) -> Iterator[tuple[str, SnukSettings, list[dt.date]]]:
    """Each building of a run with its scoped settings and its days, buildings sorted.

    Outside a portfolio the one building is the deployment's (``settings`` as they are).
    """
    for building, days in building_days(list(partition_keys)).items():
        if building is None:
            yield settings.deployment_building_id(), settings, days
        else:
            yield building, settings.for_building(building), days


def combined_metadata(by_building: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """One materialization's metadata from each building's (see the module docstring)."""
    if len(by_building) == 1:
        return dict(next(iter(by_building.values())))
    buildings = list(by_building)
    combined: dict[str, object] = {"buildings": len(buildings)}
    scalars: dict[str, dict[str, object]] = {}
    shown: list[str] = []
    for building, metadata in by_building.items():
        for key, value in metadata.items():
            if key in _SUMMED:
                combined[key] = int(combined.get(key, 0)) + int(value)
            elif key in _LAST:
                combined[key] = value
            elif isinstance(value, int | float | str) and not isinstance(value, bool):
                scalars.setdefault(building, {})[key] = value
            elif isinstance(value, MetadataValue) and building in buildings[:SHOWN_BUILDINGS]:
                shown.append(f"### {building}: {key}\n\n{_as_markdown(value)}")
    if scalars:
        combined["by_building"] = MetadataValue.md(_markdown_table(scalars))
    if shown:
        more = len(buildings) - SHOWN_BUILDINGS
        tail = (
            [f"_{more} more buildings: their pictures are in their own runs_"] if more > 0 else []
        )
        combined["details"] = MetadataValue.md("\n\n".join(shown + tail))
    return combined


def combined_checks(
    by_building: Mapping[str, Sequence[AssetCheckResult]],
) -> list[AssetCheckResult]:
    """One result per check from each building's results of it (see the module docstring)."""
    if len(by_building) == 1:
        return list(next(iter(by_building.values())))
    by_check: dict[str, dict[str, AssetCheckResult]] = {}
    for building, results in by_building.items():
        for result in results:
            by_check.setdefault(result.check_name, {})[building] = result
    combined = []
    for name, results in by_check.items():
        failed = {b: r for b, r in results.items() if not r.passed}
        first = next(iter(results.values()))
        described = failed or results
        combined.append(
            AssetCheckResult(
                asset_key=first.asset_key,
                check_name=name,
                passed=not failed,
                severity=first.severity,
                description="; ".join(
                    f"{building}: {result.description or ('failed' if failed else 'passed')}"
                    for building, result in list(described.items())[:SHOWN_BUILDINGS]
                )
                + (
                    f"; and {len(described) - SHOWN_BUILDINGS} more"
                    if len(described) > SHOWN_BUILDINGS
                    else ""
                ),
                metadata={
                    "buildings": len(results),
                    "failed_buildings": MetadataValue.json(sorted(failed)),
                },
            )
        )
    return combined


def _as_markdown(value: MetadataValue) -> str:
    text = getattr(value, "md_str", None) or getattr(value, "text", None)
    if text is not None:
        return str(text)
    data = getattr(value, "data", None)
    return f"`{data if data is not None else value.value}`"


def _markdown_table(rows: Mapping[str, Mapping[str, object]]) -> str:
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    lines = ["| building | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    for building, row in rows.items():
        cells = [_cell(row.get(column, "")) for column in columns]
        lines.append(f"| {building} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value).replace("|", "/")
