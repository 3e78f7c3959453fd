"""People counters at a room's door: entries minus exits, reported on change.

Every crossing of the door (a change of the true headcount) is counted unless missed; the
count never goes below zero and is reset to zero at 00:00 UTC, as deployed counters reset
nightly so that missed exits do not pile up. Parameter, fixed before any result was seen:

========================  =====  ==================================================================
parameter                 value  source
========================  =====  ==================================================================
``MISSED_CROSSING``       0.02   assumption from vendors' stated accuracy of overhead stereo
                                 counters (about 98 % of crossings counted)
========================  =====  ==================================================================
"""

from __future__ import annotations

import numpy as np

MISSED_CROSSING = 0.02


def counter_reports(
    headcount: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of the day and counts the counter of one room reports.

    Parameters
    ----------
    headcount : numpy.ndarray
        The room's true headcount per second of the UTC day (86,400 values).

    Returns
    -------
    seconds, counts : numpy.ndarray
        Each report: the second (int) and the new count (float); the first, at second 0, is
        the nightly reset to 0 (people present then are not counted until they leave).
    """
    step = np.diff(headcount.astype(np.int64), prepend=headcount[:1].astype(np.int64))
    at = np.flatnonzero(step)
    entries = rng.binomial(np.maximum(step[at], 0), 1 - MISSED_CROSSING)
    exits = rng.binomial(np.maximum(-step[at], 0), 1 - MISSED_CROSSING)
    counts = np.empty(len(at), dtype=np.int64)
    count = 0
    for k in range(len(at)):
        count = max(count + int(entries[k]) - int(exits[k]), 0)
        counts[k] = count
    seconds = np.concatenate([[0], at])
    values = np.concatenate([[0], counts])
    changed = np.append(True, values[1:] != values[:-1])
    return seconds[changed], values[changed].astype(np.float64)
