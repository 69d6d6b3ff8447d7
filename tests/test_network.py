import math

import pytest
import torch

from slowmem.config import ConfigError, NetworkConfig
from slowmem.errors import ShapeError
from slowmem.network import RateNetworks


def test_statistics_match_paper():
    c = NetworkConfig(N=400, g=1.5, pg=0.3, fb=5.0, in_scale=50.0)
    net = RateNetworks.create(c, [0, 1])
    J = net.J[0]
    density = (J != 0).double().mean().item()
    assert abs(density - 0.3) < 0.01
    nz = J[J != 0]
    assert abs(nz.var().item() - 1 / (0.3 * 400)) < 0.1 / (0.3 * 400)
    assert abs(net.wf.std().item() - 1 / 5.0) < 0.02
    assert abs(net.wi.std().item() - 1 / 50.0) < 0.003
    assert abs(net.x0.std().item() - 0.1) < 0.01
    assert (net.wo == 0).all() and (net.wd == 0).all()
    assert torch.all(net.g == 1.5)
    assert not torch.equal(net.J[0], net.J[1])


def test_uniform_init_same_variance():
    net = RateNetworks.create(NetworkConfig(N=300, pg=1.0, init="uniform"), 0)
    J = net.J[0] * math.sqrt(300)
    assert abs(J.var().item() - 1.0) < 0.05 and J.abs().max() <= math.sqrt(3) + 1e-9


def test_same_seed_bit_identical_and_batch_independent():
    c = NetworkConfig(N=50)
    a = RateNetworks.create(c, [3, 4])
    b = RateNetworks.create(c, [4, 3, 9])
    assert torch.equal(a.J[0], b.J[1]) and torch.equal(a.wi[1], b.wi[0])
    assert a.fixed_weights_hash(0) == b.fixed_weights_hash(1)
    f32 = RateNetworks.create(c, [3], dtype="float32")
    assert torch.equal(f32.J[0], a.J[0].float())


def test_mixed_configs_in_one_batch():
    net = RateNetworks.create([NetworkConfig(N=40, g=0.8), NetworkConfig(N=40, g=1.4, fb=1.0)], [0, 0])
    assert net.g.tolist() == [0.8, 1.4]
    with pytest.raises(ShapeError, match="share N"):
        RateNetworks.create([NetworkConfig(N=40), NetworkConfig(N=41)], [0, 1])


def test_simulate_matches_explicit_euler():
    net = RateNetworks.create(NetworkConfig(N=30, g=1.3), [0, 1])
    net.wo.normal_(0, 0.1)
    net.wd.normal_(0, 0.1)
    x0 = torch.randn(2, 3, 30, dtype=torch.float64)
    u = torch.randn(20, 2, 3, 2, dtype=torch.float64)
    sim = net.simulate(x0, u, dt=0.1)
    x = x0.clone()
    for t in range(20):
        r = torch.tanh(x)
        z = torch.einsum("bkn,bnm->bkm", r, net.wo)
        zd = torch.einsum("bkn,bnm->bkm", r, net.wd)
        assert torch.allclose(sim.outputs[t], torch.cat([z, zd], -1))
        dx = -x + torch.einsum("bij,bkj->bki", net.g[:, None, None] * net.J, r) \
            + torch.einsum("bnm,bkm->bkn", net.wf, z) + torch.einsum("bnm,bkm->bkn", net.wfd, zd) \
            + torch.einsum("bnm,bkm->bkn", net.wi, u[t])
        x = x + 0.1 * dx
    assert torch.allclose(sim.final_state, x, atol=1e-12)
    F = net.vector_field(x0)
    assert torch.allclose(net.simulate(x0, steps=1, dt=1e-3).final_state, x0 + 1e-3 * F, atol=1e-12)


def test_input_mask_silences_input():
    net = RateNetworks.create(NetworkConfig(N=20), 0)
    x0 = torch.zeros(1, 1, 20, dtype=torch.float64)
    u = torch.ones(5, 1, 1, 2, dtype=torch.float64)
    zero = net.simulate(x0, u, input_mask=torch.zeros(1, 1, 20, dtype=torch.float64))
    assert torch.equal(zero.final_state, net.simulate(x0, steps=5).final_state)


def test_fast_integrator_and_kept_outputs():
    """The analyses' integrator (fused leak + product, NumPy's tanh) is the same Euler step up to rounding;
    ``outputs`` keeps only the steps asked for, with the same values; zero-input steps skip the input."""
    c = NetworkConfig(N=60, g=1.3, fb=5.0)
    net = RateNetworks.create(c, [0, 1])
    net.wo = 0.1 * torch.randn(2, 60, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    x0 = torch.randn(2, 5, 60, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    u = torch.zeros(40, 2, 5, 2, dtype=torch.float64)
    u[:10] = 1.0
    ref = net.simulate(x0, u, record_every=4)
    fast = net.simulate(x0, u, record_every=4, fast=True)
    assert torch.allclose(fast.final_state, ref.final_state, atol=1e-12) and not torch.equal(fast.outputs, ref.outputs)
    assert torch.allclose(fast.outputs, ref.outputs, atol=1e-12) and torch.allclose(fast.states, ref.states, atol=1e-12)
    part = net.simulate(x0, u, outputs=(30, 40), fast=True)
    assert part.outputs.shape == (10, 2, 5, 3) and torch.equal(part.outputs, fast.outputs[30:])
    assert torch.equal(part.final_state, fast.final_state)
    assert net.simulate(x0, u, outputs=False).outputs.shape == (0, 2, 5, 3)
    # float32 through the fast path stays within float32 rounding of the float64 run
    f32 = net.as_dtype("float32").simulate(x0.float(), u.float(), fast=True)
    assert f32.final_state.dtype == torch.float32
    assert torch.allclose(f32.final_state.double(), ref.final_state, atol=1e-4)
    assert net.as_dtype("float64") is net
    with pytest.raises(ConfigError, match="outputs must be"):
        net.simulate(x0, u, outputs=(5, 50))
