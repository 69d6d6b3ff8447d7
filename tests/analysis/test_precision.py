"""Per-network standard errors and the noise tolerance, on designed inputs with known answers."""
import numpy as np
import pytest

from slowmem.analysis.precision import condition_mean_se, noise_tolerance, noise_tolerance_se


def test_condition_se_is_the_spread_of_per_condition_means():
    failed = np.zeros((1, 3, 4), dtype=bool)
    failed[0, :, 0] = True                     # condition 0 fails at every delay, the others never
    failed[0, 0, 1] = True                     # condition 1 fails only at the delay left out
    mean, se = condition_mean_se(failed, np.array([False, True, True]))
    per = np.array([1.0, 0.0, 0.0, 0.0])
    assert mean[0] == pytest.approx(0.25)
    assert se[0] == pytest.approx(per.std(ddof=1) / 2)


def test_condition_se_nan_when_nothing_is_kept():
    mean, se = condition_mean_se(np.ones((2, 3, 5), bool), np.zeros(3, bool))
    assert np.isnan(mean).all() and np.isnan(se).all()


def test_tolerance_interpolates_in_log2_between_the_bracketing_levels():
    levels = np.array([0.0, 1.0, 2.0, 4.0, 8.0])
    ratio = np.array([[0.0, 0.1, 0.2, 0.3, 0.6],         # crosses 0.25 halfway from 2 to 4 -> 2 * sqrt(2)
                      [0.0, 0.3, 0.4, 0.5, 0.6],         # at the first disturbed level -> 1, an upper bound
                      [0.0, 0.0, 0.1, 0.1, 0.2]])        # never -> 8, a lower bound
    tol, cens = noise_tolerance(levels, ratio, 0.25)
    assert tol == pytest.approx([2 * np.sqrt(2), 1.0, 8.0])
    assert cens.tolist() == [0, -1, 1]


def test_tolerance_ignores_a_plateau_after_the_first_crossing():
    levels = np.array([0.5, 1.0, 2.0, 4.0])
    tol, _ = noise_tolerance(levels, np.array([0.0, 0.25, 0.1, 0.9]), 0.25)
    assert tol == pytest.approx(1.0)


def test_tolerance_refuses_unsorted_levels():
    with pytest.raises(ValueError, match="ascending"):
        noise_tolerance(np.array([1.0, 0.5]), np.zeros(2), 0.25)


def test_tolerance_se_is_zero_for_identical_conditions_and_grows_with_disagreement():
    levels = np.array([0.0, 1.0, 2.0, 4.0])
    same = np.zeros((1, 4, 40), bool)
    same[0, 2:] = True                         # every condition fails from level 2 on
    mixed = np.zeros((1, 4, 40), bool)
    rng = np.random.default_rng(1)
    mixed[0, 1:] = rng.random((3, 40)) < np.array([0.15, 0.3, 0.45])[:, None]
    assert noise_tolerance_se(levels, same, 0.25)[0] == pytest.approx(0.0, abs=1e-12)
    assert noise_tolerance_se(levels, mixed, 0.25)[0] > 0.05


def test_tolerance_se_does_not_depend_on_the_batch():
    rng = np.random.default_rng(2)
    failed = rng.random((3, 5, 30)) < 0.3
    levels = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    together = noise_tolerance_se(levels, failed, 0.25)
    alone = [noise_tolerance_se(levels, failed[b:b + 1], 0.25)[0] for b in range(3)]
    assert together.tolist() == alone
