import numpy as np
import pytest
import torch

from slowmem.config import TaskConfig
from slowmem.stimuli import load_stimuli
from slowmem.task import TRIAL_TYPES, SPMTask, trial_rng


def test_stimuli_shipped_and_classes_separated():
    bank = load_stimuli("digits")
    assert bank.latents.shape[1] == 2 and len(bank.latents) == len(bank.labels) == 1797
    m0, m1 = bank.class_mean(0), bank.class_mean(1)
    spread = max(bank.class_latents(0).std(0).max(), bank.class_latents(1).std(0).max())
    assert (m0 - m1).norm() > 2 * spread   # digit 0 and 1 are distinct in latent space
    assert bank.decode(m0[None]).shape == (1, 8, 8)


def test_windows_and_masks(task):
    assert task.T == 350
    assert task.windows["stim1"] == slice(0, 100) and task.windows["response"] == slice(300, 350)
    assert task.response_mask.sum() == 50 and task.memory_mask.sum() == 100 and task.stimulus_mask.sum() == 200


def test_schedule_balanced_and_seeded(task):
    s = task.schedule(400, trial_rng(3))
    assert np.bincount(s, minlength=4).tolist() == [100] * 4
    assert (s == task.schedule(400, trial_rng(3))).all()
    assert not (s == task.schedule(400, trial_rng(4))).all()
    assert np.bincount(task.schedule(6, trial_rng(0)), minlength=4).max() <= 2


def test_trials_content(task):
    types = np.array([[0, 1, 2, 3]] * 2)
    tr = task.make_trials(types, [trial_rng(0), trial_rng(1)])
    assert tr.inputs.shape == (350, 2, 4, 2) and tr.memory_target.shape == (350, 2, 4, 2)
    assert tr.output_target.shape == (350, 2, 4, 1)
    # input only during stimuli, and every step a different image
    assert (tr.inputs[~task.stimulus_mask] == 0).all()
    stim1 = tr.inputs[task.windows["stim1"], 0, 0]
    assert len(torch.unique(stim1, dim=0)) > 50
    # first digit of type 2 = (1, 0) is digit class 1: its latents come from class 1's images
    bank = task.bank
    c1 = bank.class_latents(1)
    x = tr.inputs[task.windows["stim1"], 0, 2]
    assert all((c1 == v).all(1).any() for v in x)
    # memory targets: class means in the delays; output: encoding in the response
    assert torch.allclose(tr.memory_target[task.windows["delay1"], 0, 2], task.class_means[1].expand(50, 2))
    assert torch.allclose(tr.memory_target[task.windows["delay2"], 0, 2], task.class_means[0].expand(50, 2))
    enc = {(0, 0): 1.0, (0, 1): 0.5, (1, 0): 0.5, (1, 1): 1.5}
    for k, tt in enumerate(TRIAL_TYPES):
        assert (tr.output_target[task.response_mask, 0, k] == enc[tt]).all()
        assert (tr.output_target[~task.response_mask, 0, k] == 0).all()


def test_stimuli_per_network_independent_of_batch(task):
    a = task.make_trials(np.array([[3]]), [trial_rng(7)]).inputs[:, 0]
    b = task.make_trials(np.array([[1], [3]]), [trial_rng(0), trial_rng(7)]).inputs[:, 1]
    assert torch.equal(a, b)


def test_custom_timing_and_encoding():
    t = SPMTask(TaskConfig(timing={"delay1": 2.5}, encoding=(0.0, 1.0, 2.0)))
    assert t.T == 325
    tr = t.make_trials(np.array([2]), [trial_rng(0)])
    assert (tr.output_target[t.response_mask, 0, 0] == 1.0).all()


def test_bad_trial_types(task):
    with pytest.raises(ValueError, match="0..3"):
        task.make_trials(np.array([4]), [trial_rng(0)])
    with pytest.raises(ValueError, match="one random generator per network"):
        task.make_trials(np.array([0, 1]), [trial_rng(0)])


def test_block_of_trials_equals_trials_one_at_a_time(task):
    """Training builds several trials per call: each network's stimuli must be those of one trial at a time."""
    types = np.array([[0, 3, 1, 2, 2], [1, 1, 0, 3, 2]])
    block = task.make_trials(types, [trial_rng(3), trial_rng(8)])
    rngs = [trial_rng(3), trial_rng(8)]
    for k in range(types.shape[1]):
        one = task.make_trials(types[:, k], rngs)
        assert torch.equal(block.inputs[:, :, k], one.inputs)
        assert torch.equal(block.memory_target[:, :, k], one.memory_target)
        assert torch.equal(block.output_target[:, :, k], one.output_target)
