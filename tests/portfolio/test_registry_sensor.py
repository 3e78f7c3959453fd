"""Issue 22: the registries folder drives the ``buildings`` partitions (``registry_sensor``).

Ticks are evaluated on a real instance and their requests applied to it as the sensor daemon
applies them, so each tick sees the keys the previous one made.
"""

from __future__ import annotations

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterInstance,
    DeleteDynamicPartitionsRequest,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from test_registry import write_building

from snuk_assets.registry_sensor import building_registries_sensor, plan_building_changes
from snuk_assets.settings import SnukSettings


def tick(instance, settings) -> SensorResult | SkipReason:
    context = build_sensor_context(instance=instance, resources={"settings": settings})
    result = building_registries_sensor(context)
    for request in getattr(result, "dynamic_partitions_requests", None) or []:
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, request.partition_keys)
        elif isinstance(request, DeleteDynamicPartitionsRequest):
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    return result


def buildings(instance) -> list[str]:
    return sorted(instance.get_dynamic_partitions("buildings"))


def test_the_plan_adds_new_buildings_and_deletes_gone_ones():
    changes = plan_building_changes(["a", "b", "c"], ["b", "d"])
    assert (changes.added, changes.deleted) == (("a", "c"), ("d",))


def test_buildings_follow_the_registries_folder(tmp_path):
    folder = tmp_path / "registries"
    folder.mkdir()
    write_building(folder, "berlin-hq")
    write_building(folder, "paris", ".ttl")
    settings = SnukSettings(registries_path=str(folder))
    with DagsterInstance.ephemeral() as instance:
        assert isinstance(tick(instance, settings), SensorResult)
        assert buildings(instance) == ["berlin-hq", "paris"]
        assert isinstance(tick(instance, settings), SkipReason)  # nothing changed

        # A registry that does not load is not added; the others go on.
        (folder / "rome.yaml").write_text("building_id: rome\nrooms: [not a room]\n")
        assert isinstance(tick(instance, settings), SkipReason)
        assert buildings(instance) == ["berlin-hq", "paris"]

        (folder / "rome.yaml").unlink()
        (folder / "paris.ttl").unlink()
        write_building(folder, "london-2", ".yml")
        tick(instance, settings)
        assert buildings(instance) == ["berlin-hq", "london-2"]


def test_one_registry_is_its_own_building_not_default():
    settings = SnukSettings()  # SNUK_REGISTRY: the reference office, landing layout `default`
    with DagsterInstance.ephemeral() as instance:
        tick(instance, settings)
        assert buildings(instance) == ["snuk-reference-office"]
