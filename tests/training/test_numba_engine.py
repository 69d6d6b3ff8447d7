"""The compiled CPU engine (slowmem.training.numba_engine): its kernels against plain arithmetic."""
import numpy as np
import pytest


@pytest.mark.parametrize("N", [13, 20, 64])
def test_kernel_rls_sums_in_four_row_blocks(N):
    """The kernel's RLS step (rows eight at a time) equals this NumPy statement of its arithmetic, bit for bit.

    k = P r summed over four-row blocks of P in order (then single rows), with the previous
    call's rank-1 update applied to each row just before it is read; no fused multiply-add.
    """
    from slowmem.training.numba_engine import _rls

    rng = np.random.default_rng(N)
    P = np.eye(N) + 0.1 * rng.standard_normal((N, N))
    pend = 0.1 * rng.standard_normal((2, 2, N))
    r = np.tanh(rng.standard_normal((2, N)))
    wout = rng.standard_normal((N, 3))
    P_ref, pend_ref, w_ref = P.copy(), pend.copy(), wout.copy()
    k = np.empty(N)
    for call, (c0, c1, e) in enumerate([(0, 3, (0.3, -0.2, 0.1)), (1, 3, (0.0, 0.5, -0.4))]):
        _rls(P, pend[call], r[call], k, wout, c0, c1, *e)
        kc, kp, rr = pend_ref[call, 0], pend_ref[call, 1], r[call]
        P_ref -= kc[:, None] * kp[None, :]
        k_ref = np.zeros(N)
        blocks = N - N % 4
        for j in range(0, blocks, 4):
            block = P_ref[j] * rr[j] + P_ref[j + 1] * rr[j + 1] + P_ref[j + 2] * rr[j + 2] + P_ref[j + 3] * rr[j + 3]
            k_ref = k_ref + block
        for j in range(blocks, N):
            k_ref = k_ref + P_ref[j] * rr[j]
        s = 0.0
        for i in range(N):
            s += rr[i] * k_ref[i]
        c = 1.0 / (1.0 + s)
        pend_ref[call, 0], pend_ref[call, 1] = k_ref * c, k_ref
        for m in range(c0, c1):
            w_ref[:, m] -= pend_ref[call, 0] * e[m]
        assert np.array_equal(k, k_ref) and np.array_equal(P, P_ref)
        assert np.array_equal(pend, pend_ref) and np.array_equal(wout, w_ref)


def test_share_groups_finds_identical_matrices_and_feeds_every_thread():
    from slowmem.training.numba_engine import share_groups

    rng = np.random.default_rng(0)
    A, C = rng.standard_normal((2, 5, 5))
    near = A.copy()
    near[2, 3] = np.nextafter(near[2, 3], 1.0)                      # one ulp away: not the same matrix
    W = np.stack([A, C, A, near, A, C])
    big = 2**30                                                       # cache room for any group
    assert [g.tolist() for g in share_groups(W, cache_bytes=big)] == [[0, 2, 4], [1, 5], [3]]
    assert [g.tolist() for g in share_groups(W[[0, 2, 4]], threads=2, cache_bytes=big)] == [[0, 1], [2]]
    assert [g.tolist() for g in share_groups(W[[0, 2, 4, 1, 5]], threads=4, cache_bytes=big)] == [[0], [1], [2], [3, 4]]
    assert [g.tolist() for g in share_groups(W[:1], threads=4, cache_bytes=big)] == [[0]]
    # a group in lockstep keeps g J and one RLS matrix per member in cache: room for 3 matrices -> pairs
    A5 = np.stack([A] * 5)
    assert [g.tolist() for g in share_groups(A5, cache_bytes=3 * A.nbytes)] == [[0], [1, 2], [3, 4]]
    assert [g.tolist() for g in share_groups(A5, cache_bytes=A.nbytes)] == [[0], [1], [2], [3], [4]]


def test_cache_share_is_a_plausible_size():
    from slowmem.training.numba_engine import cache_share_bytes

    assert 2**18 <= cache_share_bytes() <= 2**30


@pytest.mark.parametrize("dtype,max_ulp", [(np.float64, 3), (np.float32, 2)])
def test_kernel_tanh_matches_libm(dtype, max_ulp):
    from slowmem.training.numba_engine import _tanh_into

    xs = np.concatenate([np.linspace(-25, 25, 200001), np.logspace(-30, 1.4, 3000), -np.logspace(-30, 1.4, 3000),
                         [0.0, 19.0, 21.0, 1e30, -1e30]]).astype(dtype)
    ours = np.empty_like(xs)
    _tanh_into(xs, ours)
    ref = np.tanh(xs)
    ulp = np.abs(ours.astype(np.float64) - ref.astype(np.float64)) / np.spacing(np.abs(ref)).astype(np.float64)
    assert ulp.max() <= max_ulp
    special = np.array([np.nan, np.inf, -np.inf], dtype=dtype)
    out = np.empty_like(special)
    _tanh_into(special, out)
    assert np.isnan(out[0]) and out[1] == 1 and out[2] == -1
