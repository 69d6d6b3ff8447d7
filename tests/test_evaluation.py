import numpy as np
import torch

from slowmem.config import ERROR_THRESHOLDS, NetworkConfig
from slowmem.evaluation import evaluate, is_correct, replay
from slowmem.network import RateNetworks


def test_is_correct_rule(task):
    types = torch.tensor([0, 1, 2, 3, 0, 3])
    means = torch.tensor([1.05, 0.45, 0.59, 1.5, 0.8, 1.2])
    assert is_correct(means, types, task).tolist() == [True, True, True, True, False, False]


def _untrained():
    """Two untrained networks (readouts zero): evaluation arithmetic is known exactly."""
    return RateNetworks.create(NetworkConfig(N=30), [0, 1])


def test_evaluate_shapes_and_untrained_network_fails(task):
    net = _untrained()
    ev = evaluate(net, task, net.x0, test_trials=8, n_seeds=2)
    B = 2
    assert ev.test_types.shape == (B, 8) and ev.test_response.shape == (B, 8)
    assert ev.trial_end_states.shape == (B, 4, 30)
    assert ev.replay_rmse.shape == (B, 4, 4, 2) and ev.error_rates.shape == (B, len(ERROR_THRESHOLDS))
    # an untrained network outputs 0: never correct, every replay an error
    assert (ev.test_accuracy == 0).all() and (ev.error_rates == 1).all() and not ev.success.any()
    # RMSE of a zero output equals the nominal value
    vals = task.response_values().numpy()
    assert np.allclose(ev.replay_rmse[0, 0, :, 0], vals)
    assert set(ev.summary().columns) >= {"seed", "test_accuracy", "replay_accuracy", "success"}


def test_trial_end_states_are_ends_of_last_trial_of_each_type(task):
    net = _untrained()
    net.wo.normal_(0, 0.05)
    ev = evaluate(net, task, net.x0, test_trials=8, n_seeds=1)
    # re-run the same test stream by hand and compare the end state of the last type-k trial
    from slowmem.evaluation import run_trials
    from slowmem.task import trial_rng
    rngs = [trial_rng(s, 1) for s in net.seeds]
    types = np.stack([task.schedule(8, r) for r in rngs])
    run = run_trials(net, task, net.x0, types, rngs)
    for b in range(2):
        for k in range(4):
            i = np.flatnonzero(types[b] == k)[-1]
            assert torch.equal(ev.trial_end_states[b, k], run["end_states"][b, i])


def test_replay_batches_starts(task):
    net = _untrained()
    starts = torch.randn(2, 3, 30, dtype=torch.float64)
    rep = replay(net, task, starts, n_seeds=2)
    assert rep["rmse"].shape == (2, 3, 4, 2)
