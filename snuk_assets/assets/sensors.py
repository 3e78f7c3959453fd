"""The ``sensors`` asset: the building registry (rooms and sensors) as a Delta table."""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from snuk_assets.assets.metadata import table_metadata
from snuk_assets.settings import SnukSettings
from snuk_assets.stages.sensors import write_sensors


@asset(group_name="building", kinds={"delta"})
def sensors(context: AssetExecutionContext, settings: SnukSettings) -> MaterializeResult:
    """Every sensor of the building with its type, room and floor, from the registry YAML."""
    registry = settings.registry()
    write, table = write_sensors(settings)
    by_type = table.groupby("sensor_type").size().to_dict()
    context.log.info(
        f"registry {registry.building_id}: {len(table)} sensors in {len(registry.rooms)} rooms"
    )
    return MaterializeResult(
        metadata={
            **table_metadata(write),
            "building": registry.building_id,
            "timezone": registry.timezone,
            "rooms": len(registry.rooms),
            "floors": len(registry.floors),
            "sensors_by_type": MetadataValue.json({k: int(v) for k, v in by_type.items()}),
        }
    )
