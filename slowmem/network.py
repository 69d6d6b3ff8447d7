"""A batch of B continuous-time rate networks (the paper's Methods, network model; book: Methods, Network).

    tau dx/dt = -x + g J r + wf z + wfd zd + wi u(t),   r = tanh(x),
    z = wo^T r (response),  zd = wd^T r (two memory outputs)

Everything carries a leading network axis B (one network is B = 1). Networks
of one batch share N but may differ in every other setting (g, pg, fb, ...),
which is what a hyperparameter sweep needs. Simulations add a condition axis
K per network (start states, trial types, delays, noise repeats ...), so that
one batched matrix product advances every condition of every network:
states are ``x: (B, K, N)``.

Weights are drawn from a per-network ``torch.Generator`` seeded with the
network's seed, on the CPU in float64, then cast and moved: the same
(config, seed) gives bit-identical weights on any device and in any batch.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from .config import ConfigError, NetworkConfig
from .errors import ShapeError
from .runtime import Runtime
from .system import Simulation

__all__ = ["RateNetworks", "Simulation", "NETWORK_TENSORS", "rate_step", "resolve_dtype", "resolve_device"]

#: The tensors of a batch of rate networks, in their stored order.
NETWORK_TENSORS = ("J", "g", "wf", "wfd", "wi", "wo", "wd", "x0")


def _kept_steps(outputs, T: int):
    """``(T,)`` int64: the row of the outputs each step's readout goes to (-1: not kept); see ``simulate``."""
    import numpy as np

    if outputs is True or outputs is False:
        steps = range(T) if outputs else range(0)
    else:
        try:
            parts = [int(v) for v in outputs]
        except (TypeError, ValueError):
            parts = []
        ok = len(parts) in (2, 3) and 0 <= parts[0] <= parts[1] <= T and (len(parts) == 2 or parts[2] >= 1)
        if not ok:
            raise ConfigError(f"outputs must be True, False, (start, stop) or (start, stop, step) with "
                              f"0 <= start <= stop <= {T} and step >= 1; got {outputs!r}")
        steps = range(*parts)
    kept = np.full(T, -1, dtype=np.int64)
    kept[list(steps)] = np.arange(len(steps))
    return kept


_BLAS = None

#: ``simulate(fast=True)`` on the CPU runs :meth:`RateNetworks._fast_cpu_loop` (SciPy's BLAS); False: the
#: torch fast path, as on a GPU (the tests set it to check that path on a machine without one).
_FAST_CPU_BLAS = True


def _cpu_blas():
    """SciPy's BLAS and a thread-pool controller, loaded once (the fast CPU integrator's)."""
    global _BLAS
    if _BLAS is None:
        from scipy.linalg import blas
        from threadpoolctl import ThreadpoolController
        _BLAS = (blas, ThreadpoolController())
    return _BLAS


def resolve_dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        if dtype not in (torch.float32, torch.float64):
            raise ConfigError(f"dtype must be float32 or float64; got {dtype}")
        return dtype
    table = {"float32": torch.float32, "float64": torch.float64}
    if dtype not in table:
        raise ConfigError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    return table[dtype]


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device; ConfigError unless it is the CPU or an available CUDA device.

    The check is :class:`slowmem.runtime.Runtime`'s (the one place a device is validated).
    """
    return Runtime(device=device).torch_device()


def _draw(gen: torch.Generator, shape: tuple[int, ...], init: str) -> torch.Tensor:
    """Unit-variance draws: Normal(0,1) or Uniform(-sqrt3, sqrt3)."""
    if init == "gaussian":
        return torch.randn(shape, generator=gen, dtype=torch.float64)
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * math.sqrt(3.0)


def rate_step(x: torch.Tensor, W_T: torch.Tensor, F_T: torch.Tensor, wout: torch.Tensor, drive: torch.Tensor | None,
              a: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Euler step of B rate networks, K states each: the model's update, defined here once.

        r = tanh(x);   z = r wout = (z, zd_1, zd_2);
        x_next = (1 - a) x + a (r (g J)^T + z [wf, wfd]^T + u wi^T),   a = dt / tau,

    which is ``tau dx/dt = -x + g J r + wf z + wfd zd + wi u`` stepped by dt, with the
    readouts fed back as they are *before* any learning at this step. Pure (nothing is
    modified). The torch training engine runs exactly this; the other integrators
    (:meth:`RateNetworks.simulate`, reference and fast, and the Numba training kernel)
    compute the same step with other rounding and are tested against it
    (``tests/training/test_step.py``).

    Args:
        x: ``(B, K, N)`` states.
        W_T: ``(B, N, N)`` the recurrent matrix, transposed: ``(g J)^T``.
        F_T: ``(B, 3, N)`` the feedback, transposed: ``[wf, wfd]^T``.
        wout: ``(B, N, 3)`` the readouts ``[wo, wd]``.
        drive: ``(B, K, N)`` the input current ``u wi^T`` at this step, or None (no input).
        a: ``dt / tau``.
    Returns:
        ``(x_next, r, z)``: ``(B, K, N)`` the next states, and at ``x`` the rates ``(B, K, N)``
        and readouts ``(B, K, 3)`` (what RLS learns from).
    """
    r = torch.tanh(x)
    z = torch.bmm(r, wout)
    rec = torch.bmm(r, W_T) if drive is None else torch.baddbmm(drive, r, W_T)
    rec.baddbmm_(z, F_T)
    return torch.add(x * (1 - a), rec, alpha=a), r, z


@dataclass
class RateNetworks:
    """B rate networks with shared N.

    Attributes (all on one device and dtype):
        J: ``(B, N, N)`` sparse random recurrent matrix (unscaled by g).
        g: ``(B,)`` gain of J.
        wf: ``(B, N, 1)`` feedback of the response z.
        wfd: ``(B, N, 2)`` feedback of the memory outputs zd.
        wi: ``(B, N, 2)`` input weights.
        wo: ``(B, N, 1)`` response readout (learned).
        wd: ``(B, N, 2)`` memory readout (learned).
        x0: ``(B, N)`` initial state.
        configs: the B network configs.
        seeds: the B seeds.
    """

    J: torch.Tensor
    g: torch.Tensor
    wf: torch.Tensor
    wfd: torch.Tensor
    wi: torch.Tensor
    wo: torch.Tensor
    wd: torch.Tensor
    x0: torch.Tensor
    configs: tuple[NetworkConfig, ...]
    seeds: tuple[int, ...]

    # ------------------------------------------------------------------ build
    @classmethod
    def create(cls, configs: NetworkConfig | Sequence[NetworkConfig], seeds: int | Sequence[int], *,
               device: str | torch.device = "cpu", dtype: str | torch.dtype = "float64") -> RateNetworks:
        """Fresh networks from (config, seed) pairs.

        ``configs`` may be one config for all seeds or one per seed; all must
        share N.
        """
        seeds = (seeds,) if isinstance(seeds, int) else tuple(int(s) for s in seeds)
        if not seeds:
            raise ConfigError("seeds: need at least one network")
        if isinstance(configs, NetworkConfig):
            configs = (configs,) * len(seeds)
        configs = tuple(configs)
        if len(configs) != len(seeds):
            raise ConfigError(f"got {len(configs)} configs for {len(seeds)} seeds; give one or one per seed")
        Ns = {c.N for c in configs}
        if len(Ns) != 1:
            raise ShapeError(f"networks of one batch must share N; got N in {sorted(Ns)}")
        dev, dt = resolve_device(device), resolve_dtype(dtype)
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in NETWORK_TENSORS}
        for c, s in zip(configs, seeds):
            for k, v in cls._draw_one(c, s).items():
                parts[k].append(v)
        t = {k: torch.stack(v).to(device=dev, dtype=dt) for k, v in parts.items()}
        return cls(**t, configs=configs, seeds=seeds)

    @staticmethod
    def _draw_one(c: NetworkConfig, seed: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(int(seed))
        N = c.N
        mask = torch.rand((N, N), generator=gen, dtype=torch.float64) < c.pg
        J = _draw(gen, (N, N), c.init) * math.sqrt(1.0 / (c.pg * N)) * mask
        wf = _draw(gen, (N, 1), c.init) / c.fb
        wfd = _draw(gen, (N, 2), c.init) / c.fb
        wi = _draw(gen, (N, 2), c.init) / c.in_scale
        x0 = c.x0_scale * _draw(gen, (N,), c.init)
        return dict(J=J, g=torch.tensor(float(c.g), dtype=torch.float64), wf=wf, wfd=wfd, wi=wi,
                    wo=torch.zeros(N, 1, dtype=torch.float64), wd=torch.zeros(N, 2, dtype=torch.float64), x0=x0)

    # ------------------------------------------------------------ properties
    @property
    def B(self) -> int:
        return self.J.shape[0]

    @property
    def N(self) -> int:
        return self.J.shape[-1]

    @property
    def device(self) -> torch.device:
        return self.J.device

    @property
    def dtype(self) -> torch.dtype:
        return self.J.dtype

    def recurrent(self) -> torch.Tensor:
        """``(B, N, N)`` the scaled recurrent matrix g J."""
        return self.g[:, None, None] * self.J

    def readout(self) -> torch.Tensor:
        """``(B, N, 3)`` [wo, wd]: r -> (z, zd)."""
        return torch.cat([self.wo, self.wd], dim=-1)

    def feedback(self) -> torch.Tensor:
        """``(B, N, 3)`` [wf, wfd]: (z, zd) -> recurrent input."""
        return torch.cat([self.wf, self.wfd], dim=-1)

    def closed_loop(self) -> torch.Tensor:
        """``(B, N, N)`` effective matrix g J + wf wo^T + wfd wd^T (feedback folded in)."""
        return self.recurrent() + self.feedback() @ self.readout().transpose(1, 2)

    def to(self, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None) -> RateNetworks:
        kw = {}
        if device is not None:
            kw["device"] = resolve_device(device)
        if dtype is not None:
            kw["dtype"] = resolve_dtype(dtype)
        return replace(self, **{k: getattr(self, k).to(**kw) for k in NETWORK_TENSORS})

    def as_dtype(self, dtype: str | torch.dtype) -> RateNetworks:
        """These networks in ``dtype`` (themselves when they already are)."""
        dt = resolve_dtype(dtype)
        return self if dt == self.dtype else self.to(dtype=dt)

    @classmethod
    def concat(cls, parts: Sequence[RateNetworks]) -> RateNetworks:
        """One batch of the networks of ``parts``, in order (they must share N, device and dtype)."""
        parts = [p for p in parts if p is not None and p.B > 0]
        if not parts:
            raise ConfigError("concat: need at least one non-empty batch")
        if len(parts) == 1:
            return parts[0]
        if len({p.N for p in parts}) != 1:
            raise ShapeError(f"concat: batches must share N; got {sorted({p.N for p in parts})}")
        return replace(parts[0], **{k: torch.cat([getattr(p, k) for p in parts]) for k in NETWORK_TENSORS},
                       configs=tuple(c for p in parts for c in p.configs),
                       seeds=tuple(s for p in parts for s in p.seeds))

    def select(self, index: Sequence[int]) -> RateNetworks:
        """The sub-batch of networks ``index``."""
        idx = list(index)
        sel = torch.tensor(idx, device=self.device)
        return replace(self, **{k: getattr(self, k).index_select(0, sel) for k in NETWORK_TENSORS},
                       configs=tuple(self.configs[i] for i in idx), seeds=tuple(self.seeds[i] for i in idx))

    # ------------------------------------------------------------ dynamics
    def vector_field(self, x: torch.Tensor) -> torch.Tensor:
        """Autonomous vector field F(x) = -x + (gJ + wf wo^T + wfd wd^T) tanh(x); ``x: (B, K, N)``."""
        return -x + torch.tanh(x) @ self.closed_loop().transpose(1, 2)

    def jacobian(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, N, N)`` Jacobian of :meth:`vector_field`, ``-I + M diag(1 - tanh(x)^2)``, at ``x: (B, K, N)``."""
        J = self.closed_loop().unsqueeze(1) * (1 - torch.tanh(x) ** 2).unsqueeze(-2)
        J.diagonal(dim1=-2, dim2=-1).sub_(1.0)
        return J

    def readouts(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, K, 3)`` (z, zd_1, zd_2) = [wo, wd]^T tanh(x) at ``x: (B, K, N)``.

        Each column is an elementwise product summed over the units (the attractor probe's reading of z,
        unchanged), not the batched product :meth:`simulate` uses (the two differ in the last place).
        """
        r = torch.tanh(x)
        R = self.readout()
        return torch.stack([(r * R[..., j].unsqueeze(-2)).sum(-1) for j in range(3)], -1)

    def simulate(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None,
                 dt: float = 0.1, tau: float = 1.0, record_every: int = 0,
                 input_mask: torch.Tensor | None = None, outputs: bool | tuple[int, int] = True,
                 fast: bool = False) -> Simulation:
        """Euler-integrate K conditions per network with weights frozen.

        Args:
            x0: ``(B, K, N)`` start states (``(B, N)`` is read as K = 1).
            inputs: ``(T, B, K, 2)`` input latents, or None for autonomous runs
                of ``steps`` steps. Steps whose input is zero for every
                condition skip the input product (the result is the same).
            record_every: keep the state every this many steps (0: none).
            input_mask: ``(B, K, N)`` multiplies the input drive per neuron
                (0 silences a neuron's input; used by the interruption test).
            outputs: which steps' readouts to keep: True (all), False (none),
                ``(start, stop)`` (steps ``start <= t < stop``) or ``(start, stop,
                step)`` (every ``step``-th of them); the rest are not computed.
            fast: the analyses' integrator: the leak and the recurrent product in one
                fused matrix product (on the CPU, one BLAS call per network through
                SciPy), and on the CPU NumPy's vectorised tanh (about 10x torch's). Same
                Euler step, different rounding (about one unit in the last place per
                step); training and evaluation use the reference integrator
                (``fast=False``, unchanged). Every path computes :func:`rate_step` (the
                reference with the feedback folded into ``closed_loop()``), tested against it.
        Returns:
            :class:`Simulation` with outputs ``(T_kept, B, K, 3)``.
        """
        x = x0.unsqueeze(1) if x0.ndim == 2 else x0
        if x.shape[0] != self.B or x.shape[-1] != self.N:
            raise ShapeError(f"x0 must be (B={self.B}, K, N={self.N}); got {tuple(x0.shape)}")
        x = x.to(device=self.device, dtype=self.dtype).clone()
        if inputs is not None:
            T = inputs.shape[0]
            if inputs.shape[1] != self.B or inputs.shape[2] != x.shape[1] or inputs.shape[-1] != 2:
                raise ShapeError(f"inputs must be (T, B={self.B}, K={x.shape[1]}, 2); got {tuple(inputs.shape)}")
            inputs = inputs.to(device=self.device, dtype=self.dtype)
            driven = (inputs != 0).flatten(1).any(1).tolist() if T else []
        elif steps is None:
            raise ConfigError("give inputs or steps")
        else:
            T = int(steps)
        kept = _kept_steps(outputs, T)                          # step -> row of the outputs, or -1
        M_T = self.closed_loop().transpose(1, 2).contiguous()   # (B, N, N): r @ M^T
        R = self.readout()
        wi_T = self.wi.transpose(1, 2).contiguous()              # (B, 2, N)
        a = dt / tau
        out = torch.empty((max(kept.max() + 1, 0) if T else 0, self.B, x.shape[1], 3), device=self.device,
                          dtype=self.dtype)
        kept = kept.tolist()
        states = [] if record_every else None
        r = torch.empty_like(x)
        if fast and x.device.type == "cpu" and _FAST_CPU_BLAS:
            self._fast_cpu_loop(x, out, kept, T, M_T, R, wi_T, a, inputs, driven if inputs is not None else None,
                                input_mask, record_every, states)
        else:
            nxt = torch.empty_like(x) if fast else None
            for t in range(T):
                torch.tanh(x, out=r)
                if kept[t] >= 0:
                    torch.bmm(r, R, out=out[kept[t]])
                inp = None
                if inputs is not None and driven[t]:
                    inp = torch.bmm(inputs[t], wi_T)
                    inp = inp * input_mask if input_mask is not None else inp
                if fast:                                           # x <- (1 - a) x + a r M^T, one product
                    torch.baddbmm(x, r, M_T, beta=1 - a, alpha=a, out=nxt)
                    x, nxt = nxt, x
                    if inp is not None:
                        x.add_(inp, alpha=a)
                else:                                              # the reference step (training, evaluation)
                    drive = torch.bmm(r, M_T)
                    if inp is not None:
                        drive += inp
                    x.mul_(1 - a).add_(drive, alpha=a)
                if record_every and (t + 1) % record_every == 0:
                    states.append(x.clone())
        return Simulation(out, x, torch.stack(states) if states else None)

    def _fast_cpu_loop(self, x, out, kept, T, M_T, R, wi_T, a, inputs, driven, input_mask, record_every,
                       states) -> None:
        """The fast integrator on the CPU, in place on ``x: (B, K, N)``: NumPy's tanh, and per network and
        step one BLAS ``gemm`` (OpenBLAS through SciPy; on one core here about 1.2x torch's batched product) that
        computes ``(1 - a) x + a [tanh(x), u] [M^T; W_in^T]``: the input u rides in two extra columns of
        the product unless an input mask silences units (then it is added after). BLAS runs on as many
        threads as torch."""
        import numpy as np

        blas, ctl = _cpu_blas()
        gemm = blas.sgemm if x.dtype == torch.float32 else blas.dgemm
        B, K, N = x.shape
        fold = inputs is not None and input_mask is None
        width = N + 2 if fold else N
        r = torch.zeros((B, K, width), dtype=x.dtype)          # [tanh(x), u]
        Mw = torch.cat([M_T, wi_T], dim=1) if fold else M_T     # (B, width, N)
        Rw = torch.cat([R, torch.zeros((B, 2, 3), dtype=R.dtype)], dim=1) if fold else R
        x_np, r_np = x.numpy(), r.numpy()
        th = r_np[..., :N] if fold else r_np
        # column-major views: x[b]^T (N, K) <- a Mw[b]^T r[b]^T + (1 - a) x[b]^T
        xs = [x_np[b].T for b in range(B)]
        rs = [r_np[b].T for b in range(B)]
        ms = [np.ascontiguousarray(Mw[b].numpy()).T for b in range(B)]
        live = False                                            # input columns hold a nonzero input
        with ctl.limit(limits=torch.get_num_threads(), user_api="blas"):
            for t in range(T):
                np.tanh(x_np, out=th)
                drive = inputs is not None and driven[t]
                if fold and (drive or live):
                    r[..., N:] = inputs[t] if drive else 0.0
                    live = drive
                if kept[t] >= 0:
                    torch.bmm(r, Rw, out=out[kept[t]])
                for b in range(B):
                    y = gemm(a, ms[b], rs[b], beta=1 - a, c=xs[b], overwrite_c=True)
                    if t == 0 and not np.shares_memory(y, xs[b]):
                        raise RuntimeError("BLAS gemm did not update the state in place")   # never silently wrong
                if drive and not fold:
                    x.add_(torch.bmm(inputs[t], wi_T) * input_mask, alpha=a)
                if record_every and (t + 1) % record_every == 0:
                    states.append(x.clone())

    # ------------------------------------------------------------ storage
    def fixed_weights_hash(self, b: int) -> str:
        """SHA-256 of network ``b``'s fixed random weights (J, wf, wfd, wi, x0) in float64."""
        h = hashlib.sha256()
        for k in ("J", "wf", "wfd", "wi", "x0"):
            h.update(getattr(self, k)[b].detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
        return h.hexdigest()

    def same_weights(self, other: RateNetworks) -> bool:
        """Bit-identical tensors and same configs/seeds."""
        return self.configs == other.configs and self.seeds == other.seeds and all(
            torch.equal(getattr(self, k), getattr(other, k)) for k in NETWORK_TENSORS)

