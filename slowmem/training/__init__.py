"""FORCE and modified FORCE training of a batch of rate networks (the paper's Methods, "Training").

    loop.py          train(), train_from_config(), TrainingResult: the trial loop, engine-agnostic
    state.py         TrainingState: the named state (weights, RLS matrices, states) every engine updates
    torch_engine.py  rls_update(), force_step() (the one step of slowmem.network.rate_step + RLS) and the
                     batched-tensor engine built on it (any device; the CUDA path, the reference)
    numba_engine.py  the compiled CPU engine (Numba): whole trials per call, g J shared in lockstep

``train`` is the entry point; see :mod:`slowmem.training.loop`.
"""
from .loop import (
                   ENGINES,
                   TRIALS_PER_CALL,
                   TrainingResult,
                   check_training_memory,
                   resolve_engine,
                   train,
                   train_from_config,
                   training_bytes,
)
from .torch_engine import rls_update

__all__ = ["ENGINES", "TRIALS_PER_CALL", "TrainingResult", "check_training_memory", "resolve_engine", "rls_update",
           "train", "train_from_config", "training_bytes"]
