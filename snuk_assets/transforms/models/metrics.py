"""Scores of occupancy probabilities against what happened, per forecast horizon.

scikit-learn is imported where ROC AUC and Brier are scored, not with the module: the
comparisons below (``comparable_f1``, ``rooms_won``, ...) serve the definitions and the asset
checks, which must load without it (issue 19: it is 2 s of every process start).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

THRESHOLD = 0.5


def binary_scores(
    y_true: np.ndarray, proba: np.ndarray, threshold: float | np.ndarray = THRESHOLD
) -> dict[str, float | None]:
    """Accuracy and F1 of ``proba >= threshold``, ROC AUC and Brier score of ``proba``.

    ``y_true`` is 0/1, ``proba`` the predicted probability of 1, ``threshold`` one cut or one
    per row. ROC AUC is ``None`` when ``y_true`` has a single class (it is undefined then); F1
    is 0 when nothing is positive.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y_true = np.asarray(y_true, dtype=int)
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    predicted = proba >= threshold
    two_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": accuracy(y_true, predicted),
        "f1": f1(y_true == 1, predicted),
        "roc_auc": float(roc_auc_score(y_true, proba)) if two_classes else None,
        "brier": float(brier_score_loss(y_true, proba, labels=[0, 1])),
    }


# Accuracy and F1 counted, with sklearn's float arithmetic (its accuracy_score and f1_score
# spent most of their time validating their input, 36 calls per room and model).
def accuracy(y_true: np.ndarray, predicted: np.ndarray) -> float:
    """Share of windows where ``predicted`` (bool) equals ``y_true`` (0/1)."""
    return float(np.mean(y_true == predicted))


def f1(positive: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of ``predicted`` against ``positive`` (both bool): 2 tp / (true + predicted), 0 when
    nothing is positive in either."""
    hits = np.count_nonzero(positive & predicted)
    total = np.count_nonzero(positive) + np.count_nonzero(predicted)
    return 2.0 * hits / total if total else 0.0


def horizon_scores(
    model: str, labels: np.ndarray, proba: np.ndarray, thresholds: np.ndarray | None = None
) -> list[dict]:
    """One record per horizon step (1-based column index) of ``labels`` / ``proba`` (n, steps).

    ``thresholds`` turn probabilities into occupied / free: one per step (default 0.5), or one
    per window and step (n, steps), e.g. windows forecast by different models. The record's
    ``threshold`` is the last window's.
    """
    if thresholds is None:
        thresholds = np.full(labels.shape[1], THRESHOLD)
    cuts = np.broadcast_to(thresholds, labels.shape)
    return [
        {
            "model": model,
            "horizon": step + 1,
            "test_size": int(labels.shape[0]),
            "threshold": float(cuts[-1, step]) if len(cuts) else float(THRESHOLD),
            **binary_scores(labels[:, step], proba[:, step], cuts[:, step]),
        }
        for step in range(labels.shape[1])
    ]


def comparable_f1(metrics: pd.DataFrame) -> pd.DataFrame:
    """F1 per ``(room_id, horizon)`` (rows) and model (columns), comparable horizons only.

    A horizon whose test labels hold a single class (``roc_auc`` null for every model, when
    ``metrics`` has that column) is left out: F1 is undefined there.
    """
    table = metrics.pivot_table(index=["room_id", "horizon"], columns="model", values="f1")
    if "roc_auc" in metrics:
        defined = metrics.groupby(["room_id", "horizon"])["roc_auc"].apply(
            lambda values: bool(values.notna().any())
        )
        table = table[defined.reindex(table.index, fill_value=False)]
    table.columns.name = None
    return table


def forest_wins_by_room(
    metrics: pd.DataFrame,
    *,
    forest: str = "random_forest",
    baselines: tuple[str, ...] = ("persistence", "time_of_week"),
) -> pd.DataFrame:
    """Per room, whether the forest's F1 beats every baseline's at every comparable horizon.

    ``metrics`` has ``room_id``, ``model``, ``horizon``, ``f1`` and optionally ``roc_auc`` (as
    in ``model_metrics`` for one training date). A horizon whose test labels hold a single
    class (``roc_auc`` null) is not comparable: with no occupied window F1 is undefined (0 for
    every model by convention), so it counts neither as a win nor as a loss. A tie is not a win.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``room_id``: the mean F1 over comparable horizons of each model (one column
        per model), ``horizons`` (comparable horizons), ``horizons_won`` and ``forest_wins``
        (True when every comparable horizon is won; False for a room without one, which
        ``horizons == 0`` marks so callers can leave it out).
    """
    table = comparable_f1(metrics)
    won = table[forest] > table[list(baselines)].max(axis=1)
    rooms = pd.Index(sorted(metrics["room_id"].unique()), name="room_id")
    out = table.groupby("room_id").mean().reindex(rooms)
    out.columns.name = None
    out["horizons"] = won.groupby("room_id").size().reindex(rooms, fill_value=0).astype(int)
    out["horizons_won"] = won.groupby("room_id").sum().reindex(rooms, fill_value=0).astype(int)
    out["forest_wins"] = (out["horizons"] > 0) & (out["horizons_won"] == out["horizons"])
    return out


def rooms_won(per_room: pd.DataFrame) -> tuple[int, int]:
    """Rooms the forest wins and rooms compared, from ``forest_wins_by_room``'s table.

    A room without a comparable horizon (``horizons == 0``) is not compared.
    """
    compared = per_room[per_room["horizons"] > 0]
    return int(compared["forest_wins"].sum()), len(compared)


def rooms_won_by_kind(per_room: pd.DataFrame, kind_of: dict[str, str]) -> dict[str, list[int]]:
    """Per room kind (``kind_of``: room id to kind, e.g. the registry's), ``[won, compared]``.

    ``per_room`` is ``forest_wins_by_room``'s table; rooms without a comparable horizon are
    left out, rooms missing from ``kind_of`` count as ``"unknown"``. Kinds in name order.
    """
    compared = per_room[per_room["horizons"] > 0]
    kinds = pd.Series([kind_of.get(str(room), "unknown") for room in compared.index])
    counts = compared["forest_wins"].astype(int).groupby(kinds.to_numpy()).agg(["sum", "size"])
    return {kind: [int(row["sum"]), int(row["size"])] for kind, row in counts.iterrows()}
