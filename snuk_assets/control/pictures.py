"""The control evaluation's picture: energy against discomfort, one point per policy."""

from __future__ import annotations

import pandas as pd


def energy_against_discomfort(building: pd.DataFrame, *, title: str):
    """Scatter of ``energy_kwh`` (x) against ``discomfort_kh`` (y), one labelled point per
    policy; ``building`` is indexed by policy. Lower left is better."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5))
    for policy, row in building.iterrows():
        axes.scatter(row["energy_kwh"], row["discomfort_kh"], s=40)
        axes.annotate(
            f"{policy}\n{row['miss_minutes']:.0f} miss min, "
            f"{row['dark_occupied_minutes']:.0f} dark min",
            (row["energy_kwh"], row["discomfort_kh"]),
            fontsize=7,
            xytext=(4, 4),
            textcoords="offset points",
        )
    axes.set_xlabel("energy (kWh, lighting + HVAC electric)")
    axes.set_ylabel("thermal discomfort while occupied (K h)")
    axes.set_title(title, fontsize=9)
    axes.margins(0.25)
    return figure
