"""The sequential pattern-matching (SPM) task of Ghazizadeh & Ching (2021).

Two digits are shown one after the other (``stim1``, ``stim2``), each followed
by a delay; after the second delay the network reports an encoding of their
sum in the ``response`` window. During each stimulus every integration step
shows the 2-D latent of a *different* randomly drawn image of that digit.
During ``delay1`` / ``delay2`` two auxiliary ("memory") outputs must hold the
class-mean latent of the first / second digit.

Trials run back to back with no reset, so this module produces trials and
schedules; the network carries its state from one to the next.

Tensors are time-major: ``inputs: (T, *batch, 2)`` where ``batch`` is the
shape of the ``trial_types`` asked for -- usually ``(B,)`` for B networks or
``(B, K)`` for K conditions per network. Input channels are
:data:`INPUT_CHANNELS`, outputs :data:`OUTPUT_CHANNELS`.

Reference: Ghazizadeh E., Ching S. (2021) PLoS Comput Biol 17(9): e1009366.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch

from .config import PERIODS, ConfigError, TaskConfig
from .stimuli import StimulusBank, load_stimuli

__all__ = ["TRIAL_TYPES", "INPUT_CHANNELS", "OUTPUT_CHANNELS", "STREAMS", "Trials", "SPMTask", "trial_rng"]

#: The four trial types, by index: (first digit class, second digit class) as 0/1.
TRIAL_TYPES: tuple[tuple[int, int], ...] = ((0, 0), (0, 1), (1, 0), (1, 1))
#: Names of the two input channels (the latent's coordinates).
INPUT_CHANNELS = ("latent_1", "latent_2")
#: Names of the three readouts: the response and the two memory outputs.
OUTPUT_CHANNELS = ("z", "zd_1", "zd_2")


#: The named random streams of a network's seed: every draw after the weights comes from one of
#: them, through :func:`trial_rng`, so that no two uses share a stream and adding draws to one use
#: never changes another. The numbers are part of every stored result: never renumber them.
STREAMS: Mapping[str, int] = MappingProxyType({
    "training": 0,        # training trial order and stimulus draws (slowmem.training)
    "testing": 1,         # the test trials after training (slowmem.evaluation)
    "replay": 2,          # the replay test of every trial type from every trial-end state
    "probe": 3,           # the attractor probe's start noise, the slow-point starts
    "activity": 4,        # the activity-profile test trials
    "forgetting": 5,      # the forgetting curve's stimulus draws
    "distraction": 6,     # the distraction test's stimuli and noise
    "interruption": 7,    # the interruption test's stimuli
})


def trial_rng(seed: int, stream: int | str = 0) -> np.random.Generator:
    """The generator of a network's trial order and stimulus draws, for one of :data:`STREAMS`.

    Separate from the weights' generator so that changing how many trials are
    run never changes the network, and independent per ``stream`` (a name of
    :data:`STREAMS` or its number).
    """
    if isinstance(stream, str):
        if stream not in STREAMS:
            raise ConfigError(f"stream must be one of {', '.join(STREAMS)}; got {stream!r}")
        stream = STREAMS[stream]
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0x5107, int(stream)]))


@dataclass(frozen=True)
class Trials:
    """A block of trials, one per entry of ``trial_types``.

    Attributes:
        inputs: ``(T, *batch, 2)`` latent input at each step (zero off-stimulus).
        output_target: ``(T, *batch, 1)`` the sum's encoding in the response
            window, zero elsewhere.
        memory_target: ``(T, *batch, 2)`` class-mean latent of the first digit
            in delay1, of the second in delay2, zero elsewhere.
        trial_types: ``(*batch,)`` int64 index into :data:`TRIAL_TYPES`.
        response_value: ``(*batch,)`` the nominal response (encoding of the sum).
    """

    inputs: torch.Tensor
    output_target: torch.Tensor
    memory_target: torch.Tensor
    trial_types: torch.Tensor
    response_value: torch.Tensor


class SPMTask:
    """The SPM task for a :class:`~slowmem.config.TaskConfig`.

    Attributes:
        cfg: the validated task settings.
        bank: the stimulus latents (:class:`~slowmem.stimuli.StimulusBank`).
        period_steps: steps of each period, in order.
        T: steps per trial.
        windows: ``name -> slice`` of each period's steps within a trial.
        response_mask, memory_mask, stimulus_mask: ``(T,)`` bool.
    """

    def __init__(self, cfg: TaskConfig | None = None, bank: StimulusBank | None = None):
        self.cfg = cfg if cfg is not None else TaskConfig()
        self.bank = bank if bank is not None else load_stimuli(self.cfg.stimuli)
        self.period_steps = self.cfg.period_steps
        self.T = sum(self.period_steps.values())
        self.windows: dict[str, slice] = {}
        t = 0
        for p in PERIODS:
            self.windows[p] = slice(t, t + self.period_steps[p])
            t += self.period_steps[p]
        self.response_mask = self._mask("response")
        self.memory_mask = self._mask("delay1", "delay2")
        self.stimulus_mask = self._mask("stim1", "stim2")
        d0, d1 = self.cfg.digits
        self._class_latents = [self.bank.class_latents(d0), self.bank.class_latents(d1)]
        self.class_means = torch.stack([c.mean(0) for c in self._class_latents])  # (2, 2)
        self.encoding = torch.tensor(self.cfg.encoding, dtype=torch.float64)

    def _mask(self, *periods: str) -> torch.Tensor:
        m = torch.zeros(self.T, dtype=torch.bool)
        for p in periods:
            m[self.windows[p]] = True
        return m

    @property
    def dt(self) -> float:
        return self.cfg.dt

    def response_values(self) -> torch.Tensor:
        """``(4,)`` nominal response of each trial type (float64)."""
        sums = torch.tensor([a + b for a, b in TRIAL_TYPES])
        return self.encoding[sums]

    def schedule(self, n_trials: int, rng: np.random.Generator) -> np.ndarray:
        """A shuffled, balanced list of ``n_trials`` trial types (ints 0..3).

        Every type appears ``n_trials // 4`` or one more times.
        """
        if n_trials < 0:
            raise ConfigError(f"n_trials must be >= 0; got {n_trials}")
        reps = -(-n_trials // 4)
        types = np.tile(np.arange(4), reps)
        rng.shuffle(types)
        return types[:n_trials]

    def make_trials(self, trial_types: Sequence | np.ndarray | torch.Tensor,
                    rngs: Sequence[np.random.Generator], *, device: str | torch.device = "cpu",
                    dtype: torch.dtype = torch.float64, timing: dict[str, int] | None = None) -> Trials:
        """Build one trial for every entry of ``trial_types: (B, *rest)``.

        ``rngs[b]`` draws the stimulus images of all trials of network ``b``
        (one generator per network, so a network's stimuli do not depend on
        which other networks share its batch).

        ``timing`` optionally replaces the step counts of some periods (used
        by the forgetting analysis to stretch delay1); it is an internal hook:
        step counts, not durations.
        """
        # Built in NumPy and converted once at the end: this runs once per training trial, and a
        # dozen small PyTorch operations cost more than the numbers (and PyTorch's advanced
        # indexing wakes its intra-op threads, which then spin beside the CPU training kernel).
        if isinstance(trial_types, torch.Tensor):
            trial_types = trial_types.cpu().numpy()
        types = np.asarray(trial_types).astype(np.int64)
        if types.ndim == 0:
            types = types.reshape(1)
        if types.size and (types.min() < 0 or types.max() > 3):
            raise ConfigError(f"trial types must be in 0..3; got values {np.unique(types).tolist()}")
        B = types.shape[0]
        if len(rngs) != B:
            raise ConfigError(f"need one random generator per network: {B} networks, {len(rngs)} generators")
        steps = dict(self.period_steps)
        if timing:
            steps.update(timing)
        T = sum(steps.values())
        rest = types.shape[1:]
        n1, n2 = steps["stim1"], steps["stim2"]
        first = types // 2   # digit index (0/1) of stim1, per TRIAL_TYPES ordering
        second = types % 2
        # per network: uniform draws -> image index within the class
        u = np.stack([r.random((*rest, n1 + n2)) for r in rngs])                       # (B,*rest,n1+n2)
        lats = [c.numpy() for c in self._class_latents]
        sizes = np.array([len(c) for c in lats])
        cls = np.concatenate([np.broadcast_to(first[..., None], (*types.shape, n1)),
                              np.broadcast_to(second[..., None], (*types.shape, n2))], axis=-1)
        idx = np.minimum((u * sizes[cls]).astype(np.int64), sizes[cls] - 1)
        lat = np.where(cls[..., None] == 0, lats[0][np.minimum(idx, sizes[0] - 1)],
                       lats[1][np.minimum(idx, sizes[1] - 1)])                          # (B,*rest,n1+n2,2)
        lat = np.moveaxis(lat, -2, 0)                                                    # (n1+n2, B, *rest, 2)

        inputs = np.zeros((T, *types.shape, 2))
        memory = np.zeros((T, *types.shape, 2))
        output = np.zeros((T, *types.shape, 1))
        t1 = steps["stim1"]
        td1 = t1 + steps["delay1"]
        t2 = td1 + steps["stim2"]
        td2 = t2 + steps["delay2"]
        inputs[:t1] = lat[:n1]
        inputs[td1:t2] = lat[n1:]
        means = self.class_means.numpy()
        memory[t1:td1] = means[first]
        memory[t2:td2] = means[second]
        value = self.encoding.numpy()[first + second]
        output[td2:] = value[..., None]
        to = dict(device=device, dtype=dtype)
        return Trials(torch.from_numpy(inputs).to(**to), torch.from_numpy(output).to(**to),
                      torch.from_numpy(memory).to(**to), torch.from_numpy(types).to(device),
                      torch.from_numpy(value).to(**to))
