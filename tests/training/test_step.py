"""The rate-network step is defined once (slowmem.network.rate_step); every integrator is tested against it.

Integrators: ``RateNetworks.simulate`` (reference path; fast path in torch, the GPU's; fast path through
SciPy's BLAS, the CPU's), the torch training engine and the Numba training engine, each run for a few
steps on small random float64 networks. Where the arithmetic is the same the agreement is bit for bit;
where sums are taken in another order it is within ``RTOL`` of the largest value (relative). Every
comparison is also made against the step with a doubled ``a = dt / tau``, which it must fail: a
tolerance that let a wrong step through would test nothing.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import slowmem.network as network
from slowmem.config import NetworkConfig, TrainingConfig
from slowmem.network import RateNetworks, rate_step
from slowmem.training.numba_engine import NumbaStepper
from slowmem.training.state import TrainingState
from slowmem.training.torch_engine import TorchStepper, rls_update

#: Relative tolerance where rounding differs: a few ulp per step, times the steps taken.
RTOL = 1e-12
DT, TAU = 0.1, 1.0


def _nets(B=3, N=30, seed=0) -> RateNetworks:
    """B networks (different g and fb) with nonzero random readouts, float64."""
    cfgs = [NetworkConfig(N=N, g=g, fb=fb) for g, fb in zip((1.5, 1.2, 0.8), (1.0, 5.0, 2.0))][:B]
    net = RateNetworks.create(cfgs, list(range(seed, seed + B)))
    gen = torch.Generator().manual_seed(seed + 100)
    net.wo = 0.3 * torch.randn(B, N, 1, generator=gen, dtype=torch.float64)
    net.wd = 0.3 * torch.randn(B, N, 2, generator=gen, dtype=torch.float64)
    return net


def _close(got: torch.Tensor, want: torch.Tensor, rtol: float = RTOL) -> bool:
    return float((got - want).abs().max()) <= rtol * float(want.abs().max())


def _matrices(net: RateNetworks):
    return net.recurrent().transpose(1, 2), net.feedback().transpose(1, 2), net.readout()


def _rollout(net: RateNetworks, x0: torch.Tensor, u: torch.Tensor | None, steps: int, a: float):
    """The one step, iterated: ``x0 (B, K, N)``, ``u (T, B, K, 2)`` -> (outputs (T, B, K, 3), states (T, B, K, N))."""
    W_T, F_T, wout = _matrices(net)
    x, outs, states = x0, [], []
    for t in range(steps):
        drive = None if u is None else torch.bmm(u[t], net.wi.transpose(1, 2))
        x, _, z = rate_step(x, W_T, F_T, wout, drive, a)
        outs.append(z)
        states.append(x)
    return torch.stack(outs), torch.stack(states)


def test_rate_step_is_the_papers_equation():
    """tau dx/dt = -x + g J r + wf z + wfd zd + wi u, one Euler step, written out unit by unit; inputs untouched."""
    net = _nets()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, 30, generator=gen, dtype=torch.float64)
    u = torch.randn(3, 4, 2, generator=gen, dtype=torch.float64)
    W_T, F_T, wout = _matrices(net)
    drive = torch.bmm(u, net.wi.transpose(1, 2))
    args = [t.clone() for t in (x, W_T, F_T, wout, drive)]
    x_next, r, z = rate_step(x, W_T, F_T, wout, drive, DT / TAU)
    assert all(torch.equal(s, t) for s, t in zip(args, (x, W_T, F_T, wout, drive)))
    r_ = torch.tanh(x)
    z_ = torch.einsum("bkn,bnm->bkm", r_, net.wo)
    zd_ = torch.einsum("bkn,bnm->bkm", r_, net.wd)
    dx = (-x + torch.einsum("b,bij,bkj->bki", net.g, net.J, r_) + torch.einsum("bnm,bkm->bkn", net.wf, z_)
          + torch.einsum("bnm,bkm->bkn", net.wfd, zd_) + torch.einsum("bnm,bkm->bkn", net.wi, u))
    assert torch.equal(r, r_) and _close(z, torch.cat([z_, zd_], -1), 1e-14)
    assert _close(x_next, x + DT / TAU * dx, 1e-14)
    assert not _close(x_next, x + 2 * DT / TAU * dx, 1e-14)
    # no input: the same as a zero input current
    assert _close(rate_step(x, W_T, F_T, wout, None, 0.1)[0], rate_step(x, W_T, F_T, wout, 0 * drive, 0.1)[0], 1e-15)


@pytest.mark.parametrize("path", ["reference", "fast-torch", "fast-cpu-blas", "fast-cpu-blas-masked"])
@pytest.mark.parametrize("driven", [True, False])
def test_simulate_takes_the_one_step(path, driven, monkeypatch):
    """Every path of ``simulate`` integrates rate_step: outputs, recorded and final states within RTOL.

    The reference path folds the feedback into one closed-loop matrix (g J + wf wo^T + wfd wd^T) and the
    fast paths fuse the leak into the product: the same step, other rounding.
    """
    net = _nets()
    gen = torch.Generator().manual_seed(2)
    T, K = 12, 2
    x0 = torch.randn(3, K, 30, generator=gen, dtype=torch.float64)
    u = torch.randn(T, 3, K, 2, generator=gen, dtype=torch.float64) if driven else None
    if u is not None:
        u[4:7] = 0.0                                                   # steps without input skip the input product
    kw = dict(dt=DT, tau=TAU, record_every=1, fast=path != "reference")
    if path == "fast-torch":
        monkeypatch.setattr(network, "_FAST_CPU_BLAS", False)
    if path == "fast-cpu-blas-masked":                                 # the input added after the product
        kw["input_mask"] = torch.ones(3, K, 30, dtype=torch.float64)
    sim = net.simulate(x0, u, steps=T, **kw)
    outs, states = _rollout(net, x0, u, T, DT / TAU)
    wrong_outs, wrong_states = _rollout(net, x0, u, T, 2 * DT / TAU)
    assert _close(sim.outputs, outs) and _close(sim.states, states) and _close(sim.final_state, states[-1])
    assert not _close(sim.states, wrong_states) and not _close(sim.outputs, wrong_outs)


# ---------------------------------------------------------------- training engines
def _task(T=10, resp=(6, 10), mem=(2, 5)):
    """What a stepper reads of a task: T and the windows (steps ``resp[0] <= t < resp[1]`` etc.)."""
    steps = torch.arange(T)
    return SimpleNamespace(T=T, response_mask=(steps >= resp[0]) & (steps < resp[1]),
                           memory_mask=(steps >= mem[0]) & (steps < mem[1]))


def _reference_training(net, task, cfg, u, target, a):
    """FORCE from the one step and the one rls_update, one network at a time (batch-one products, as the torch
    engine): the state after ``u (B, K T, 2)``, ``target (B, K T, 3)``, and the outputs ``(B, K T, 3)``."""
    state = TrainingState.fresh(net, alpha=cfg.alpha, rule=cfg.rule)
    resp, mem = task.response_mask.tolist(), task.memory_mask.tolist()
    outputs = torch.empty_like(target)
    for b in range(net.B):
        s = state.network(b)
        x = s.x.unsqueeze(1).clone()
        for k in range(u.shape[1] // task.T):
            drive = torch.bmm(u[b:b + 1, k * task.T:(k + 1) * task.T], s.wi_T)
            for t in range(task.T):
                step = k * task.T + t
                x_next, r, z = rate_step(x, s.W_T, s.F_T, s.wout, drive[:, t:t + 1], a)
                outputs[b, step] = z[0, 0]
                e = z - target[b:b + 1, step:step + 1]
                if step % cfg.update_every == 0:
                    if cfg.rule == "original":
                        rls_update(s.P_out, r, s.wout, e)
                    elif resp[t]:
                        rls_update(s.P_out, r, s.wout[:, :, :1], e[:, :, :1])
                    elif mem[t]:
                        rls_update(s.P_mem, r, s.wout[:, :, 1:], e[:, :, 1:])
                x = x_next
        s.x.copy_(x[:, 0])
    return state, outputs


def _engine(engine, net, task, cfg, u, target, a):
    state = TrainingState.fresh(net, alpha=cfg.alpha, rule=cfg.rule)
    make = (lambda: TorchStepper(state, task, cfg, a)) if engine == "torch" else (
        lambda: NumbaStepper(state, task, cfg, a, threads=1))
    with make() as stepper:
        outputs = stepper(u, target)
    return state, outputs


def _applied(state: TrainingState, i: int) -> torch.Tensor:
    """P_out (i = 0) or P_mem (1) with the Numba engine's pending rank-1 update applied (one P: the original rule)."""
    P = state.P_out if i == 0 else state.P_mem
    i = 0 if state.P_mem is state.P_out else i
    return P - state.pending[:, i, 0, :, None] * state.pending[:, i, 1, None, :]


CASES = {   # name: (rule, update_every, task windows)
    "learning off": ("modified", 2, dict(resp=(0, 0), mem=(0, 0))),
    "modified": ("modified", 2, {}),
    "modified, every step": ("modified", 1, {}),
    "original": ("original", 3, {}),
}


@pytest.mark.parametrize("engine", ["torch", "numba"])
@pytest.mark.parametrize("case", list(CASES))
def test_training_engines_take_the_one_step(engine, case):
    """Two trials of three networks: each engine against the reference built from rate_step + rls_update.

    The torch engine is that reference (bit for bit); the Numba kernel sums in another order (within RTOL).
    """
    rule, every, windows = CASES[case]
    net, task, cfg = _nets(), _task(**windows), TrainingConfig(rule=rule, update_every=every, alpha=1.0)
    gen = torch.Generator().manual_seed(3)
    u = torch.randn(3, 2 * task.T, 2, generator=gen, dtype=torch.float64)
    target = torch.randn(3, 2 * task.T, 3, generator=gen, dtype=torch.float64)
    a = DT / TAU
    got, outputs = _engine(engine, net, task, cfg, u, target, a)
    want, want_outputs = _reference_training(net, task, cfg, u, target, a)
    wrong, wrong_outputs = _reference_training(net, task, cfg, u, target, 2 * a)
    pairs = [(outputs, want_outputs), (got.x, want.x), (got.wout, want.wout), (_applied(got, 0), want.P_out),
             (_applied(got, 1), want.P_mem)]
    if engine == "torch":
        assert all(torch.equal(g, w) for g, w in pairs) and not got.pending.any()
    else:
        assert all(_close(g, w) for g, w in pairs)
    assert not _close(got.x, wrong.x) and not _close(outputs, wrong_outputs)
    learned = not torch.equal(got.wout, net.readout())
    assert learned == (case != "learning off")
    assert torch.equal(got.P_mem, got.P_out) == (rule == "original" or case == "learning off")


def test_training_state_is_named_and_fresh():
    net = _nets(B=2, N=20)
    s = TrainingState.fresh(net, alpha=2.0, rule="modified")
    shapes = {k: tuple(getattr(s, k).shape) for k in ("W_T", "F_T", "wi_T", "P_out", "P_mem", "pending", "wout", "x")}
    assert shapes == dict(W_T=(2, 20, 20), F_T=(2, 3, 20), wi_T=(2, 2, 20), P_out=(2, 20, 20), P_mem=(2, 20, 20),
                          pending=(2, 2, 2, 20), wout=(2, 20, 3), x=(2, 20))
    assert torch.equal(s.P_out[1], torch.eye(20, dtype=torch.float64) / 2) and s.P_mem is not s.P_out
    orig = TrainingState.fresh(net, alpha=1.0, rule="original")
    assert orig.P_mem is orig.P_out
    views = s.numpy()
    views.x[1, 0] = np.inf                                              # NumPy views write through
    assert s.x[1, 0] == np.inf and s.nonfinite().tolist() == [False, True] == views.nonfinite().tolist()
    one = s.network(1)
    assert one.x.shape == (1, 20) and one.x.data_ptr() == s.x[1:].data_ptr()
    with pytest.raises(AttributeError):
        s.x = s.x.clone()                                               # frozen: fields are never rebound
