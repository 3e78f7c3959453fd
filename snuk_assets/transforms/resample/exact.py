"""Exact time-weighted bin means of step-hold and piecewise-linear signals, on numpy arrays.

The numerical kernel of :mod:`snuk_assets.transforms.resample.bins`. Every sensor's signal is a
sequence of segments, one starting at each observation; a bin's integral is the signal's
cumulative integral at the bin's end minus the one at its start. Segment sums are taken with
``np.add.reduceat`` over each bin's own segments rather than as differences of one running
sum, so a long series does not lose precision to cancellation.

Times are int64 nanoseconds since the epoch (UTC); integrals are in value x nanoseconds.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

# Sensors are resampled in chunks of about this many observations: it bounds the temporary
# arrays (~80 bytes per observation) and lets two threads share the work, since numpy releases
# the GIL inside its loops.
CHUNK_OBSERVATIONS = 1_000_000
_NO_NEXT = np.iinfo(np.int64).max  # "gap" after a sensor's last observation


@dataclass(frozen=True)
class Bins:
    """Regular bins ``[start_ns + k * width_ns, start_ns + (k + 1) * width_ns)``, k < count."""

    start_ns: int
    width_ns: int
    count: int

    def edges_ns(self) -> np.ndarray:
        """The ``count + 1`` bin edges, int64 ns."""
        return self.start_ns + self.width_ns * np.arange(self.count + 1, dtype=np.int64)


@dataclass(frozen=True)
class SensorBlocks:
    """Observations sorted by sensor, then strictly increasing time.

    Sensor ``s`` owns rows ``offsets[s]:offsets[s + 1]`` of ``ts_ns`` (int64 ns) and ``value``
    (float64); ``is_step[s]`` selects its signal model (step-hold, else linear),
    ``max_gap_ns[s]`` is the longest gap (int64 ns) it bridges and ``max_on_ns[s]``
    (``<= max_gap_ns[s]``) the longest a step signal's nonzero value holds.
    """

    ts_ns: np.ndarray
    value: np.ndarray
    offsets: np.ndarray
    is_step: np.ndarray
    max_gap_ns: np.ndarray
    max_on_ns: np.ndarray

    @property
    def n_sensors(self) -> int:
        return len(self.offsets) - 1

    def subset(self, first: int, stop: int) -> SensorBlocks:
        """Sensors ``first:stop``, their rows as views, offsets rebased to 0."""
        lo, hi = self.offsets[first], self.offsets[stop]
        return SensorBlocks(
            self.ts_ns[lo:hi],
            self.value[lo:hi],
            self.offsets[first : stop + 1] - lo,
            self.is_step[first:stop],
            self.max_gap_ns[first:stop],
            self.max_on_ns[first:stop],
        )


def observations_before_edges(blocks: SensorBlocks, bins: Bins) -> np.ndarray:
    """How many of each sensor's observations lie before each bin edge.

    Returns
    -------
    numpy.ndarray
        int64, shape ``(n_sensors, bins.count + 1)``: column k counts ``ts < edge k``, so
        ``np.diff`` along axis 1 gives the observations inside each bin.
    """
    # Slot 0 holds observations before the first edge, slot k + 1 those in bin k, and the
    # last slot those at or after the last edge. Slots are regular, so no search is needed.
    slots = bins.count + 2
    slot = np.floor_divide(blocks.ts_ns - bins.start_ns, bins.width_ns)
    np.clip(slot, -1, bins.count, out=slot)
    slot += 1
    slot += np.repeat(np.arange(blocks.n_sensors, dtype=np.int64) * slots, np.diff(blocks.offsets))
    per_slot = np.bincount(slot, minlength=blocks.n_sensors * slots)
    return np.cumsum(per_slot.reshape(blocks.n_sensors, slots), axis=1)[:, : bins.count + 1]


def exact_bin_means(
    blocks: SensorBlocks, *, bins: Bins, threads: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-weighted mean, coverage and observation count of every sensor's every bin.

    Parameters
    ----------
    blocks : SensorBlocks
        The observations, sorted and with each sensor's model and max gap.
    bins : Bins
        The regular bins to fill.
    threads : int, optional
        Worker threads; default: the machine's CPU count.

    Returns
    -------
    mean, coverage, n_obs : numpy.ndarray
        Shape ``(n_sensors, bins.count)``. ``mean`` (float64, the sensor's unit) averages the
        signal over the part of the bin where it is defined, NaN where that part is empty;
        ``coverage`` (float64, 0..1) is that part's share of the bin; ``n_obs`` (int64) counts
        observations with ``ts`` in the bin.
    """
    shape = (blocks.n_sensors, bins.count)
    mean, coverage, n_obs = np.empty(shape), np.empty(shape), np.empty(shape, dtype=np.int64)

    def run(first: int, stop: int) -> None:
        chunk = _chunk_bin_means(blocks.subset(first, stop), bins)
        mean[first:stop], coverage[first:stop], n_obs[first:stop] = chunk

    bounds = _chunk_bounds(blocks.offsets)
    with ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1) as pool:
        # list() re-raises a worker's exception here.
        list(pool.map(run, bounds[:-1], bounds[1:]))
    return mean, coverage, n_obs


def _chunk_bounds(offsets: np.ndarray) -> np.ndarray:
    """Sensor indices that split the rows into chunks of about CHUNK_OBSERVATIONS each."""
    n_sensors = len(offsets) - 1
    targets = np.arange(CHUNK_OBSERVATIONS, offsets[-1], CHUNK_OBSERVATIONS)
    cuts = np.searchsorted(offsets, targets)
    return np.unique(np.concatenate([[0], np.clip(cuts, 1, n_sensors), [n_sensors]]))


def _chunk_bin_means(blocks: SensorBlocks, bins: Bins) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`exact_bin_means` for one chunk of sensors, in the calling thread."""
    length_ns, level, slope = _segments(blocks)
    # Segment j covers [ts_j, ts_j + length_ns_j) with signal level_j + slope_j * (t - ts_j).
    length = length_ns.astype(np.float64)
    integral = length * (level + 0.5 * slope * length)

    before = observations_before_edges(blocks, bins)
    first_row = blocks.offsets[:-1, None]
    # The segment holding each edge: the last observation before it. An edge before a
    # sensor's first observation takes the first segment, whose partial integral there is 0.
    seg = np.maximum(first_row + before - 1, first_row)
    into_ns = np.clip(bins.edges_ns()[None, :] - blocks.ts_ns[seg], 0, length_ns[seg])
    into = into_ns.astype(np.float64)
    partial = into * (level[seg] + 0.5 * slope[seg] * into)

    # Bin k spans the segments seg[k] .. seg[k + 1] - 1 whole, plus the partial integral up
    # to its end, minus the one up to its start.
    bin_integral = _sum_between(integral, seg) + np.diff(partial, axis=1)
    covered_ns = _sum_between(length_ns, seg) + np.diff(into_ns, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = bin_integral / covered_ns
    mean[covered_ns == 0] = np.nan
    return mean, covered_ns / bins.width_ns, np.diff(before, axis=1)


def _segments(blocks: SensorBlocks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each observation's segment: defined length (int64 ns), level and slope (per ns)."""
    ts, value = blocks.ts_ns, blocks.value
    counts = np.diff(blocks.offsets)
    is_step = np.repeat(blocks.is_step, counts)
    max_gap = _row_max_gap(blocks, value, counts, is_step)
    last = blocks.offsets[1:] - 1

    gap = np.empty_like(ts)
    np.subtract(ts[1:], ts[:-1], out=gap[:-1])
    gap[last] = _NO_NEXT
    # Step-hold: the value holds until the next observation, at most max_gap (max_on for a
    # nonzero value). Linear: a segment exists only up to a next observation no more than
    # max_gap away.
    length_ns = np.where(is_step, np.minimum(gap, max_gap), np.where(gap <= max_gap, gap, 0))

    step_up = np.empty_like(value)
    np.subtract(value[1:], value[:-1], out=step_up[:-1])
    step_up[last] = 0.0
    linear = ~is_step & (length_ns > 0)
    slope = np.zeros_like(value)
    np.divide(step_up, gap, out=slope, where=linear)
    return length_ns, value, slope


def _row_max_gap(blocks: SensorBlocks, value, counts, is_step) -> np.ndarray:
    """Per observation, how long its value may hold: :func:`_step_hold` or ``max_gap``."""
    max_gap = np.repeat(blocks.max_gap_ns, counts)
    max_on = np.repeat(blocks.max_on_ns, counts)
    return np.where(is_step, _step_hold(value, max_gap, max_on), max_gap)


def _step_hold(value, max_gap_ns, max_on_ns):
    """How long a step value holds without a report: ``max_on`` if nonzero, else ``max_gap``."""
    return np.where(value != 0, max_on_ns, max_gap_ns)


def _sum_between(per_segment: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Sum of ``per_segment[seg[s, k] : seg[s, k + 1]]``, shape ``(n_sensors, n_edges - 1)``."""
    # reduceat sums between consecutive indices of the flattened edges; the value after a
    # sensor's last edge spans into the next sensor and is dropped. Where two indices are
    # equal reduceat returns the element itself rather than 0, hence the mask.
    sums = np.add.reduceat(per_segment, seg.ravel()).reshape(seg.shape)[:, :-1]
    sums[seg[:, 1:] == seg[:, :-1]] = 0
    return sums


def idle_at_bin_ends(blocks: SensorBlocks, bins: Bins) -> np.ndarray:
    """How long each step signal has been 0 at each bin's end, in minutes.

    A motion sensor reports on change, so the time of its last OFF report is when motion
    stopped: the bins' ON shares cannot tell that moment, and it is what predicts a
    departure. A run of zeros starts at a 0 after a nonzero value, at a sensor's first
    observation, or at the first observation after a gap longer than ``max_gap`` (back
    online: the time before it is unknown).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n_sensors, bins.count)``: 0 where the signal is nonzero just before
        the bin's end, else the minutes since its run of zeros began; NaN for linear signals,
        before a sensor's first observation and where the signal is undefined at the bin's
        end (silent for longer than ``max_gap``, or ``max_on`` after a nonzero value: offline).
    """
    idle = np.full((blocks.n_sensors, bins.count), np.nan)
    ends = bins.edges_ns()[1:]

    # One step sensor at a time, so the temporaries stay as small as one sensor's rows; two
    # threads share them, since numpy releases the GIL inside its loops.
    def run(s: int) -> None:
        rows = slice(blocks.offsets[s], blocks.offsets[s + 1])
        if rows.stop > rows.start:
            idle[s] = _sensor_idle(
                blocks.ts_ns[rows],
                blocks.value[rows],
                blocks.max_gap_ns[s],
                blocks.max_on_ns[s],
                ends,
            )

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(run, np.flatnonzero(blocks.is_step)))  # list() re-raises errors here
    return idle


def _sensor_idle(
    ts: np.ndarray, value: np.ndarray, max_gap_ns: int, max_on_ns: int, ends: np.ndarray
):
    """:func:`idle_at_bin_ends` of one sensor's sorted observations, at the bin ends ``ends``."""
    run_starts = value == 0
    run_starts[1:] &= (value[:-1] != 0) | (np.diff(ts) > max_gap_ns)
    run_starts = np.flatnonzero(run_starts)
    before = np.searchsorted(ts, ends, side="left")  # observations with ts < the bin's end
    last = np.maximum(before - 1, 0)
    hold = _step_hold(value[last], max_gap_ns, max_on_ns)
    defined = (before > 0) & (ends - ts[last] <= hold)
    # A zero at ``last`` belongs to the run of zeros that began at the last run start before it.
    quiet = value[last] == 0
    idle_ns = np.zeros(len(ends), dtype=np.int64)
    if quiet.any():
        head = run_starts[np.searchsorted(run_starts, last[quiet], side="right") - 1]
        idle_ns[quiet] = ends[quiet] - ts[head]
    return np.where(defined, idle_ns / 60e9, np.nan)
