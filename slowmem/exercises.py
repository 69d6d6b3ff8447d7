"""The checks of the book's coursework exercises (chapters 1-6).

Every exercise of the book ends in a *check cell* that calls one ``check_*``
function of this module with the student's function(s). A check

* runs the student's code on cases built here and compares it with the
  package (``slowmem.task``, ``slowmem.training``, ``slowmem.analysis.*``) or
  with an exact reference, within a tolerance it states;
* prints one ``PASS`` / ``FAIL`` line per part, in words, and a score line;
* returns the score as a float (points earned; ``points`` = number of parts),
  which is what nbgrader reads as the cell's partial credit
  (:mod:`slowmem.coursework` grades with nbgrader's rule);
* never raises: a stub that still raises ``NotImplementedError``, a wrong
  shape or any exception inside the student's code is reported as ``FAIL``,
  and warnings are recorded rather than written to stderr (nbgrader scores a
  check cell that writes to stderr as 0). The book therefore builds with the
  stubs of the student edition in place.

The checks contain comparisons, not solutions: where a reference is not a
package function it is the definition the exercise statement gives.

The helpers :func:`trained_networks`, :func:`explore_forgetting` and
:func:`explore_distraction` set up and follow up the exercises of chapters 5
and 6; like the checks they print a message instead of raising when the
student's function is still a stub.
"""
from __future__ import annotations

import contextlib
import math
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

__all__ = [
    "check_trial_steps", "check_targets", "check_classify_draws",
    "check_rls_update", "check_learning_steps", "check_force_trial",
    "check_closed_loop", "check_minimise_q", "check_linearise",
    "check_count_attractors", "check_mechanism", "check_saturation",
    "check_failure_type", "check_forgetting_point", "check_memory_horizon",
    "check_distractor", "check_distraction_point",
    "trained_networks", "explore_forgetting", "explore_distraction",
    "TOY_M", "TOY_B", "toy_points", "explore_toy",
]


#: The random streams (:func:`slowmem.task.trial_rng`) the package's forgetting curve and distraction
#: test draw their stimuli from; stream numbers are part of every stored result and never change.
_FORGETTING_STREAM = 5
_DISTRACTION_STREAM = 6


# --------------------------------------------------------------------------- #
# reporting
# --------------------------------------------------------------------------- #
class _Check:
    """Collects the parts of one check and prints them; see the module docstring."""

    def __init__(self, exercise: str, title: str):
        self.exercise, self.title = exercise, title
        self.results: list[bool] = []
        self.lines: list[str] = []

    def part(self, description: str, fn: Callable[[], tuple[bool, str]]) -> bool:
        """Run one part: ``fn() -> (ok, detail)``; any exception of the student's code is a FAIL."""
        try:
            ok, detail = fn()
            ok = bool(ok)
        except NotImplementedError:
            ok, detail = False, "not implemented yet (the function still raises NotImplementedError)"
        except Exception as e:            # the student's code may fail in any way: report, never raise
            ok, detail = False, f"your code raised {type(e).__name__}: {e}"
        self.results.append(ok)
        self.lines.append(f"  {'PASS' if ok else 'FAIL'}  {description}")
        self.lines.extend(textwrap.wrap(detail, width=88, initial_indent=" " * 8, subsequent_indent=" " * 8,
                                        break_on_hyphens=False))
        return ok

    def finish(self) -> float:
        score = float(sum(self.results))
        print(f"Exercise {self.exercise} ({self.title})")
        print("\n".join(self.lines))
        verdict = "all parts pass" if all(self.results) else "not yet"
        print(f"  Score: {score:g} of {len(self.results)} points ({verdict})")
        return score


@contextlib.contextmanager
def _quiet():
    """Record warnings instead of printing them to stderr (see the module docstring)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught:
        print(f"  ({len(caught)} warning(s) raised while checking, e.g. {caught[0].category.__name__}: "
              f"{str(caught[0].message)[:120]})")


def _run(exercise: str, title: str, parts: Sequence[tuple[str, Callable[[], tuple[bool, str]]]]) -> float:
    chk = _Check(exercise, title)
    with _quiet():
        for description, fn in parts:
            chk.part(description, fn)
    return chk.finish()


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu").numpy()
    return np.asarray(x)


def _max_diff(a: Any, b: Any) -> float:
    a, b = _np(a).astype(np.float64), _np(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape {a.shape} where {b.shape} is expected")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _close(a: Any, b: Any, tol: float, what: str) -> tuple[bool, str]:
    d = _max_diff(a, b)
    return d <= tol, f"largest difference in {what} {d:.2g} (tolerance {tol:g})"


def _task(**task_kw):
    from .config import TaskConfig
    from .task import SPMTask

    return SPMTask(TaskConfig(**task_kw))


# --------------------------------------------------------------------------- #
# chapter 1: the task
# --------------------------------------------------------------------------- #
def check_trial_steps(trial_steps: Callable) -> float:
    """Exercise 1.1: ``trial_steps(timing, dt) -> int`` or ``ValueError``; compared with TaskConfig."""
    from .config import DEFAULT_TIMING, TaskConfig

    legal = [({}, 0.1), ({"delay1": 3.0}, 0.1), ({"delay1": 2.2, "response": 7.5}, 0.1),
             ({"delay1": 2.25}, 0.05), ({"stim1": 0.3, "stim2": 0.7}, 0.1)]
    illegal = [({"delay1": 2.25}, 0.1), ({"stim1": 10.05}, 0.1), ({"response": 0.125}, 0.05)]

    def values():
        for over, dt in legal:
            timing = {**DEFAULT_TIMING, **over}
            want = TaskConfig(timing=timing, dt=dt).trial_steps
            got = trial_steps(dict(timing), dt)
            if not isinstance(got, (int, np.integer)) or got != want:
                return False, f"timing {over or 'of the paper'} with dt = {dt}: got {got!r}, want the integer {want}"
        return True, f"{len(legal)} legal timings give the step counts of slowmem.config.TaskConfig (exact)"

    def refusals():
        for over, dt in illegal:
            timing = {**DEFAULT_TIMING, **over}
            try:
                got = trial_steps(dict(timing), dt)
            except ValueError:
                continue
            return False, f"timing {over} with dt = {dt} returned {got!r}; it must raise ValueError"
        return True, f"{len(illegal)} durations that are not whole multiples of dt raise ValueError"

    return _run("1.1", "steps of a trial", [("legal timings", values), ("refused timings", refusals)])


def check_targets(targets: Callable, task=None) -> float:
    """Exercise 1.2: ``targets(task, trial_type) -> (output (T, 1), memory (T, 2))`` vs SPMTask.make_trials."""
    from .task import trial_rng

    task = task if task is not None else _task()
    other = _task(timing={"delay1": 8.0, "response": 3.0}, encoding=(0.2, 0.6, 1.0))

    def compare(tk):
        def fn():
            for k in range(4):
                tr = tk.make_trials(np.array([[k]]), [trial_rng(0, 1)])
                out, mem = targets(tk, k)
                for got, want, name in ((out, tr.output_target[:, 0, 0], "response target"),
                                        (mem, tr.memory_target[:, 0, 0], "memory targets")):
                    got = _np(got).reshape(_np(want).shape) if _np(got).size == _np(want).size else _np(got)
                    ok, detail = _close(got, want, 1e-12, f"{name} of trial type {k}")
                    if not ok:
                        return ok, detail
            return True, "all 4 trial types equal SPMTask.make_trials (tolerance 1e-12)"
        return fn

    return _run("1.2", "the targets of one trial", [
        ("the paper's task", compare(task)),
        ("a task with delay1 = 8, response = 3 and encoding (0.2, 0.6, 1.0)", compare(other))])


def check_classify_draws(classify_draws: Callable, task=None) -> float:
    """Exercise 1.3: nearest-class-mean reading of single stimulus draws."""
    task = task if task is not None else _task()
    means = task.class_means.double()
    gen = torch.Generator().manual_seed(13)
    pts = means[torch.randint(0, 2, (400,), generator=gen)] + 1.5 * torch.randn(400, 2, generator=gen,
                                                                                 dtype=torch.float64)

    def reference(lat):
        return torch.cdist(lat, means).argmin(1).numpy()

    def random_points():
        got = _np(classify_draws(pts.clone(), means.clone())).reshape(-1)
        want = reference(pts)
        if got.shape != want.shape:
            return False, f"{got.shape} labels for {len(want)} latents"
        wrong = int((got != want).sum())
        return wrong == 0, f"{wrong} of {len(want)} random latents labelled differently from the nearest mean"

    def digits():
        acc = []
        for c, d in enumerate(task.cfg.digits):
            lat = task.bank.class_latents(d).double()
            got = _np(classify_draws(lat.clone(), means.clone())).reshape(-1)
            if got.shape != (len(lat),) or (got != reference(lat)).any():
                return False, f"labels of the digit-{d} latents differ from the nearest class mean"
            acc.append(f"digit {d}: {100 * (got == c).mean():.1f} %")
        return True, "single draws read correctly: " + ", ".join(acc)

    return _run("1.3", "one draw is (almost) enough", [("random latents", random_points),
                                                        ("the stimulus bank", digits)])


# --------------------------------------------------------------------------- #
# chapter 2: training
# --------------------------------------------------------------------------- #
def check_rls_update(my_rls_update: Callable) -> float:
    """Exercise 2.1: one batched RLS step, in place, vs slowmem.training.rls_update and ridge regression."""
    from .training import rls_update

    def versus_package():
        g = torch.Generator().manual_seed(1)
        P = torch.eye(6, dtype=torch.float64).repeat(2, 1, 1)
        w = torch.zeros(2, 6, 3, dtype=torch.float64)
        P2, w2 = P.clone(), w.clone()
        for _ in range(20):
            r = torch.randn(2, 1, 6, generator=g, dtype=torch.float64)
            e = torch.randn(2, 1, 3, generator=g, dtype=torch.float64)
            before = P.clone()
            my_rls_update(P, r, w, e)
            if torch.equal(P, before):
                return False, "P did not change: update P and w in place (P -= ..., w -= ...)"
            rls_update(P2, r, w2, e)
        d = max(_max_diff(P, P2), _max_diff(w, w2))
        return d <= 1e-10, f"20 steps, largest difference in P and w {d:.2g} (tolerance 1e-10)"

    def versus_ridge(B=2, N=8, n=200, alpha=1.0):
        gen = torch.Generator().manual_seed(0)
        R = torch.randn(B, n, N, generator=gen, dtype=torch.float64)
        Y = R @ torch.randn(B, N, 1, generator=gen, dtype=torch.float64)
        P = torch.eye(N, dtype=torch.float64).repeat(B, 1, 1) / alpha
        w = torch.zeros(B, N, 1, dtype=torch.float64)
        for i in range(n):
            r = R[:, i:i + 1]
            my_rls_update(P, r, w, r @ w - Y[:, i:i + 1])
        ridge = torch.linalg.solve(alpha * torch.eye(N, dtype=torch.float64) + R.mT @ R, R.mT @ Y)
        return _close(w, ridge, 1e-8, "w after 200 steps vs (alpha I + R^T R)^-1 R^T Y")

    return _run("2.1", "one RLS step", [("same as slowmem.training.rls_update", versus_package),
                                        ("reaches the ridge-regression solution", versus_ridge)])


def _learning_steps_reference(task, rule: str, update_every: int) -> tuple[np.ndarray, np.ndarray]:
    upd = np.arange(task.T) % update_every == 0
    if rule == "original":
        return upd, upd.copy()
    return upd & task.response_mask.numpy(), upd & task.memory_mask.numpy()


def check_learning_steps(learning_steps: Callable, task=None) -> float:
    """Exercise 2.2: the steps of a trial at which each readout learns, per rule."""
    task = task if task is not None else _task()
    longer = _task(timing={"delay1": 8.0})          # 380 steps: a multiple of 5

    def compare(rule):
        def fn():
            for tk, every in ((task, 2), (longer, 5)):
                got = learning_steps(tk, rule, every)
                want = _learning_steps_reference(tk, rule, every)
                if not (isinstance(got, (tuple, list)) and len(got) == 2):
                    return False, "return a pair (wo_steps, wd_steps)"
                for g_, w_, name in zip(got, want, ("wo", "wd")):
                    g_ = _np(g_).astype(bool).reshape(-1)
                    if g_.shape != w_.shape or (g_ != w_).any():
                        n_bad = int((g_ != w_).sum()) if g_.shape == w_.shape else "all"
                        return False, (f"{name} steps differ at {n_bad} steps (trial of {tk.T} steps, "
                                       f"update_every = {every})")
            wo, wd = want = _learning_steps_reference(task, rule, 2)
            return True, f"exact; per 350-step trial wo learns at {wo.sum()} steps and wd at {wd.sum()}"
        return fn

    return _run("2.2", "which steps teach which readout", [("modified FORCE", compare("modified")),
                                                           ("original FORCE", compare("original"))])


def check_force_trial(modified_force_trial: Callable) -> float:
    """Exercise 2.3: one trial of modified FORCE on one network vs slowmem.training.train (torch engine)."""
    from .config import NetworkConfig, TrainingConfig
    from .network import RateNetworks
    from .task import trial_rng
    from .training import train

    task = _task()
    seed = 3
    net = RateNetworks.create(NetworkConfig(N=60, g=1.2, pg=0.5, fb=5.0), seed)
    res = train(net, task, TrainingConfig(rule="modified", trials=1), progress=False, engine="torch")
    rng = trial_rng(seed, 0)                       # what train() draws for network `seed`: order, then stimuli
    types = task.schedule(1, rng)
    trial = task.make_trials(types[None, :], [rng])
    state = {}

    def readouts():
        mine = replace(net, wo=net.wo.clone(), wd=net.wd.clone())
        x_end = modified_force_trial(mine, task, trial, net.x0[0].clone())
        state["x"] = x_end
        if torch.equal(mine.wo, net.wo) and torch.equal(mine.wd, net.wd):
            return False, "the readouts did not change: update net.wo and net.wd in place"
        ok_o, d_o = _close(mine.wo, res.networks.wo, 1e-9, "wo")
        ok_d, d_d = _close(mine.wd, res.networks.wd, 1e-9, "wd")
        return ok_o and ok_d, f"{d_o}; {d_d}"

    def end_state():
        if "x" not in state or state["x"] is None:
            return False, "no end state returned"
        x = _np(state["x"]).reshape(-1)
        return _close(x, res.final_state[0], 1e-9, "the state at the end of the trial")

    return _run("2.3", "one trial of modified FORCE", [("readouts after one trial equal train()'s", readouts),
                                                       ("end state equals train()'s", end_state)])


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
    from .config import NetworkConfig
    from .network import RateNetworks

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
    from .analysis.slowpoints import jacobian as pkg_jacobian

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


# --------------------------------------------------------------------------- #
# chapter 4: the taxonomy
# --------------------------------------------------------------------------- #
def _clusters(rng: np.random.Generator, S: int) -> np.ndarray:
    k = int(rng.integers(1, 6))
    centres = np.sort(rng.choice(np.arange(1, 16) * 0.15, size=k, replace=False))
    z = centres[rng.integers(0, k, S)] * rng.choice([-1.0, 1.0], S)
    return z + rng.normal(0, 0.004, S)


def check_count_attractors(count_attractors: Callable) -> float:
    """Exercise 4.1: distinct |z_final| among settled starts vs slowmem.analysis.attractors.count_distinct."""
    from .analysis.attractors import count_distinct

    rng = np.random.default_rng(7)

    def reference(z, settled, tol=0.05):
        n, _ = count_distinct(torch.as_tensor(np.abs(z))[None], torch.as_tensor(settled)[None], tol)
        return int(n[0])

    def random_cases():
        for i in range(30):
            z = _clusters(rng, 100)
            settled = rng.random(100) < 0.8
            z[~settled] = np.where(rng.random((~settled).sum()) < 0.5, np.nan, rng.normal(0, 2, (~settled).sum()))
            got, want = count_attractors(z.copy(), settled.copy()), reference(z, settled)
            if got != want:
                return False, f"case {i}: you counted {got!r}, there are {want}"
        return True, "30 random probes: same count as count_distinct of |z| (exact)"

    def special():
        z = np.array([1.0, -1.0, 1.002, -0.998, 0.5, -0.5])
        cases = [(z, np.ones(6, bool), 2, "mirror pairs fold"),
                 (z, np.zeros(6, bool), 0, "no settled start"),
                 (np.array([0.0, 0.04, 0.3, np.nan]), np.array([True, True, True, False]), 2,
                  "NaN of an unsettled start")]
        for zz, s, want, name in cases:
            got = count_attractors(zz.copy(), s.copy())
            if got != want:
                return False, f"{name}: you counted {got!r}, want {want}"
        return True, "mirror pairs, no settled start and NaNs handled"

    return _run("4.1", "counting attractors", [("random probes", random_cases), ("special cases", special)])


def _probe_from(summaries: Sequence[dict]):
    """An AttractorProbe holding the given per-network summaries (the fields classify() reads)."""
    from .analysis.attractors import AttractorProbe

    B, S = len(summaries), len(summaries[0]["variance"])
    stack = lambda k: np.stack([np.asarray(s[k], dtype=np.float64) for s in summaries])    # noqa: E731
    finite = np.stack([np.asarray(s["finite"], bool) for s in summaries])
    zmin, zmax = stack("z_min"), stack("z_max")
    return AttractorProbe(
        seeds=np.arange(B), start_centre=np.zeros(S, np.int64), starts=torch.zeros(B, S, 1),
        output_variance=stack("variance"), output_mean=(zmin + zmax) / 2, output_min=zmin, output_max=zmax,
        final_output=stack("z_final"), final_state=torch.zeros(B, S, 1), finite=finite,
        settled=finite & (stack("variance") < 1e-4), n_distinct_outputs=np.zeros(B, np.int64),
        n_distinct_states=np.zeros(B, np.int64), trace_steps=np.zeros(0, np.int64), z_trace=np.zeros((0, B, S)),
        snapshot_steps=np.zeros(0, np.int64), snapshots=torch.zeros(0, B, S, 1), steps=0, window_steps=0,
        variance_tolerance=1e-4, output_tolerance=0.05, state_tolerance=0.05)


def _summary(rng, S=100, kind="settled", centres=(1.0, 0.5, 1.5), far=0, nonfinite=0, osc=0):
    z = np.array(centres)[rng.integers(0, len(centres), S)] * rng.choice([-1.0, 1.0], S) + rng.normal(0, 0.003, S)
    var = rng.uniform(1e-9, 5e-5, S) if kind == "settled" else rng.uniform(1e-3, 0.05, S)
    amp = np.sqrt(var) * 1.5
    s = {"finite": np.ones(S, bool), "variance": var, "z_min": z - amp, "z_max": z + amp, "z_final": z.copy()}
    if osc:
        s["variance"][:osc] = 0.01
    if far:
        s["z_max"][:far] = 3.1
    if nonfinite:
        s["finite"][:nonfinite] = False
        for k in ("variance", "z_min", "z_max", "z_final"):
            s[k][:nonfinite] = np.nan
    return s


def check_mechanism(mechanism: Callable, task=None) -> float:
    """Exercise 4.2: a network's label from its probe summary vs slowmem.analysis.mechanisms.classify."""
    from .analysis.mechanisms import classify

    task = task if task is not None else _task()
    rng = np.random.default_rng(11)
    named = [
        ("3 attractors", _summary(rng)),
        ("2 attractors", _summary(rng, centres=(1.0, 0.5))),
        ("1 attractor", _summary(rng, centres=(1.0,))),
        ("mirror images only", _summary(rng, centres=(0.5, 1.0, -1.0, -0.5))),
        ("every start oscillates", _summary(rng, kind="oscillating")),
        ("some settle, some oscillate", _summary(rng, osc=30)),
        ("one start far", _summary(rng, far=1)),
        ("one start diverged", _summary(rng, nonfinite=1)),
        ("oscillations reaching beyond 2.5", _summary(rng, kind="oscillating", far=100)),
        ("4 attractors", _summary(rng, centres=(1.0, 0.5, 1.5, 0.1))),
    ]
    random = [_summary(rng, kind=str(rng.choice(["settled", "oscillating"])),
                       centres=tuple(rng.choice([0.1, 0.5, 1.0, 1.5, 2.0], int(rng.integers(1, 5)), replace=False)),
                       far=int(rng.random() < 0.2), osc=int(rng.integers(0, 3)) * int(rng.random() < 0.3),
                       nonfinite=int(rng.random() < 0.1)) for _ in range(30)]

    def compare(cases, names):
        def fn():
            want = classify(_probe_from(cases), task).label
            for s, w, name in zip(cases, want, names):
                got = mechanism({k: np.array(v, copy=True) for k, v in s.items()})
                if got != w:
                    return False, f"{name}: you said {got!r}, the rule gives {w!r}"
            counts = {m: int((want == m).sum()) for m in dict.fromkeys(want)}
            return True, f"{len(cases)} networks labelled as classify() labels them {counts}"
        return fn

    return _run("4.2", "classify a network from its probe", [
        ("ten hand-made probes", compare([s for _, s in named], [n for n, _ in named])),
        ("thirty random probes", compare(random, [f"random probe {i}" for i in range(30)]))])


def check_saturation(saturation_summary: Callable, task=None) -> float:
    """Exercise 4.3: delay and response saturation and the phasic index vs slowmem.analysis.activity."""
    from .analysis.activity import activity_profile
    from .config import NetworkConfig
    from .network import RateNetworks

    task = task if task is not None else _task()

    def compare(g, fb, readout_scale):
        def fn():
            net = RateNetworks.create(NetworkConfig(N=80, g=g, pg=0.5, fb=fb), 0)
            gen = torch.Generator().manual_seed(3)
            net = replace(net, wo=readout_scale * torch.randn(net.wo.shape, generator=gen, dtype=torch.float64),
                          wd=readout_scale * torch.randn(net.wd.shape, generator=gen, dtype=torch.float64))
            ends = 2 * torch.randn(1, 4, 80, dtype=torch.float64, generator=gen)
            act = activity_profile(net, task, ends, keep_states=True)
            got = saturation_summary(act.states[:, 0].clone(), task)
            want = (act.saturation_delay[0], act.saturation_response[0], act.phasic_index[0])
            if not (isinstance(got, (tuple, list)) and len(got) == 3):
                return False, "return (saturation_delay, saturation_response, phasic_index)"
            ok, detail = _close(np.array([float(v) for v in got]), np.array(want), 1e-12,
                                "(delay, response, index)")
            return ok, f"{detail}; here {want[0]:.3f}, {want[1]:.3f}, {want[2]:.3f}"
        return fn

    return _run("4.3", "phasic or tonic", [("a chaotic network, g = 1.8", compare(1.8, 10.0, 0.0)),
                                           ("random readouts fed back, fb = 1", compare(1.2, 1.0, 0.1))])


# --------------------------------------------------------------------------- #
# chapter 5: forgetting
# --------------------------------------------------------------------------- #
def trained_networks(task=None, fbs: Sequence[float] = (10.0, 1.0), seeds: Sequence[int] = (0, 1), *,
                     preset: str = "ci"):
    """Train one small network per (fb, seed) pair (the ``ci`` preset: N = 200, 1000 trials; seconds).

    Returns ``(networks (B networks), trial_end_states (B, 4, N), task)`` and prints how each does.
    """
    from .config import Config
    from .evaluation import evaluate
    from .network import RateNetworks
    from .training import train

    task = task if task is not None else _task()
    cfgs = [Config.from_preset(preset, fb=float(fb)) for fb in fbs]
    t0 = time.perf_counter()
    net = RateNetworks.create([c.network for c in cfgs], [int(s) for s in seeds])
    res = train(net, task, cfgs[0].training, progress=False)
    ev = evaluate(res.networks, task, res.final_state, diverged=res.diverged)
    for b, (fb, s) in enumerate(zip(fbs, seeds)):
        print(f"network {b}: fb = {fb:g}, seed {s}: test accuracy {ev.test_accuracy[b]:.2f}, replay accuracy "
              f"{ev.replay_accuracy[b]:.2f}, {'performs the task' if ev.success[b] else 'does NOT perform the task'}")
    print(f"(trained and tested in {time.perf_counter() - t0:.1f} s)")
    return res.networks, ev.trial_end_states, task


def _fail_reference(mean, settled, types, task, tol, asym_tol):
    from .analysis.forgetting import trial_failed

    f = trial_failed(torch.as_tensor(mean), torch.as_tensor(types), task, tol).numpy()
    nominal = task.response_values()[torch.as_tensor(types)].numpy()
    asym = ~(np.abs(np.asarray(settled) - nominal) <= asym_tol)
    return np.where(f, np.where(asym, 2, 1), 0)


def check_failure_type(failure_type: Callable, task=None) -> float:
    """Exercise 5.1: 0 / 1 (fixed-time) / 2 (asymptotic) per trial vs slowmem.analysis.forgetting.trial_failed."""
    task = task if task is not None else _task()
    rng = np.random.default_rng(5)
    K = 400
    types = rng.integers(0, 4, K)
    nominal = task.response_values().numpy()[types]
    mean = nominal + rng.normal(0, 0.12, K)
    mean[:20] = task.encoding.numpy()[rng.integers(0, 3, 20)]             # right or wrong encodings, exactly
    mean[20:25] = np.nan
    mean[25:30] = nominal[25:30] + 0.1                                     # exactly at the tolerance: fails
    settled = np.where(rng.random(K) < 0.5, nominal + rng.normal(0, 0.2, K), rng.uniform(-2, 2, K))
    settled[30:33] = np.nan

    def compare(tol, asym_tol, types_too):
        def fn():
            want = _fail_reference(mean, settled, types, task, tol, asym_tol)
            got = _np(failure_type(mean.copy(), settled.copy(), types.copy(), task, tol, asym_tol)).reshape(-1)
            if got.shape != want.shape:
                return False, f"{got.shape} codes for {K} trials"
            bad = int((got != want).sum()) if types_too else int(((got != 0) != (want != 0)).sum())
            n = {c: int((want == c).sum()) for c in (0, 1, 2)}
            return bad == 0, (f"{bad} of {K} trials differ (tolerance {tol:g}, asymptotic {asym_tol:g}); "
                              f"{n[0]} pass, {n[1]} fixed-time, {n[2]} asymptotic")
        return fn

    return _run("5.1", "fixed-time or asymptotic", [("which trials fail", compare(0.1, 0.3, False)),
                                                    ("the type of each failure", compare(0.05, 0.2, True))])


def check_forgetting_point(forgetting_point: Callable, networks, trial_end_states, task, network: int = 0) -> float:
    """Exercise 5.2: one delay of the forgetting curve vs slowmem.analysis.forgetting.forgetting_curve."""
    from .analysis.forgetting import forgetting_curve
    from .task import trial_rng

    net = networks.select([network])
    starts = trial_end_states[network:network + 1]

    def compare(delay):
        def fn():
            ref = forgetting_curve(net, task, starts, delays=[delay])
            got = forgetting_point(net, task, starts[0].clone(), delay, trial_rng(net.seeds[0], _FORGETTING_STREAM))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean_response, failed)"
            ok, detail = _close(_np(got[0]).reshape(-1), ref.mean_response[0, 0], 1e-8, "mean responses")
            f = _np(got[1]).astype(bool).reshape(-1)
            same = f.shape == ref.failed[0, 0].shape and bool((f == ref.failed[0, 0]).all())
            p = ref.failed[0, 0].mean()
            return ok and same, (f"{detail}; failed trials {'the same' if same else 'DIFFER'} "
                                 f"(failure probability {p:.2f} at delay {delay:g})")
        return fn

    return _run("5.2", "one point of a forgetting curve", [("the trained delay, 5", compare(5.0)),
                                                            ("a stretched delay, 30", compare(30.0))])


def explore_forgetting(forgetting_point: Callable, networks, trial_end_states, task,
                       delays: Sequence[float] = (5.0, 10.0, 20.0, 40.0, 80.0)) -> None:
    """Follow-up of exercise 5.2: a short forgetting curve of every network, computed with your function."""
    from .task import trial_rng

    rows = []
    try:
        for b in range(networks.B):
            net = networks.select([b])
            p = []
            for d in delays:
                _, failed = forgetting_point(net, task, trial_end_states[b].clone(), d,
                                             trial_rng(net.seeds[0], _FORGETTING_STREAM))
                p.append(float(_np(failed).astype(float).mean()))
            rows.append(p)
    except NotImplementedError:
        print("Implement forgetting_point above first; then this cell draws the curves with it.")
        return
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    for b, p in enumerate(rows):
        fb = networks.configs[b].fb
        ax.plot(delays, p, "o-", label=f"network {b} (fb = {fb:g})")
        print(f"network {b} (fb = {fb:g}): failure probability " +
              ", ".join(f"{v:.2f} at {d:g}" for d, v in zip(delays, p)))
    ax.set(xlabel="delay 1 (tau)", ylabel="failure probability", xscale="log", ylim=(-0.05, 1.05))
    ax.legend(frameon=False)
    plt.show()


def check_memory_horizon(memory_horizon: Callable) -> float:
    """Exercise 5.3: the memory horizon from a curve vs ForgettingCurve.memory_horizon."""
    from .analysis.forgetting import ForgettingCurve

    rng = np.random.default_rng(9)
    delays = np.arange(1.0, 200.0, 4.0)
    K = 16

    def curves(threshold):
        failed = np.zeros((40, len(delays), K), bool)
        for b in range(40):
            onset = rng.integers(0, len(delays) + 5)
            failed[b, onset:] = rng.random((max(0, len(delays) - onset), K)) < rng.uniform(0.05, 1.0)
            if b % 7 == 0:
                failed[b, :2] = rng.random((2, K)) < 0.3             # failures at delays shorter than trained
        zeros = np.zeros_like(failed, dtype=np.int8)
        return ForgettingCurve(np.arange(40), delays, np.zeros(K, np.int64), np.zeros(K, np.int64),
                               np.zeros(failed.shape), failed, zeros, threshold, 5.0)

    def compare(threshold):
        def fn():
            fc = curves(threshold)
            want = fc.memory_horizon()
            p = fc.failure_probability()
            for b in range(len(want)):
                got = memory_horizon(delays.copy(), p[b].copy(), 5.0, threshold)
                if not ((got is None and want[b] is None) or
                        (got is not None and want[b] is not None and abs(float(got) - want[b]) < 1e-12)):
                    return False, f"curve {b}: you said {got!r}, the horizon is {want[b]!r}"
            n_never = sum(w is None for w in want)
            return True, f"40 curves exact ({n_never} never forget on the grid)"
        return fn

    return _run("5.3", "the memory horizon", [("threshold 0 (any failed trial)", compare(0.0)),
                                              ("threshold 0.5", compare(0.5))])


# --------------------------------------------------------------------------- #
# chapter 6: distraction
# --------------------------------------------------------------------------- #
def check_distractor(distractor_moments: Callable, centred_distractor: Callable) -> float:
    """Exercise 6.1: mean and spread of the paper's distractor; a zero-mean one of the same spread."""
    from .analysis.robustness import distraction_noise

    sigmas = [0.0, 0.1, 1.0, 10.0, 40.0]

    def moments():
        for s in sigmas:
            got = distractor_moments(s, 0.5)
            want = (0.0, 0.0) if s == 0 else (s / 2 + 0.5, s / math.sqrt(12))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean, std)"
            ok, detail = _close(np.array([float(v) for v in got]), np.array(want), 1e-12, f"(mean, std) at sigma {s:g}")
            if not ok:
                return False, detail
        u = torch.rand(100000, 1, 1, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        emp = distraction_noise(torch.tensor([10.0], dtype=torch.float64), u, 0.5)
        return True, (f"exact at sigma {sigmas}; the package's noise at sigma 10 has mean {emp.mean():.3f} "
                      f"and std {emp.std():.3f}")

    def centred():
        u = torch.rand(350, 1, 7, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        for s in sigmas:
            got = torch.as_tensor(_np(centred_distractor(u.clone(), s)))
            noise = distraction_noise(torch.tensor([s], dtype=torch.float64), u, 0.5)[:, :, 0]
            want = noise - (s / 2 + 0.5 if s > 0 else 0.0)
            ok, detail = _close(got, want, 1e-12, f"noise at sigma {s:g}")
            if not ok:
                return False, detail
        return True, "equal to the package's distractor minus its mean, at every sigma (tolerance 1e-12)"

    return _run("6.1", "what the distractor really is", [("mean and spread", moments),
                                                         ("a zero-mean distractor", centred)])


def check_distraction_point(distraction_point: Callable, networks, trial_end_states, task,
                            network: int = 0) -> float:
    """Exercise 6.2: failures at one noise level vs slowmem.analysis.robustness.distraction."""
    from .analysis.robustness import distraction
    from .task import trial_rng

    net = networks.select([network])
    starts = trial_end_states[network:network + 1]

    def compare(sigma, n_repeats=3):
        def fn():
            ref = distraction(net, task, starts, sigmas=[sigma], n_repeats=n_repeats)
            got = distraction_point(net, task, starts[0].clone(), sigma, n_repeats,
                                    trial_rng(net.seeds[0], _DISTRACTION_STREAM))
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                return False, "return (mean_response, failed)"
            ok, detail = _close(_np(got[0]).reshape(-1), ref.mean_response[0, 0], 1e-8, "mean responses")
            f = _np(got[1]).astype(bool).reshape(-1)
            same = f.shape == ref.failed[0, 0].shape and bool((f == ref.failed[0, 0]).all())
            return ok and same, (f"{detail}; failed trials {'the same' if same else 'DIFFER'} "
                                 f"(failure ratio {ref.failed[0, 0].mean():.2f})")
        return fn

    return _run("6.2", "failures under distraction", [("the noiseless control, sigma = 0", compare(0.0)),
                                                       ("sigma = 2", compare(2.0))])


def explore_distraction(distraction_point: Callable, networks, trial_end_states, task,
                        sigmas: Sequence[float] = (0.5, 2.0, 5.0), n_repeats: int = 3) -> None:
    """Follow-up of exercise 6.2: failure ratio of every network at a few noise levels, with your function."""
    from .task import trial_rng

    rows = []
    try:
        for b in range(networks.B):
            net = networks.select([b])
            rows.append([float(_np(distraction_point(net, task, trial_end_states[b].clone(), s, n_repeats,
                                                     trial_rng(net.seeds[0], _DISTRACTION_STREAM))[1])
                               .astype(float).mean()) for s in sigmas])
    except NotImplementedError:
        print("Implement distraction_point above first; then this cell measures every network with it.")
        return
    head = "".join(f"{f'sigma {s:g}':>11}" for s in sigmas)
    print(f"{'network':<22}{head}")
    for b, r in enumerate(rows):
        name = f"{b} (fb = {networks.configs[b].fb:g})"
        print(f"{name:<22}" + "".join(f"{v:>11.2f}" for v in r))
