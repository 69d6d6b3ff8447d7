"""Compiled CPU kernel for FORCE training: one whole trial of one network per call.

On the CPU the per-step work of one network (N = 300 .. 1000) is a handful of
matrix-vector products; dispatching each of them through PyTorch costs more
than the arithmetic. ``_force_trial`` runs all T steps of a trial, RLS
updates included, in one compiled loop (Numba) with no allocation, on arrays
that the caller owns and reuses. Networks are independent, so
:func:`force_trials` hands each network of a batch to a thread of a small
pool (the kernel releases the GIL); every network's result is therefore the
same whatever its batch neighbours and the number of threads.

The algorithm is exactly that of :func:`slowmem.training.train` (see there):

    r = tanh(x);  (z, zd) = wout^T r            (tanh: a vectorisable form, see _tanh_into)
    on update steps in a window:  k = P r;  c = 1/(1 + r.k);  P -= c k k^T;  w -= c k e^T
    x <- (1 - a) x + a (g J r + F (z, zd) + wi u(t))

Only the order of floating-point sums (and tanh, within 3 ulp) differs from the
PyTorch engine, so the two agree to rounding after a few trials (tested), not bit
for bit; over a whole training run of a chaotic network such differences grow
until the trained readouts differ (``benchmarks/engine_check.py`` measures by
how much, against a one-ulp change of the initial state).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps `import slowmem` working without it
    numba = None

__all__ = ["AVAILABLE", "force_trials"]

#: True when Numba can be imported (the CPU kernel is usable).
AVAILABLE = numba is not None


_LN2_HI = 6.93147180369123816490e-01     # ln 2 split so that k * _LN2_HI is exact for k < 2**20
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00


def _tanh_into(x, out):
    """out = tanh(x), elementwise, in a form the compiler vectorises (libm's tanh is scalar).

    tanh|x| = -m / (2 + m) with m = exp(-2|x|) - 1, and m from a Cody-Waite
    reduction 2|x| = k ln2 + r, |r| <= ln2 / 2: m = 2^-k (e^-r - 1) + (2^-k - 1),
    with e^-r - 1 by its Taylor series to degree 14 (truncation < 1e-17). No
    cancellation at small |x|; within 3 ulp of libm in float64, 2 in float32
    (tested); NaN stays NaN, +-inf gives +-1.
    """
    for i in range(x.shape[0]):
        xi = np.float64(x[i])
        y = abs(xi)
        z = 2.0 * (20.0 if y > 20.0 else y)      # tanh(20) == 1 in float64; NaN passes through
        k = np.int64(z * _INV_LN2 + 0.5)
        s = k * _LN2_LO - (z - k * _LN2_HI)      # -r
        q = s * (1.0 + s * (1 / 2 + s * (1 / 6 + s * (1 / 24 + s * (1 / 120 + s * (1 / 720 + s * (1 / 5040 + s * (
            1 / 40320 + s * (1 / 362880 + s * (1 / 3628800 + s * (1 / 39916800 + s * (1 / 479001600 + s * (
                1 / 6227020800 + s * (1 / 87178291200))))))))))))))
        p = 1.0 / np.float64(np.int64(1) << k)   # 2^-k, exact
        m = p * q + (p - 1.0)
        v = -m / (2.0 + m)
        out[i] = v if xi >= 0 else -v


def _matvec_rows(A, r, out):
    """out[i] += sum_j A[j, i] r[j] for a row-major (N, N) A, four rows at a time.

    Reads A once, row by row (contiguous), and vectorises over i without
    reassociating any sum: the result is deterministic.
    """
    N = r.shape[0]
    j = 0
    while j + 4 <= N:
        r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
        for i in range(N):
            out[i] += A[j, i] * r0 + A[j + 1, i] * r1 + A[j + 2, i] * r2 + A[j + 3, i] * r3
        j += 4
    while j < N:
        rj = r[j]
        for i in range(N):
            out[i] += A[j, i] * rj
        j += 1


def _rls(P, pend, r, k, wout, c0, c1, e0, e1, e2):
    """One RLS step on readout columns c0:c1 of wout with error (e0, e1, e2)[c0:c1].

    The rank-1 update of P is deferred to the next call on the same P and
    fused with that call's product P r: one read-and-write pass over P per
    update instead of a read pass plus a read-and-write pass. Every element
    of P sees the same operations in the same order as with the update done
    at once, so the result is identical.

    Args:
        P: ``(N, N)`` with the previous call's update still pending.
        pend: ``(2, N)``: the pending update ``P -= pend[0] pend[1]^T``
            (c k and k of the previous call; zeros before the first), replaced.
        k: ``(N,)`` scratch.
    """
    N = r.shape[0]
    for i in range(N):
        k[i] = 0.0
    kc, kp = pend[0], pend[1]
    j = 0
    while j + 4 <= N:                # rows j..j+3: apply the pending update, then k += P[j, :] r[j] (P symmetric)
        a0, a1, a2, a3 = kc[j], kc[j + 1], kc[j + 2], kc[j + 3]
        r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
        for i in range(N):
            kpi = kp[i]
            v0 = P[j, i] - a0 * kpi
            v1 = P[j + 1, i] - a1 * kpi
            v2 = P[j + 2, i] - a2 * kpi
            v3 = P[j + 3, i] - a3 * kpi
            P[j, i] = v0
            P[j + 1, i] = v1
            P[j + 2, i] = v2
            P[j + 3, i] = v3
            k[i] += v0 * r0 + v1 * r1 + v2 * r2 + v3 * r3
        j += 4
    while j < N:
        a0, r0 = kc[j], r[j]
        for i in range(N):
            v0 = P[j, i] - a0 * kp[i]
            P[j, i] = v0
            k[i] += v0 * r0
        j += 1
    s = 0.0
    for i in range(N):
        s += r[i] * k[i]
    c = 1.0 / (1.0 + s)
    for j in range(N):
        kc[j] = k[j] * c
        kp[j] = k[j]
    for j in range(N):
        for m in range(c0, c1):
            e = e0 if m == 0 else (e1 if m == 1 else e2)
            wout[j, m] -= kc[j] * e


def _force_trial(W_T, F_T, wi_T, P_out, P_mem, pend, wout, x, u, target, resp, mem, modified, every, step0, a, am,
                 outputs, r, rec, k):
    """All T steps of one trial of one network, in place.

    Args:
        W_T: ``(N, N)`` (g J)^T.   F_T: ``(3, N)`` feedback [wf, wfd]^T.
        P_out, P_mem: ``(N, N)`` RLS matrices (the same array for the original rule).
        pend: ``(2, 2, N)`` their pending rank-1 updates (see :func:`_rls`), carried across trials.
        wout: ``(N, 3)`` readouts [wo, wd], updated.   x: ``(N,)`` state, updated.
        wi_T: ``(2, N)`` input weights^T.   u: ``(T, 2)`` input latents.   target: ``(T, 3)``.
        resp, mem: ``(T,)`` bool window masks.   modified: rule flag.
        every: update every this many steps.   step0: global step count at the trial start.
        a, am: dt / tau and 1 - a, in the arrays' dtype.   outputs: ``(T, 3)`` written.   r, rec, k: ``(N,)`` scratch.
    Returns:
        the global step count after the trial.
    """
    T, N = u.shape[0], x.shape[0]
    step = step0
    for t in range(T):
        _tanh_into(x, r)
        z0 = 0.0
        z1 = 0.0
        z2 = 0.0
        for i in range(N):
            z0 += r[i] * wout[i, 0]
            z1 += r[i] * wout[i, 1]
            z2 += r[i] * wout[i, 2]
        outputs[t, 0] = z0
        outputs[t, 1] = z1
        outputs[t, 2] = z2
        if step % every == 0:
            e0 = z0 - target[t, 0]
            e1 = z1 - target[t, 1]
            e2 = z2 - target[t, 2]
            if not modified:
                _rls(P_out, pend[0], r, k, wout, 0, 3, e0, e1, e2)
            elif resp[t]:
                _rls(P_out, pend[0], r, k, wout, 0, 1, e0, e1, e2)
            elif mem[t]:
                _rls(P_mem, pend[1], r, k, wout, 1, 3, e0, e1, e2)
        u0, u1 = u[t, 0], u[t, 1]
        for i in range(N):
            rec[i] = u0 * wi_T[0, i] + u1 * wi_T[1, i] + z0 * F_T[0, i] + z1 * F_T[1, i] + z2 * F_T[2, i]
        _matvec_rows(W_T, r, rec)
        for i in range(N):
            x[i] = am * x[i] + a * rec[i]
        step += 1
    return step


if AVAILABLE:
    # error_model="numpy": a float division by zero gives inf/nan instead of raising, which lets
    # loops with divisions vectorise
    _jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
    _tanh_into = _jit(_tanh_into)
    _matvec_rows = _jit(_matvec_rows)
    _rls = _jit(_rls)
    _force_trial = _jit(_force_trial)


def force_trials(W_T, F_T, wi_T, P_out, P_mem, pend, wout, x, u, target, resp, mem, *, modified: bool, every: int,
                 step0: int, a: float, outputs, scratch, pool: ThreadPoolExecutor | None = None) -> int:
    """One trial for each of B networks, in place, on NumPy arrays (one dtype, C-contiguous).

    Shapes: ``W_T, P_out, P_mem (B, N, N)``, ``pend (B, 2, 2, N)`` (zeros at the
    start of training, then carried from trial to trial), ``F_T (B, 3, N)``, ``wout (B, N, 3)``,
    ``wi_T (B, 2, N)``, ``x (B, N)``, ``u (B, T, 2)``, ``target (B, T, 3)``, ``resp, mem (T,)``,
    ``outputs (B, T, 3)``, ``scratch (B, 3, N)``. With a thread ``pool`` the
    networks of the batch train concurrently. Returns the global step count after the trial.
    """
    if not AVAILABLE:
        raise RuntimeError("the numba training engine needs the 'numba' package (pip install numba)")
    B = W_T.shape[0]
    a, am = W_T.dtype.type(a), W_T.dtype.type(1.0 - a)

    def one(b: int) -> int:
        return _force_trial(W_T[b], F_T[b], wi_T[b], P_out[b], P_mem[b], pend[b], wout[b], x[b], u[b], target[b], resp, mem,
                            modified, every, step0, a, am, outputs[b], scratch[b, 0], scratch[b, 1], scratch[b, 2])

    steps = [one(b) for b in range(B)] if pool is None or B == 1 else list(pool.map(one, range(B)))
    return steps[0]
