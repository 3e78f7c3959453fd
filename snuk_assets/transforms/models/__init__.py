"""Models: the per-room forest (``training``), the baselines it must beat (``baselines``), the
scores that compare them (``metrics``) and the safe model blobs (``blobs``, skops, never pickle).
"""

from snuk_assets.transforms.models.training import TrainingParams, positive_proba, train_room

__all__ = ["TrainingParams", "positive_proba", "train_room"]
