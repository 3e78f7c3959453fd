"""A deterministic simulation of a smart building: ground-truth occupancy and sensor uploads.

``simulate_building`` writes gateway upload files to a landing zone and the true occupancy to
a Parquet file; ``simulate_observations`` yields the same observations day by day, unwritten.
"""

from snuk_assets.simulate.observations import plan_simulation, simulate_observations
from snuk_assets.simulate.occupancy import simulate_occupancy, truth_occupied_fraction
from snuk_assets.simulate.simulation import SimulationSummary, simulate_building

__all__ = [
    "SimulationSummary",
    "plan_simulation",
    "simulate_building",
    "simulate_observations",
    "simulate_occupancy",
    "truth_occupied_fraction",
]
