"""How precisely each network's memory measures are known, and a noise summary that is not saturated.

A network's forgetting and distraction measures are means over its own trials
(*conditions*: a trial type, a start state and a stimulus draw, each run at every
delay or noise level). The conditions of one network are independent draws, the
delays or levels of one condition are not; so a network's standard error comes
from the spread of its per-condition means (:func:`condition_mean_se`).

The **noise tolerance** (:func:`noise_tolerance`) summarises a failure-vs-level
curve by the level at which the failure ratio first reaches a criterion,
interpolated on a log scale. With the book's criterion 0.25, half of the chance
failure rate of the task's two-way decision, it reads the rising part of the
curve and not the levels at which every network fails at chance (the all-level
mean is dominated by those). Its standard error comes from resampling the
network's conditions (:func:`noise_tolerance_se`).

Everything here is plain NumPy on one network or a batch (leading axis B), so the
same trials give the same numbers whatever batch a network was analysed in.
"""
from __future__ import annotations

import numpy as np

__all__ = ["condition_mean_se", "noise_tolerance", "noise_tolerance_se", "CENSORING"]

#: Codes of :func:`noise_tolerance`'s ``censored``: 0 interpolated between two levels; -1 the criterion was already
#: reached at the first disturbed level (the tolerance is at most that level); 1 never reached (at least the largest).
CENSORING = {0: None, -1: "at most the first level", 1: "at least the largest level"}


def condition_mean_se(failed: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean failure over the kept delays or levels, and its standard error over conditions.

    Args:
        failed: ``(B, D, K)`` bool, D delays (or levels) by K conditions.
        keep: ``(D,)`` bool, the delays (levels) the measure averages over.
    Returns:
        ``mean (B,)`` and ``se (B,)``: the mean of the K per-condition means and their standard
        deviation (ddof 1) over sqrt(K); NaN where nothing is kept (se also NaN when K < 2).
    """
    failed = np.asarray(failed, dtype=np.float64)
    keep = np.asarray(keep, dtype=bool)
    B, _, K = failed.shape
    if not keep.any():
        nan = np.full(B, np.nan)
        return nan, nan.copy()
    per_condition = failed[:, keep].mean(1)                                   # (B, K)
    se = per_condition.std(1, ddof=1) / np.sqrt(K) if K > 1 else np.full(B, np.nan)
    return per_condition.mean(1), se


def noise_tolerance(levels: np.ndarray, ratio: np.ndarray, criterion: float) -> tuple[np.ndarray, np.ndarray]:
    """The disturbance level at which the failure ratio first reaches ``criterion``.

    Between the last level below the criterion and the first at or above it, the level is
    interpolated linearly in log2(level) against the failure ratio. Levels <= 0 (the noiseless
    control) are ignored.

    Args:
        levels: ``(L,)`` levels, ascending.
        ratio: ``(..., L)`` failure ratio at each level.
        criterion: the failure ratio that defines the tolerance, in (0, 1].
    Returns:
        ``tolerance (...,)`` (a level) and ``censored (...,)`` int8 codes of :data:`CENSORING`: where the
        criterion is reached at the first disturbed level the tolerance is that level (an upper bound);
        where it is never reached, the largest level (a lower bound).
    """
    levels = np.asarray(levels, dtype=np.float64)
    if np.any(np.diff(levels) <= 0):
        raise ValueError(f"levels must be ascending; got {levels.tolist()}")
    use = levels > 0
    lv, r = levels[use], np.asarray(ratio, dtype=np.float64)[..., use]
    if lv.size == 0:
        raise ValueError("noise_tolerance needs at least one level above 0")
    reached = r >= criterion
    first = np.argmax(reached, axis=-1)                                       # first level at or above
    any_hit = reached.any(-1)
    lo = np.clip(first - 1, 0, None)
    x0, x1 = np.log2(lv[lo]), np.log2(lv[first])
    y0, y1 = np.take_along_axis(r, lo[..., None], -1)[..., 0], np.take_along_axis(r, first[..., None], -1)[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(y1 > y0, (criterion - y0) / (y1 - y0), 1.0)
    tol = np.exp2(x0 + np.clip(frac, 0.0, 1.0) * (x1 - x0))
    censored = np.zeros(tol.shape, dtype=np.int8)
    at_first = any_hit & (first == 0)
    tol = np.where(at_first, lv[0], tol)
    censored[at_first] = -1
    tol = np.where(any_hit, tol, lv[-1])
    censored[~any_hit] = 1
    return tol, censored


def noise_tolerance_se(levels: np.ndarray, failed: np.ndarray, criterion: float, *, n_resamples: int = 200,
                       seed: int = 0) -> np.ndarray:
    """Standard error of log2 :func:`noise_tolerance` of each network, from resampling its conditions.

    The K conditions are resampled with replacement ``n_resamples`` times (one fixed generator from ``seed``,
    the same resamples for every network, so a network's value does not depend on its batch) and the tolerance
    recomputed; the result is the standard deviation of log2 tolerance over the resamples.

    Args:
        levels: ``(L,)`` ascending.
        failed: ``(B, L, K)`` bool.
    Returns:
        ``(B,)``.
    """
    failed = np.asarray(failed, dtype=np.float64)
    B, L, K = failed.shape
    idx = np.random.default_rng(seed).integers(0, K, size=(n_resamples, K))
    out = np.empty(B)
    for b in range(B):
        boot = failed[b][:, idx].mean(-1).T                                  # (n_resamples, L)
        tol, _ = noise_tolerance(levels, boot, criterion)
        out[b] = np.log2(tol).std(ddof=1)
    return out
