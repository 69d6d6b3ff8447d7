"""Exercise checks of chapter 3: fixed points and slow points."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from slowmem.analysis.slowpoints import jacobian as pkg_jacobian
from slowmem.book.exercises.checks import _close, _np, _run
from slowmem.config import NetworkConfig
from slowmem.network import RateNetworks

# --------------------------------------------------------------------------- #
# chapter 3: fixed points and slow points
# --------------------------------------------------------------------------- #
#: The 2-D toy system of chapter 3's exercises: F(x) = -x + TOY_M tanh(x) + TOY_B. It has three
#: fixed points (one stable) and, where the bias removed the mirror image of the stable one, a slow
#: point (a local minimum of q with q ~ 1.4e-5 > 0).
TOY_M = np.array([[1.8, -0.4], [0.3, 1.4]])
TOY_B = np.array([0.04, -0.02])


def _toy_F(x: np.ndarray) -> np.ndarray:
    return -x + TOY_M @ np.tanh(x) + TOY_B


def _toy_J(x: np.ndarray) -> np.ndarray:
    return -np.eye(2) + TOY_M * (1 - np.tanh(x) ** 2)[None, :]


_TOY_CACHE: dict[str, Any] = {}


def toy_points() -> dict[str, Any]:
    """The toy system's fixed points (Newton from a grid) and its slow point (long descent on q).

    Returns ``{"fixed": (3, 2) array, "stable": (3,) bool, "slow": (2,) array, "q_slow": float}``.
    """
    if not _TOY_CACHE:
        pts: list[np.ndarray] = []
        for a in np.linspace(-3, 3, 13):
            for c in np.linspace(-3, 3, 13):
                x = np.array([a, c])
                for _ in range(60):
                    x = x - np.linalg.solve(_toy_J(x), _toy_F(x))
                if np.abs(_toy_F(x)).max() < 1e-12 and not any(np.abs(x - p).max() < 1e-6 for p in pts):
                    pts.append(x)
        fixed = np.array(sorted(pts, key=lambda p: (p[0], p[1])))
        stable = np.array([bool((np.linalg.eigvals(_toy_J(p)).real < 0).all()) for p in fixed])
        x = np.array([-0.8, -1.5])
        for _ in range(40000):
            x = x - 0.2 * _toy_J(x).T @ _toy_F(x)
        _TOY_CACHE.update(fixed=fixed, stable=stable, slow=x, q_slow=float(0.5 * (_toy_F(x) ** 2).sum()))
    return dict(_TOY_CACHE)


def check_closed_loop(closed_loop: Callable) -> float:
    """Exercise 3.1: ``closed_loop(net) -> (B, N, N)`` vs RateNetworks.closed_loop."""

    def make(configs, seeds):
        net = RateNetworks.create(configs, seeds)
        g = torch.Generator().manual_seed(5)
        return replace(net, wo=torch.randn(net.wo.shape, generator=g, dtype=torch.float64) / 5,
                       wd=torch.randn(net.wd.shape, generator=g, dtype=torch.float64) / 5)

    def compare(net):
        def fn():
            got = closed_loop(net)
            ok, detail = _close(got, net.closed_loop(), 1e-12, "M")
            if ok:
                x = torch.randn(net.B, 3, net.N, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
                F = -x + torch.tanh(x) @ torch.as_tensor(_np(got)).transpose(1, 2)
                ok, detail = _close(F, net.vector_field(x), 1e-12, "F(x) = -x + M tanh(x) vs vector_field")
            return ok, detail
        return fn

    same = make(NetworkConfig(N=30, g=1.2, pg=0.5, fb=5.0), [0, 1])
    mixed = make([NetworkConfig(N=25, g=g, pg=0.6, fb=fb) for g, fb in ((0.8, 1.0), (1.5, 10.0), (1.2, 30.0))],
                 [0, 1, 2])
    return _run("3.1", "feedback folded in", [("two networks, one config", compare(same)),
                                              ("three networks with different g and fb", compare(mixed))])


def _toy_q(x: np.ndarray) -> float:
    return float(0.5 * (_toy_F(x) ** 2).sum())


def check_minimise_q(minimise_q: Callable) -> float:
    """Exercise 3.2: ``minimise_q(M, b, x0) -> x`` finds the fixed points and the slow point of the toy system."""
    pts = toy_points()
    offsets = np.array([[0.15, -0.1], [-0.1, 0.12], [0.08, 0.15]])

    def fixed():
        for p, off in zip(pts["fixed"], offsets):
            x = _np(minimise_q(TOY_M.copy(), TOY_B.copy(), p + off)).astype(np.float64).reshape(-1)
            q, d = _toy_q(x), float(np.abs(x - p).max())
            if not (q < 1e-12 and d < 1e-6):
                return False, f"from {np.round(p + off, 3)}: q = {q:.2g}, {d:.2g} from the fixed point {np.round(p, 4)}"
        return True, "from next to each of the 3 fixed points: q < 1e-12 and within 1e-6 of the point"

    def slow():
        s = pts["slow"]
        x = _np(minimise_q(TOY_M.copy(), TOY_B.copy(), s + np.array([0.2, 0.15]))).astype(np.float64).reshape(-1)
        q, d = _toy_q(x), float(np.abs(x - s).max())
        ok = 1e-10 < q < 1e-4 and d < 0.02
        return ok, (f"from next to the slow point: q = {q:.3g} (want 1e-10 < q < 1e-4; q there is "
                    f"{pts['q_slow']:.3g}), {d:.2g} from it (tolerance 0.02)")

    return _run("3.2", "fixed points by minimising q", [("fixed points", fixed), ("the slow point", slow)])


def _toy_kind(x: np.ndarray) -> str:
    q = _toy_q(x)
    if q < 1e-10:
        return "stable fixed point" if (np.linalg.eigvals(_toy_J(x)).real < 0).all() else "unstable fixed point"
    return "slow point" if q < 1e-4 else "not slow"


def check_linearise(jacobian: Callable, classify_point: Callable) -> float:
    """Exercise 3.3: the Jacobian vs slowmem.analysis.slowpoints.jacobian, and each point's kind."""

    rng = np.random.default_rng(4)
    xs = rng.normal(0, 1.5, (10, 2))

    def jac():
        for x in xs:
            want = pkg_jacobian(torch.as_tensor(TOY_M)[None], torch.as_tensor(x)[None])[0]
            ok, detail = _close(jacobian(TOY_M.copy(), x.copy()), want, 1e-12, "J")
            if not ok:
                return False, f"at x = {np.round(x, 3)}: {detail}"
        return True, "equal to slowmem.analysis.slowpoints.jacobian at 10 random points (tolerance 1e-12)"

    def kinds():
        pts = toy_points()
        cases = [*pts["fixed"], pts["slow"], np.array([2.0, -1.0]), np.array([-2.5, 1.0])]
        got_all = []
        for x in cases:
            want = _toy_kind(x)
            got = classify_point(TOY_M.copy(), TOY_B.copy(), x.copy())
            got_all.append(str(got))
            if got != want:
                return False, f"x = {np.round(x, 4)} is a {want!r}; you said {got!r}"
        return True, "all 6 points right: " + ", ".join(got_all)

    return _run("3.3", "linearise and classify", [("Jacobian", jac), ("kinds of points", kinds)])


def explore_toy(minimise_q: Callable, classify_point: Callable, n_starts: int = 5) -> None:
    """Follow-up of exercises 3.2 and 3.3: the toy system's flow, and where your descent ends from a grid."""
    g = np.linspace(-2.5, 2.5, n_starts)
    try:
        ends = [_np(minimise_q(TOY_M.copy(), TOY_B.copy(), np.array([a, c]))).astype(float).reshape(-1)
                for a in g for c in g]
        kinds = [classify_point(TOY_M.copy(), TOY_B.copy(), x) for x in ends]
    except NotImplementedError:
        print("Implement minimise_q and classify_point above first; then this cell draws where they lead.")
        return
    import matplotlib.pyplot as plt

    xs = np.linspace(-3, 3, 25)
    X, Y = np.meshgrid(xs, xs)
    F = np.stack([_toy_F(np.array([a, c])) for a, c in zip(X.ravel(), Y.ravel())]).reshape(*X.shape, 2)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.streamplot(X, Y, F[..., 0], F[..., 1], color=np.log10(np.hypot(F[..., 0], F[..., 1]) + 1e-6),
                  cmap="Greys_r", density=1.0, linewidth=0.7)
    style = {"stable fixed point": ("o", "C0"), "unstable fixed point": ("o", "C3"), "slow point": ("X", "C2"),
             "not slow": ("s", "0.6")}
    seen = set()
    for x, k in zip(ends, kinds):
        m, col = style.get(k, ("d", "k"))
        ax.plot(*x, m, color=col, ms=9, mfc=col if k != "unstable fixed point" else "none",
                label=None if k in seen else k, ls="none")
        seen.add(k)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", xlim=(-3, 3), ylim=(-3, 3),
           title=f"where minimise_q ends from {len(ends)} starts")
    ax.legend(frameon=True, fontsize=8, loc="lower right")
    plt.show()
    counts = {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    print("ends of the descents:", counts)
