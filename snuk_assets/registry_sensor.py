"""The portfolio's buildings as Dagster partitions: one ``buildings`` key per registry file.

A building is added by dropping its registry into ``SNUK_REGISTRIES`` and removed by taking
it out (issue 22). Each tick compares the folder's buildings with the dynamic partition keys
and asks Dagster to add the new ones and delete the gone ones. A new registry is loaded first:
one that does not load is not added, and the tick's log names the file and the error, while the
other buildings go on. Deleting a key removes the building's partitions from the UI and the
schedules; its tables' rows stay until ``snuk forget`` or a vacuum (nothing of another building
is touched either way).

In the definitions when the stages are partitioned by building and day (``SNUK_REGISTRIES``
set when the code loads, ``partitions.BY_BUILDING``). The landing sensors also add the key of a
building whose files arrive before this sensor's tick (``landing_sensor.new_building_partitions``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from snuk_assets.partitions import building_partitions
from snuk_assets.settings import SnukSettings


@dataclass(frozen=True)
class BuildingChanges:
    """Keys to add (registries without a partition) and to delete (partitions without one)."""

    added: tuple[str, ...]
    deleted: tuple[str, ...]


def plan_building_changes(registered: Iterable[str], known: Iterable[str]) -> BuildingChanges:
    """The changes that make the partition keys ``known`` the buildings ``registered``."""
    registered, known = set(registered), set(known)
    return BuildingChanges(tuple(sorted(registered - known)), tuple(sorted(known - registered)))


@sensor(
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a building partition per registry in SNUK_REGISTRIES, deletes gone ones.",
)
def building_registries_sensor(context: SensorEvaluationContext, settings: SnukSettings):
    """Keep the ``buildings`` partitions equal to the registries folder's buildings."""
    known = context.instance.get_dynamic_partitions(building_partitions.name)
    changes = plan_building_changes(settings.table_building_ids(), known)
    added = []
    for building_id in changes.added:
        try:
            settings.registry(building_id if settings.registries_path else None)
        except Exception as error:  # a bad registry stops only its own building
            context.log.error(f"building {building_id!r} not added: its registry fails: {error}")
            continue
        added.append(building_id)
    if changes.deleted:
        context.log.warning(
            f"registries gone, building partitions deleted (their rows stay): {changes.deleted}"
        )
    if not added and not changes.deleted:
        return SkipReason(f"{len(known)} buildings, as the registries folder has them")
    context.log.info(f"buildings added: {added}")
    return SensorResult(
        dynamic_partitions_requests=[
            *([building_partitions.build_add_request(added)] if added else []),
            *(
                [building_partitions.build_delete_request(list(changes.deleted))]
                if changes.deleted
                else []
            ),
        ]
    )
