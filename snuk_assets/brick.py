"""The building registry as a Brick model (Turtle), both ways, with the ``brickschema`` package.

Reading: ``brick:Building``, ``brick:Floor`` and rooms (``brick:Room``, ``brick:Space`` and the
room classes of :data:`ROOM_KINDS`) related by ``brick:isPartOf`` / ``brick:hasPart``; points of
the sensor classes of :data:`SENSOR_CLASSES` with ``brick:isPointOf`` a room (or the room's
``brick:hasPoint``). A point's sensor id is its ``ref:hasTimeseriesId`` (through
``ref:hasExternalReference``), else the last part of its URI. Where the building is, for its
public holidays: its ``brick:hasAddress`` (Brick's, a sub-property of ``vcard:hasAddress``, which
is read too), a ``vcard:Address`` whose ``vcard:country-name`` is the ISO 3166-1 alpha-2 code and
whose ``vcard:region`` the ISO 3166-2 suffix of the state or province, as the YAML's ``country``
and ``subdivision``; without an address the building is in Berlin. Classes match exactly as in the
tables (the Brick ontology is not loaded: its 60,000 triples take longer to load than the
pipeline takes for a day); a point of another class is an error naming the point and its class.

Writing keeps what Brick has no term for as ``snuk:`` annotations (``urn:snuk:vocab#``): the
time zone, a room's kind and a sensor's SNUK type, and the country and subdivision as the
building's address, so a YAML registry round-trips exactly.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from rdflib import RDF, RDFS, BNode, Literal, Namespace, URIRef
from rdflib.namespace import XSD

from snuk_assets.sensor_types import SENSOR_TYPES
from snuk_assets.transforms.holidays import holiday_calendar_problem

if TYPE_CHECKING:
    from snuk_assets.registry import BuildingRegistry

BRICK = Namespace("https://brickschema.org/schema/Brick#")
REF = Namespace("https://brickschema.org/schema/Brick/ref#")
UNIT = Namespace("http://qudt.org/vocab/unit/")
SNUK = Namespace("urn:snuk:vocab#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")

# SNUK sensor type -> the Brick class written; reading also accepts the extra classes.
SENSOR_CLASSES: dict[str, str] = {
    "motion": "Motion_Sensor",
    "temperature": "Air_Temperature_Sensor",
    "humidity": "Relative_Humidity_Sensor",
    "luminosity": "Illuminance_Sensor",
    "co2": "CO2_Sensor",
    "contact": "Contact_Sensor",
    "people_count": "Occupancy_Count_Sensor",
    "sound_level": "Sensor",  # no sound sensor class in Brick 1.3: the snuk:sensorType says
}
READ_ALSO: dict[str, str] = {
    "Occupancy_Sensor": "motion",
    "PIR_Sensor": "motion",
    "Temperature_Sensor": "temperature",
    "Zone_Air_Temperature_Sensor": "temperature",
    "Humidity_Sensor": "humidity",
    "Zone_Air_Humidity_Sensor": "humidity",
    "Luminance_Sensor": "luminosity",
    "Zone_Air_CO2_Sensor": "co2",
    "Door_Status": "contact",
}
# SNUK room kind -> Brick class; other kinds are written as brick:Room with their snuk:roomKind.
ROOM_KINDS: dict[str, str] = {
    "office": "Office",
    "meeting": "Conference_Room",
    "open_space": "Open_Office",
    "corridor": "Hallway",
    "kitchen": "Office_Kitchen",
    "storage": "Storage_Room",
}
_ROOM_CLASSES = {"Room", "Space", *ROOM_KINDS.values()}


def registry_to_turtle(registry: BuildingRegistry) -> str:
    """The registry as a Brick model in Turtle.

    Raises ValueError for a registry that declares its own sensor types (no Brick form yet).
    """
    import brickschema

    declared = sorted(set(registry.sensor_types) - set(SENSOR_TYPES))
    if declared:
        raise ValueError(
            f"the registry declares sensor types {declared}, which have no Brick form yet; "
            "export a registry with the built-in types only"
        )
    graph = brickschema.Graph()
    for prefix, namespace in (
        ("brick", BRICK),
        ("ref", REF),
        ("unit", UNIT),
        ("snuk", SNUK),
        ("vcard", VCARD),
    ):
        graph.bind(prefix, namespace)
    site = Namespace(f"urn:snuk:{_slug(registry.building_id)}#")
    graph.bind("bldg", site)
    building = site["building"]
    graph.add((building, RDF.type, BRICK.Building))
    graph.add((building, RDFS.label, Literal(registry.name)))
    graph.add((building, SNUK.buildingId, Literal(registry.building_id)))
    graph.add((building, SNUK.timezone, Literal(registry.timezone)))
    address = BNode()
    graph.add((building, BRICK.hasAddress, address))
    graph.add((address, RDF.type, VCARD.Address))
    graph.add((address, VCARD["country-name"], Literal(registry.country)))
    if registry.subdivision is not None:
        graph.add((address, VCARD.region, Literal(registry.subdivision)))
    for floor in registry.floors.itertuples():
        node = site[f"floor_{floor.floor}"]
        graph.add((node, RDF.type, BRICK.Floor))
        graph.add((node, RDFS.label, Literal(floor.name)))
        graph.add((node, SNUK.floorNumber, Literal(int(floor.floor))))
        graph.add((node, BRICK.isPartOf, building))
    for room in registry.rooms.itertuples():
        node = site[f"room_{_slug(room.room_id)}"]
        graph.add((node, RDF.type, BRICK[ROOM_KINDS.get(room.kind, "Room")]))
        graph.add((node, RDFS.label, Literal(room.name)))
        graph.add((node, SNUK.roomId, Literal(room.room_id)))
        graph.add((node, SNUK.roomKind, Literal(room.kind)))
        graph.add((node, BRICK.isPartOf, site[f"floor_{room.floor}"]))
        area = BNode()
        graph.add((node, BRICK.area, area))
        graph.add((area, BRICK.value, Literal(float(room.area_m2), datatype=XSD.double)))
        graph.add((area, BRICK.hasUnit, UNIT.M2))
    room_node = {r: site[f"room_{_slug(r)}"] for r in registry.rooms["room_id"]}
    for sensor in registry.sensors.itertuples():
        node = site[f"point_{_slug(sensor.sensor_id)}"]
        brick_class = SENSOR_CLASSES.get(sensor.sensor_type, "Sensor")
        graph.add((node, RDF.type, BRICK[brick_class]))
        graph.add((node, SNUK.sensorType, Literal(sensor.sensor_type)))
        graph.add((node, BRICK.isPointOf, room_node[sensor.room_id]))
        reference = BNode()
        graph.add((node, REF.hasExternalReference, reference))
        graph.add((reference, RDF.type, REF.TimeseriesReference))
        graph.add((reference, REF.hasTimeseriesId, Literal(sensor.sensor_id)))
    return graph.serialize(format="turtle")


def brick_document(path: str | os.PathLike) -> dict:
    """A Brick Turtle model as a registry document (the YAML's shape; see the module docstring).

    ``registry.load_registry`` reads a ``.ttl`` path through this and checks it as it checks
    a YAML registry.
    """
    import brickschema

    graph = brickschema.Graph()
    graph.parse(str(path), format="turtle")
    where = str(path)
    building = next(graph.subjects(RDF.type, BRICK.Building), None)
    if building is None:
        raise ValueError(f"{where}: no brick:Building")
    floors = _floors(graph)
    rooms = _rooms(graph, floors)
    sensors = _sensors(graph, rooms, where)
    used = sorted({r["floor"] for r in rooms.values()})
    document = {
        "building_id": str(graph.value(building, SNUK.buildingId) or _local(building)),
        "name": str(graph.value(building, RDFS.label) or _local(building)),
        "timezone": str(graph.value(building, SNUK.timezone) or "UTC"),
        "floors": [{"floor": n, "name": name} for n, name in sorted(set(floors.values()))]
        or [{"floor": n, "name": f"Floor {n}"} for n in used],
        "rooms": list(rooms.values()),
        "sensors": sensors,
    }
    return document | _holiday_region(graph, building, where)


def _holiday_region(graph, building, where: str) -> dict:
    """``country`` and ``subdivision`` from the building's address (none: no keys, Berlin's).

    Raises ValueError naming the property for a region the ``holidays`` package does not know.
    """
    addresses = [*graph.objects(building, BRICK.hasAddress)]
    addresses += [*graph.objects(building, VCARD.hasAddress)]
    if not addresses:
        return {}
    if len(set(addresses)) > 1:
        count = len(set(addresses))
        raise ValueError(f"{where}: building {building} has {count} addresses; expected one")
    address = addresses[0]
    country = graph.value(address, VCARD["country-name"])
    region = graph.value(address, VCARD.region)
    if country is None:
        raise ValueError(
            f"{where}: the address of building {building} has no vcard:country-name; expected "
            "the ISO 3166-1 alpha-2 code of its country, e.g. 'DE' (README: Brick)"
        )
    country, subdivision = str(country), None if region is None else str(region)
    for term, problem in (
        ("vcard:country-name", holiday_calendar_problem(country, None)),
        ("vcard:region", holiday_calendar_problem(country, subdivision)),
    ):
        if problem:
            raise ValueError(f"{where}: building {building}'s address, {term}: {problem}")
    return {"country": country, "subdivision": subdivision}


def _floors(graph) -> dict[URIRef, tuple[int, str]]:
    """Each brick:Floor: its number (snuk:floorNumber, else the URI's trailing number, else
    its place in label order) and name."""
    nodes = sorted(graph.subjects(RDF.type, BRICK.Floor), key=lambda n: str(n))
    floors = {}
    for place, node in enumerate(nodes):
        number = graph.value(node, SNUK.floorNumber)
        if number is None:
            match = re.search(r"(-?\d+)$", _local(node))
            number = int(match.group(1)) if match else place
        floors[node] = (int(number), str(graph.value(node, RDFS.label) or _local(node)))
    return floors


def _rooms(graph, floors: dict) -> dict[URIRef, dict]:
    rooms = {}
    for brick_class in sorted(_ROOM_CLASSES):
        for node in graph.subjects(RDF.type, BRICK[brick_class]):
            if node in rooms:
                continue
            parents = {*graph.objects(node, BRICK.isPartOf), *graph.subjects(BRICK.hasPart, node)}
            floor = next((floors[p][0] for p in parents if p in floors), 0)
            kind = graph.value(node, SNUK.roomKind) or _kind_of(brick_class)
            area = graph.value(graph.value(node, BRICK.area), BRICK.value)
            rooms[node] = {
                "room_id": str(graph.value(node, SNUK.roomId) or _local(node)),
                "floor": floor,
                "name": str(graph.value(node, RDFS.label) or _local(node)),
                "kind": str(kind),
                "area_m2": float(area) if area is not None else 20.0,
            }
    return rooms


def _kind_of(brick_class: str) -> str:
    by_class = {v: k for k, v in ROOM_KINDS.items()}
    return by_class.get(brick_class, "office")


def _sensors(graph, rooms: dict, where: str) -> list[dict]:
    by_class = {v: k for k, v in SENSOR_CLASSES.items() if v != "Sensor"} | READ_ALSO
    sensors = []
    points = {*graph.subjects(BRICK.isPointOf, None), *graph.objects(None, BRICK.hasPoint)}
    for point in sorted(points, key=str):
        room = next(
            (
                r
                for r in (
                    *graph.objects(point, BRICK.isPointOf),
                    *graph.subjects(BRICK.hasPoint, point),
                )
                if r in rooms
            ),
            None,
        )
        if room is None:
            continue  # a point of equipment or a zone: not a room's sensor
        declared = graph.value(point, SNUK.sensorType)
        classes = [_local(c) for c in graph.objects(point, RDF.type)]
        sensor_type = (
            str(declared)
            if declared
            else next((by_class[c] for c in classes if c in by_class), None)
        )
        if sensor_type is None:
            raise ValueError(
                f"{where}: point {point} of class {classes} has no SNUK type; expected one of "
                f"{sorted(by_class)} (README: Brick)"
            )
        reference = graph.value(point, REF.hasExternalReference)
        sensor_id = graph.value(reference, REF.hasTimeseriesId) if reference else None
        sensors.append(
            {
                "sensor_id": str(sensor_id or _local(point)),
                "room_id": rooms[room]["room_id"],
                "type": sensor_type,
            }
        )
    return sensors


def _local(node) -> str:
    text = str(node)
    return re.split(r"[#/:]", text)[-1] or text


def _slug(text: str) -> str:
    """An id made safe for a URI's last part (ids are free-form)."""
    return re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"_{ord(m.group()):x}_", str(text))
