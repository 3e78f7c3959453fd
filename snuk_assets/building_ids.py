"""What a ``building_id`` may be: the name of a registry file, a landing folder and a partition.

A landing zone written before buildings existed holds ``raw_data/YYYY/MM/DD/``; its files belong
to the building ``default``. An id therefore starts with a letter, so that a first folder level
of four digits is always a year and never a building.
"""

from __future__ import annotations

import re

DEFAULT_BUILDING = "default"
BUILDING_ID_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,62}")
BUILDING_ID_RULE = (
    "a lower-case letter, then at most 62 lower-case letters, digits or '-' "
    "(e.g. 'berlin-office-2'); never a year, which is the landing layout without buildings"
)


def building_id_problem(building_id: str) -> str | None:
    """Why ``building_id`` is not a building id, or None if it is one."""
    if BUILDING_ID_PATTERN.fullmatch(building_id):
        return None
    return f"{building_id!r} is not a building id: expected {BUILDING_ID_RULE}"
