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


def room_heatmap(frame: pd.DataFrame, *, value: str, title: str, label: str):
    """Rooms x time heatmap of ``frame[value]`` (0..1); missing bins stay blank.

    ``frame`` has ``room_id``, ``bin_start`` and ``value``; several rows of one room and bin are
    averaged.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = frame.pivot_table(
        index="room_id", columns="bin_start", values=value, aggfunc="mean", dropna=False
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
    bins = pd.DatetimeIndex(grid.columns)
    days = max(1, round((bins[-1] - bins[0]) / pd.Timedelta(days=1))) if len(bins) else 1
    every_hours = 6 if days <= 2 else 24 * -(-days // 10)  # at most about ten labels
    ticks = [
        i
        for i, t in enumerate(bins)
        if t.minute == 0 and (t.hour + 24 * (t - bins[0]).days) % every_hours == 0
    ]
    axes.set_xticks(ticks, [bins[i].strftime("%m-%d %H:%M") for i in ticks], fontsize=7)
    axes.set_xlabel("bin start (UTC)")
    axes.set_ylabel("room")
    axes.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axes, label=label)
    return figure
