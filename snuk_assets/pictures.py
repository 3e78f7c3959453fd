"""Pictures for materialization metadata: small PNGs embedded in markdown.

matplotlib is imported lazily (and with the non-interactive Agg backend) so that loading the
code location stays fast.
"""

from __future__ import annotations

import base64
import io

import pandas as pd


def png_markdown(figure, *, alt: str) -> str:
    """The figure as a markdown image with an inline base64 PNG (the Dagster UI renders it)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    return f"![{alt}](data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()})"


def motion_heatmap(series: pd.DataFrame, *, title: str):
    """Rooms x time heatmap of the motion share per bin (mean over each room's motion sensors).

    ``series`` has the columns of ``resampled_series``; bins with no coverage stay blank.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    motion = series[series["sensor_type"] == "motion"]
    grid = motion.pivot_table(
        index="room_id", columns="bin_start", values="value", aggfunc="mean", dropna=False
    )
    figure, axes = plt.subplots(figsize=(10, max(2.0, 0.18 * len(grid))))
    image = axes.imshow(
        grid.to_numpy(dtype=float),
        aspect="auto",
        interpolation="nearest",
        cmap="viridis",
        vmin=0,
        vmax=1,
    )
    axes.set_yticks(range(len(grid)), grid.index, fontsize=6)
    hours = pd.DatetimeIndex(grid.columns)
    days = max(1, round((hours[-1] - hours[0]) / pd.Timedelta(days=1))) if len(hours) else 1
    every_hours = 6 if days <= 2 else 24 * -(-days // 10)  # at most about ten labels
    ticks = [
        i
        for i, t in enumerate(hours)
        if t.minute == 0 and (t.hour + 24 * (t - hours[0]).days) % every_hours == 0
    ]
    axes.set_xticks(ticks, [hours[i].strftime("%m-%d %H:%M") for i in ticks], fontsize=7)
    axes.set_xlabel("bin start (UTC)")
    axes.set_ylabel("room")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, label="share of bin with motion")
    return figure
