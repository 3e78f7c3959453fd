"""Models: the per-room forest (``training``), the baselines it must beat (``baselines``), the
scores that compare them (``metrics``), the safe model blobs (``blobs``, skops, never pickle) and
the training settings (``params``).

Nothing is imported here: ``params`` and the comparisons in ``metrics`` are read when the
definitions load, and must not bring scikit-learn with them.
"""
