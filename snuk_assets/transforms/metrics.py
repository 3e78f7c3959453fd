"""Scores of occupancy probabilities against what happened, per forecast horizon."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, roc_auc_score

THRESHOLD = 0.5


def binary_scores(
    y_true: np.ndarray, proba: np.ndarray, threshold: float = THRESHOLD
) -> dict[str, float | None]:
    """Accuracy and F1 of ``proba >= threshold``, ROC AUC and Brier score of ``proba``.

    ``y_true`` is 0/1, ``proba`` the predicted probability of 1. ROC AUC is ``None`` when
    ``y_true`` has a single class (it is undefined then); F1 is 0 when nothing is positive.
    """
    y_true = np.asarray(y_true, dtype=int)
    proba = np.clip(np.asarray(proba, dtype=float), 0.0, 1.0)
    predicted = (proba >= threshold).astype(int)
    two_classes = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "roc_auc": float(roc_auc_score(y_true, proba)) if two_classes else None,
        "brier": float(brier_score_loss(y_true, proba, labels=[0, 1])),
    }


def horizon_scores(
    model: str, labels: np.ndarray, proba: np.ndarray, thresholds: np.ndarray | None = None
) -> list[dict]:
    """One record per horizon step (1-based column index) of ``labels`` / ``proba`` (n, steps).

    ``thresholds`` (one per step, default 0.5) turn probabilities into occupied / free.
    """
    if thresholds is None:
        thresholds = np.full(labels.shape[1], THRESHOLD)
    return [
        {
            "model": model,
            "horizon": step + 1,
            "test_size": int(labels.shape[0]),
            "threshold": float(thresholds[step]),
            **binary_scores(labels[:, step], proba[:, step], thresholds[step]),
        }
        for step in range(labels.shape[1])
    ]
