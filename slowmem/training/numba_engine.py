"""Compiled CPU kernel for FORCE training: whole trials of a group of networks per call.

On the CPU the per-step work of one network (N = 300 .. 1000) is a handful of
matrix-vector products; dispatching each of them through PyTorch costs more
than the arithmetic. ``_force_trial`` runs every step of one or more trials
(back to back), RLS updates included, in one compiled loop (Numba) with no
allocation per step, on arrays that the caller owns and reuses.

Networks that share their recurrent matrix g J (a sweep's networks that
differ only in fb, say; :func:`share_groups` finds them by comparing the
matrices) advance in lockstep inside one call, so that each step reads g J
once for the group; every other array is per network. A network alone is a
group of one. :func:`force_trials` hands groups to the threads of a small
pool (the kernel releases the GIL). Nothing is summed across networks and
every sum keeps its order, so each network's result is bit for bit the same
whatever its group, its batch neighbours and the number of threads (tested).

The algorithm is exactly that of :func:`slowmem.training.train` (see there): the model's step
(:func:`slowmem.network.rate_step`) with RLS, as :func:`slowmem.training.torch_engine.force_step` states it:

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

import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from .state import TrainingState
from .torch_engine import Stepper

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; this keeps `import slowmem` working without it
    numba = None

__all__ = ["AVAILABLE", "cache_share_bytes", "force_trials", "share_groups", "NumbaStepper"]

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


#: Columns of A per tile in :func:`_matvec_shared`: the tile of three networks' outputs
#: (3 x 4 kB in float64) stays in the 32 kB L1 cache while the rows of A stream past.
_TILE = 512


def _matvec_shared(A, scratch, members):
    """out_m[i] += sum_j A[j, i] r_m[j] for every network m of ``members``, all with the same A.

    ``r_m = scratch[m, 0]``, ``out_m = scratch[m, 1]``; A is row-major ``(N, N)``.
    Rows are taken four at a time and networks three (or two) at a time, so
    each loaded element of A serves several networks: per network this takes
    about half the time of one network alone, which is bound by reading A
    (measured at N = 300). Columns go in tiles of ``_TILE``, so that the
    networks' outputs stay in the L1 cache at large N. Every ``out_m[i]`` gets
    the same sum in the same order whatever the blocking (rows in increasing
    order, no reassociation, no fused multiply-add), so a network's result
    does not depend on which networks share A with it.
    """
    N = A.shape[0]
    G = members.shape[0]
    if G == 1:
        _matvec_one(A, scratch[members[0], 0], scratch[members[0], 1])
        return
    for lo in range(0, N, _TILE):
        hi = min(lo + _TILE, N)
        n = 0
        while n < G:
            left = G - n
            if left >= 3 and left != 4:           # G >= 2: threes, then twos (never one alone)
                _cols_x3(A, lo, hi, scratch[members[n]], scratch[members[n + 1]], scratch[members[n + 2]])
                n += 3
            else:
                _cols_x2(A, lo, hi, scratch[members[n]], scratch[members[n + 1]])
                n += 2
        j = N - N % 4
        while j < N:                 # rows left over by the four-row blocks
            for n in range(G):
                pj, op = scratch[members[n], 0, j], scratch[members[n], 1]
                for i in range(np.uint64(lo), np.uint64(hi)):
                    op[i] += A[j, i] * pj
            j += 1


def _matvec_one(A, r, out):
    """out[i] += sum_j A[j, i] r[j]: :func:`_matvec_shared` for one network, without its tiling.

    The same sums in the same order, without the group path's per-block dispatch, which
    cost a network alone about 10 % of its training speed. Rows go eight at a time, adding
    two four-row partial sums in turn (the same sums as four rows at a time, with half the
    loads and stores of ``out``: 9 % faster at N = 1000, the same at N = 300).
    """
    N = r.shape[0]
    j = 0
    while j + 8 <= N:
        r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
        r4, r5, r6, r7 = r[j + 4], r[j + 5], r[j + 6], r[j + 7]
        for i in range(np.uint64(0), np.uint64(N)):
            out[i] = (out[i] + (A[j, i] * r0 + A[j + 1, i] * r1 + A[j + 2, i] * r2 + A[j + 3, i] * r3)) + (
                A[j + 4, i] * r4 + A[j + 5, i] * r5 + A[j + 6, i] * r6 + A[j + 7, i] * r7)
        j += 8
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


# The helpers below take every four-row block of columns lo:hi in one call (one call per
# block cost ~20 % of the product at N = 300) and loop over range(uint64(lo), uint64(hi)):
# with a signed start the loop does not vectorise (Numba must allow for negative, wrapping
# indices), which halves the speed.

def _cols_x2(A, lo, hi, sp, sq):
    """Four-row blocks of A, columns lo:hi, for two networks, each element of A loaded once."""
    rp, op, rq, oq = sp[0], sp[1], sq[0], sq[1]
    j = 0
    while j + 4 <= A.shape[0]:
        p0, p1, p2, p3 = rp[j], rp[j + 1], rp[j + 2], rp[j + 3]
        q0, q1, q2, q3 = rq[j], rq[j + 1], rq[j + 2], rq[j + 3]
        for i in range(np.uint64(lo), np.uint64(hi)):
            a0, a1, a2, a3 = A[j, i], A[j + 1, i], A[j + 2, i], A[j + 3, i]
            op[i] += a0 * p0 + a1 * p1 + a2 * p2 + a3 * p3
            oq[i] += a0 * q0 + a1 * q1 + a2 * q2 + a3 * q3
        j += 4


def _cols_x3(A, lo, hi, sp, sq, ss):
    """Four-row blocks of A, columns lo:hi, for three networks, each element of A loaded once."""
    rp, op, rq, oq, rs, os_ = sp[0], sp[1], sq[0], sq[1], ss[0], ss[1]
    j = 0
    while j + 4 <= A.shape[0]:
        p0, p1, p2, p3 = rp[j], rp[j + 1], rp[j + 2], rp[j + 3]
        q0, q1, q2, q3 = rq[j], rq[j + 1], rq[j + 2], rq[j + 3]
        s0, s1, s2, s3 = rs[j], rs[j + 1], rs[j + 2], rs[j + 3]
        for i in range(np.uint64(lo), np.uint64(hi)):
            a0, a1, a2, a3 = A[j, i], A[j + 1, i], A[j + 2, i], A[j + 3, i]
            op[i] += a0 * p0 + a1 * p1 + a2 * p2 + a3 * p3
            oq[i] += a0 * q0 + a1 * q1 + a2 * q2 + a3 * q3
            os_[i] += a0 * s0 + a1 * s1 + a2 * s2 + a3 * s3
        j += 4


def _rls(P, pend, r, k, wout, c0, c1, e0, e1, e2):
    """One RLS step on readout columns c0:c1 of wout with error (e0, e1, e2)[c0:c1].

    The rank-1 update of P is deferred to the next call on the same P and fused
    with that call's product P r (one read-and-write pass over P per update).
    Every element of P sees the same operations in the same order as with the
    update done at once, so the result is identical. Rows go eight at a time:
    k gets the same four-row partial sums, with half the loads and stores of k.

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
    while j + 8 <= N:                # rows j..j+7: apply the pending update, then k += P[j, :] r[j] (P symmetric)
        a0, a1, a2, a3 = kc[j], kc[j + 1], kc[j + 2], kc[j + 3]
        a4, a5, a6, a7 = kc[j + 4], kc[j + 5], kc[j + 6], kc[j + 7]
        r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
        r4, r5, r6, r7 = r[j + 4], r[j + 5], r[j + 6], r[j + 7]
        for i in range(np.uint64(0), np.uint64(N)):
            kpi = kp[i]
            v0 = P[j, i] - a0 * kpi
            v1 = P[j + 1, i] - a1 * kpi
            v2 = P[j + 2, i] - a2 * kpi
            v3 = P[j + 3, i] - a3 * kpi
            v4 = P[j + 4, i] - a4 * kpi
            v5 = P[j + 5, i] - a5 * kpi
            v6 = P[j + 6, i] - a6 * kpi
            v7 = P[j + 7, i] - a7 * kpi
            P[j, i] = v0
            P[j + 1, i] = v1
            P[j + 2, i] = v2
            P[j + 3, i] = v3
            P[j + 4, i] = v4
            P[j + 5, i] = v5
            P[j + 6, i] = v6
            P[j + 7, i] = v7
            # two four-row partial sums added in turn: the sums of four-row blocks, one load and store of k
            k[i] = (k[i] + (v0 * r0 + v1 * r1 + v2 * r2 + v3 * r3)) + (v4 * r4 + v5 * r5 + v6 * r6 + v7 * r7)
        j += 8
    while j + 4 <= N:
        a0, a1, a2, a3 = kc[j], kc[j + 1], kc[j + 2], kc[j + 3]
        r0, r1, r2, r3 = r[j], r[j + 1], r[j + 2], r[j + 3]
        for i in range(np.uint64(0), np.uint64(N)):
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


def _readouts(scratch, wout, members, z):
    """``z[n] = wout[m]^T r_m`` (float64) for each member ``m = members[n]``, ``r_m = scratch[m, 0]``.

    Each sum runs over i in order (no vectorisation, which would reorder it), so a network
    alone is bound by the latency of its three chains of additions; three networks per pass
    interleave nine independent chains.
    """
    G, N = members.shape[0], scratch.shape[2]
    n = 0
    while n + 3 <= G:
        ra, rb, rc = scratch[members[n], 0], scratch[members[n + 1], 0], scratch[members[n + 2], 0]
        wa, wb, wc = wout[members[n]], wout[members[n + 1]], wout[members[n + 2]]
        a0 = a1 = a2 = b0 = b1 = b2 = c0 = c1 = c2 = 0.0
        for i in range(N):
            a0 += ra[i] * wa[i, 0]
            a1 += ra[i] * wa[i, 1]
            a2 += ra[i] * wa[i, 2]
            b0 += rb[i] * wb[i, 0]
            b1 += rb[i] * wb[i, 1]
            b2 += rb[i] * wb[i, 2]
            c0 += rc[i] * wc[i, 0]
            c1 += rc[i] * wc[i, 1]
            c2 += rc[i] * wc[i, 2]
        z[n, 0], z[n, 1], z[n, 2] = a0, a1, a2
        z[n + 1, 0], z[n + 1, 1], z[n + 1, 2] = b0, b1, b2
        z[n + 2, 0], z[n + 2, 1], z[n + 2, 2] = c0, c1, c2
        n += 3
    while n < G:
        ra, wa = scratch[members[n], 0], wout[members[n]]
        a0 = a1 = a2 = 0.0
        for i in range(N):
            a0 += ra[i] * wa[i, 0]
            a1 += ra[i] * wa[i, 1]
            a2 += ra[i] * wa[i, 2]
        z[n, 0], z[n, 1], z[n, 2] = a0, a1, a2
        n += 1


def _force_trial(W_T, F_T, wi_T, P_out, P_mem, pend, wout, x, u, target, resp, mem, modified, every, step0, a, am,
                 outputs, scratch, members):
    """All steps of K trials (back to back) for the networks ``members`` of a batch, which share (g J), in place.

    Args (B: the batch; only rows ``members`` are read or written):
        W_T: ``(N, N)`` (g J)^T, the same for every member.   F_T: ``(B, 3, N)`` feedback [wf, wfd]^T.
        P_out, P_mem: ``(B, N, N)`` RLS matrices (the same array for the original rule).
        pend: ``(B, 2, 2, N)`` their pending rank-1 updates (see :func:`_rls`), carried across trials.
        wout: ``(B, N, 3)`` readouts [wo, wd], updated.   x: ``(B, N)`` states, updated.
        wi_T: ``(B, 2, N)`` input weights^T.   u: ``(B, K T, 2)`` input latents.   target: ``(B, K T, 3)``.
        resp, mem: ``(K T,)`` bool window masks.   modified: rule flag.
        every: update every this many steps.   step0: global step count at the first step.
        a, am: dt / tau and 1 - a, in the arrays' dtype.   outputs: ``(B, K T, 3)`` written.
        scratch: ``(B, 3, N)`` (r, recurrent input, k).   members: ``(G,)`` int64 batch indices.
    Returns:
        the global step count after the last step.

    Members advance in lockstep, so that one pass over W_T per step serves
    all of them (:func:`_matvec_shared`); everything else is per network, and
    each network's numbers are those it gets alone.
    """
    T, N = u.shape[1], x.shape[1]
    z = np.empty((members.shape[0], 3))
    step = step0
    for t in range(T):
        update = step % every == 0
        for m in members:
            _tanh_into(x[m], scratch[m, 0])
        _readouts(scratch, wout, members, z)
        for n in range(members.shape[0]):
            m = members[n]
            r, rec, k, wm = scratch[m, 0], scratch[m, 1], scratch[m, 2], wout[m]
            z0, z1, z2 = z[n, 0], z[n, 1], z[n, 2]
            outputs[m, t, 0] = z0
            outputs[m, t, 1] = z1
            outputs[m, t, 2] = z2
            if update:
                e0 = z0 - target[m, t, 0]
                e1 = z1 - target[m, t, 1]
                e2 = z2 - target[m, t, 2]
                if not modified:
                    _rls(P_out[m], pend[m, 0], r, k, wm, 0, 3, e0, e1, e2)
                elif resp[t]:
                    _rls(P_out[m], pend[m, 0], r, k, wm, 0, 1, e0, e1, e2)
                elif mem[t]:
                    _rls(P_mem[m], pend[m, 1], r, k, wm, 1, 3, e0, e1, e2)
            u0, u1, Fm, wim = u[m, t, 0], u[m, t, 1], F_T[m], wi_T[m]
            for i in range(N):
                rec[i] = u0 * wim[0, i] + u1 * wim[1, i] + z0 * Fm[0, i] + z1 * Fm[1, i] + z2 * Fm[2, i]
        _matvec_shared(W_T, scratch, members)
        for m in members:
            rec, xm = scratch[m, 1], x[m]
            for i in range(N):
                xm[i] = am * xm[i] + a * rec[i]
        step += 1
    return step


if AVAILABLE:
    # error_model="numpy": a float division by zero gives inf/nan instead of raising, which lets
    # loops with divisions vectorise
    _jit = numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
    _tanh_into = _jit(_tanh_into)
    _matvec_one = _jit(_matvec_one)
    _cols_x2 = _jit(_cols_x2)
    _cols_x3 = _jit(_cols_x3)
    _matvec_shared = _jit(_matvec_shared)
    _rls = _jit(_rls)
    _readouts = _jit(_readouts)
    _force_trial = _jit(_force_trial)


@functools.lru_cache(maxsize=1)
def cache_share_bytes() -> int:
    """Bytes of the last-level cache per CPU sharing it (from Linux sysfs, read once; 4 MiB where unknown)."""
    import glob

    found = []
    for d in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*"):
        try:
            with open(f"{d}/level") as f:
                level = int(f.read())
            with open(f"{d}/size") as f:
                text = f.read().strip()
            with open(f"{d}/shared_cpu_list") as f:
                ranges = [p.partition("-") for p in f.read().strip().split(",") if p]
            size = int(text.rstrip("KMG")) * {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            cpus = sum(int(b) - int(a) + 1 if b else 1 for a, _, b in ranges)
        except (OSError, ValueError):
            continue
        found.append((level, size // max(1, cpus)))
    return max(found)[1] if found else 4 * 2**20


def share_groups(W_T: np.ndarray, threads: int = 1, cache_bytes: int | None = None) -> list[np.ndarray]:
    """Split a batch into groups of networks with identical (g J), for :func:`force_trials`.

    Networks of a sweep with the same seed, N, pg, connectivity draw and g
    (they differ in fb, say) have the same recurrent matrix; training them in
    lockstep reads it once per step for the group. Groups are found by
    comparing the matrices, not configs. A group in lockstep needs g J plus
    one active RLS matrix per member in cache, so groups are cut to at most
    ``cache_bytes / (N^2 x itemsize) - 1`` members (default: three quarters
    of this CPU's share of the last-level cache, :func:`cache_share_bytes`,
    leaving room for the rest; measured here, a group of three at N = 1000 in
    float32 was slower than one network at a time when both cores trained,
    a group of two faster). At N = 1000 in float64 that is one, so large
    networks train one at a time, from cache.
    When there are fewer groups than ``threads``, the largest groups are
    halved until every thread has one. Grouping never changes results, only
    speed.

    Args:
        W_T: ``(B, N, N)``.
    Returns:
        int64 index arrays, in order of their first member, covering ``range(B)`` once.
    """
    import hashlib

    B, N = W_T.shape[0], W_T.shape[-1]
    budget = cache_share_bytes() * 3 // 4 if cache_bytes is None else int(cache_bytes)
    largest = max(1, budget // (N * N * W_T.dtype.itemsize) - 1)
    found: list[list[int]] = []
    by_digest: dict[bytes, list[list[int]]] = {}
    for b in range(B):
        d = hashlib.blake2b(np.ascontiguousarray(W_T[b]).view(np.uint8), digest_size=16).digest()
        for g in by_digest.setdefault(d, []):
            if np.array_equal(W_T[g[0]], W_T[b]):
                g.append(b)
                break
        else:
            g = [b]
            by_digest[d].append(g)
            found.append(g)
    groups: list[list[int]] = []
    for g in found:
        n = -(-len(g) // largest)
        groups += [g[i * len(g) // n:(i + 1) * len(g) // n] for i in range(n)]
    while len(groups) < threads:
        big = max(range(len(groups)), key=lambda i: len(groups[i]))
        g = groups[big]
        if len(g) < 2:
            break
        half = (len(g) + 1) // 2
        groups[big:big + 1] = [g[:half], g[half:]]
    return [np.asarray(g, dtype=np.int64) for g in groups]


def force_trials(state: TrainingState, u, target, resp, mem, *, modified: bool, every: int,
                 step0: int, a: float, outputs, scratch, groups: list[np.ndarray] | None = None,
                 pool: ThreadPoolExecutor | None = None) -> int:
    """K trials, back to back, for each of B networks, in place, on NumPy arrays (one dtype, C-contiguous).

    ``state``: the training state as NumPy views (:meth:`TrainingState.numpy`; its ``pending`` zeros at
    the start of training, then carried from trial to trial), updated in place. Shapes: ``u (B, K T, 2)``,
    ``target (B, K T, 3)``, ``resp, mem (K T,)`` (the windows of one trial repeated K times),
    ``outputs (B, K T, 3)``, ``scratch (B, 3, N)``.
    ``groups``: networks that share (g J) (:func:`share_groups`; default: each network alone).
    With a thread ``pool`` the groups train concurrently. Returns the global step count after
    the last step.
    """
    if not AVAILABLE:
        raise RuntimeError("the numba training engine needs the 'numba' package (pip install numba)")
    s = state                                # the one place the named state becomes the kernel's arguments
    B = s.W_T.shape[0]
    if groups is None:
        groups = [np.array([b], dtype=np.int64) for b in range(B)]
    a, am = s.W_T.dtype.type(a), s.W_T.dtype.type(1.0 - a)

    def one(members: np.ndarray) -> int:
        return _force_trial(s.W_T[members[0]], s.F_T, s.wi_T, s.P_out, s.P_mem, s.pending, s.wout, s.x, u, target,
                            resp, mem, modified, every, step0, a, am, outputs, scratch, members)

    steps = [one(g) for g in groups] if pool is None or len(groups) == 1 else list(pool.map(one, groups))
    return steps[0]


# --------------------------------------------------------------------------- #
# the stepper train() drives
# --------------------------------------------------------------------------- #
class NumbaStepper(Stepper):
    """Runs K trials per network in one call of the compiled kernel of :mod:`slowmem.training.numba_engine` (CPU).

    Works on NumPy views of the caller's tensors (shared memory, updated in
    place); groups of networks sharing g J (:func:`share_groups`)
    are spread over ``threads`` threads.
    """

    def __init__(self, state: TrainingState, task, cfg, a: float, threads: int):
        self.state = state.numpy()                                   # NumPy views: updates reach the tensors
        B, N = self.state.B, self.state.N
        self.resp, self.mem = task.response_mask.numpy(), task.memory_mask.numpy()
        self.modified, self.every, self.step, self.a = cfg.rule == "modified", cfg.update_every, 0, a
        self.buffers: dict[int, tuple] = {}                           # K -> (outputs, resp, mem) for K trials
        self.scratch = np.empty((B, 3, N), dtype=self.state.W_T.dtype)
        self.groups = share_groups(self.state.W_T, threads)         # networks sharing g J train in lockstep
        self.pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 and len(self.groups) > 1 else None

    def nonfinite(self) -> torch.Tensor:
        return self.state.nonfinite()

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown()
        return False

    def __call__(self, u: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """K trials back to back (one kernel call): ``u (B, K T, 2)``, ``target (B, K T, 3)`` -> ``(B, K T, 3)``."""
        K = u.shape[1] // len(self.resp)
        if K not in self.buffers:
            self.buffers[K] = (torch.empty((u.shape[0], u.shape[1], 3), dtype=u.dtype),
                               np.tile(self.resp, K), np.tile(self.mem, K))
        outputs, resp, mem = self.buffers[K]
        self.step = force_trials(self.state, u.numpy(), target.numpy(), resp, mem,
                                 modified=self.modified, every=self.every, step0=self.step, a=self.a,
                                 outputs=outputs.numpy(), scratch=self.scratch, groups=self.groups,
                                 pool=self.pool)
        return outputs
