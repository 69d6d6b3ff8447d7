"""Run settings: how a run goes -- never what it computes, and never part of a result's identity.

A :class:`slowmem.config.Config` says *what* is computed (task, network,
training, analysis settings); a :class:`Runtime` says *how*: on which device,
with which training engine, how many threads, in chunks of what size, in what
simulation precision, with or without progress bars. A network's identity and
a summary's identity are the science config (and the summary's version) only,
so changing a run setting never recomputes a stored result; every stored row
records the run settings it was made with (``runtime_json``) for provenance.

Every entry point takes it the same way, as a keyword ``runtime=`` (None: the
defaults below): :func:`slowmem.training.train`, the analyses' ``summarize``
functions, :class:`slowmem.sweep.SweepOptions`, ``analyze_folder``,
``Population.networks``; the CLI builds one from its flags. Example::

    from slowmem.runtime import Runtime
    rt = Runtime(device="cuda", simulation_dtype="float64")
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import torch

from .config import ConfigError, check_number
from .config.sections import DTYPES

__all__ = ["Runtime", "ENGINES", "DEFAULT_MAX_CHUNK_ELEMENTS", "check_device", "as_runtime"]

#: Training engines: ``auto`` (``numba`` on the CPU when installed, else ``torch``), ``torch`` (batched
#: tensor operations, any device), ``numba`` (compiled per-network trial loop, CPU only).
ENGINES: tuple[str, ...] = ("auto", "torch", "numba")
#: Default of :attr:`Runtime.max_chunk_elements` (2**24 numbers: 128 MiB of float64 per chunk).
DEFAULT_MAX_CHUNK_ELEMENTS = 2 ** 24
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def check_device(device: Any) -> str:
    """``device`` if it is spelled ``cpu``, ``cuda`` or ``cuda:K``; else ConfigError (the one syntax check).

    Whether a CUDA device is present is checked where it is used
    (:meth:`Runtime.torch_device`, :func:`slowmem.network.resolve_device`).
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str) or not _DEVICE.fullmatch(device.strip()):
        raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:K'; got {device!r}")
    return device.strip()


def _int(name: str, value: Any, lo: int, hi: int) -> int:
    return check_number(name, value, lo=lo, hi=hi, integer=True)


@dataclass(frozen=True)
class Runtime:
    """Every run setting of slowmem, validated; the defaults are the package's defaults.

    Attributes:
        device: ``cpu``, ``cuda`` or ``cuda:K``: where networks are trained and
            analysed. Stored results are moved to it when read.
        engine: training engine, one of :data:`ENGINES`. The engines compute the
            same float64 arithmetic in another order, so they agree to rounding,
            not bit for bit; ``tests/training/test_training.py``
            (``test_numba_and_torch_engines_agree``) bounds the difference and
            ``benchmarks/engine_check.py`` measures it on trained networks.
        threads: threads of this process for torch and the numba engine; None
            leaves torch's default (:meth:`apply_threads` sets it).
        max_chunk_elements: most numbers one chunk of a batched simulation or of
            the Newton stage's Jacobians holds (bounds memory; results do not
            depend on it, tested in ``tests/analysis/test_memory.py``).
        chunk_trials: trial lengths the attractor probe simulates per call
            (bounds memory; results do not depend on it).
        simulation_dtype: precision of the analyses' long simulations
            (``float32``, about 2.5x faster on a CPU, or ``float64``): the
            attractor probe's approach and the stress tests' trials; the
            network's weights are cast, decisions are taken in float64. It can
            change numbers at rounding level: the bound is tested in
            ``tests/analysis/test_memory.py``
            (``test_simulation_dtype_float32_and_float64_agree``) and
            ``tests/analysis/test_dynamics.py``, and the book's Methods page
            shows that both give the same summaries on the stored population.
        progress: show progress bars.
    """

    device: str = "cpu"
    engine: str = "auto"
    threads: int | None = None
    max_chunk_elements: int = DEFAULT_MAX_CHUNK_ELEMENTS
    chunk_trials: int = 1
    simulation_dtype: str = "float32"
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", check_device(self.device))
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {', '.join(ENGINES)}; got {self.engine!r}")
        if self.engine == "numba" and self.device != "cpu":
            raise ConfigError(f"engine 'numba' runs on the CPU only; device is {self.device!r}; "
                              "use engine 'torch' or 'auto'")
        if self.threads is not None:
            object.__setattr__(self, "threads", _int("threads", self.threads, 1, 4096))
        object.__setattr__(self, "max_chunk_elements",
                           _int("max_chunk_elements", self.max_chunk_elements, 1, 2 ** 40))
        object.__setattr__(self, "chunk_trials", _int("chunk_trials", self.chunk_trials, 1, 10 ** 5))
        if self.simulation_dtype not in DTYPES:
            raise ConfigError(f"simulation_dtype must be one of {', '.join(DTYPES)}; got {self.simulation_dtype!r}")
        if not isinstance(self.progress, bool):
            raise ConfigError(f"progress must be True or False; got {self.progress!r}")

    def replace(self, **changes: Any) -> Runtime:
        """A copy with ``changes`` applied (validated); None values are ignored (CLI flags not given)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        fields = {f.name for f in dataclasses.fields(self)}
        bad = sorted(set(changes) - fields)
        if bad:
            raise ConfigError(f"unknown run setting(s) {bad}; allowed: {', '.join(sorted(fields))}")
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict:
        """Plain data, for provenance (each stored row's ``runtime_json``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Any) -> Runtime:
        """Inverse of :meth:`to_dict` (a sweep's payload); unknown keys raise ConfigError."""
        if not isinstance(d, dict):
            raise ConfigError(f"run settings must be a mapping; got {type(d).__name__}")
        return cls().replace(**d)

    @property
    def is_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def torch_device(self) -> torch.device:
        """:attr:`device` as a torch device; ConfigError when it is a CUDA device this machine lacks."""
        if self.is_cuda:
            if not torch.cuda.is_available():
                raise ConfigError(f"device {self.device!r} asked for, but CUDA is not available here; "
                                  "allowed: 'cpu'")
            k = int(self.device.partition(":")[2] or 0)
            if k >= torch.cuda.device_count():
                raise ConfigError(f"device {self.device!r} asked for, but this machine has "
                                  f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device(self.device)

    def apply_threads(self) -> None:
        """Set torch's thread count of this process to :attr:`threads` (nothing when None)."""
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def engine_threads(self) -> int:
        """Threads the numba engine spreads networks over: :attr:`threads`, else torch's count."""
        return torch.get_num_threads() if self.threads is None else self.threads


def as_runtime(runtime: Runtime | None) -> Runtime:
    """``runtime``, or the defaults when None; ConfigError for anything else."""
    if runtime is None:
        return Runtime()
    if not isinstance(runtime, Runtime):
        raise ConfigError(f"runtime must be a slowmem.runtime.Runtime or None; got {type(runtime).__name__}")
    return runtime
