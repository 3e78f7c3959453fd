"""The ``sensors`` asset: the building registry (rooms and sensors) as a Delta table."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from snuk_assets.assets.buildings import combined_metadata
from snuk_assets.assets.metadata import table_metadata
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.sensors import write_sensors


@asset(group_name="building", kinds={"delta"})
def sensors(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Every sensor of each building with its type, room and floor, from its registry."""
    write, table = write_sensors(settings)
    by_building = {}
    for building, scoped in settings.each_building():
        registry = scoped.registry()
        rows = table[table["building_id"] == registry.building_id]
        by_type = rows.groupby("sensor_type").size().to_dict()
        context.log.info(
            f"registry {registry.building_id}: {len(rows)} sensors in {len(registry.rooms)} rooms"
        )
        by_building[building] = {
            **table_metadata(write),
            "dagster/row_count": len(rows),
            "building": registry.building_id,
            "timezone": registry.timezone,
            "rooms": len(registry.rooms),
            "floors": len(registry.floors),
            "sensors_by_type": MetadataValue.json({k: int(v) for k, v in by_type.items()}),
        }
    return MaterializeResult(metadata=combined_metadata(by_building))
