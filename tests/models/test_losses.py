import math

import pytest
import torch

from models.camera import project
from models.losses import DAWeights, cftc_loss, da_loss, flrc_loss, kl_loss, motc_loss, pose_loss, view_loss, z_loss


def test_cftc_known_answers():
    T = torch.rand(2, 3, 8, 8)
    W = torch.ones(2, 8, 8)
    assert float(cftc_loss(T, T, W, W)) == 0.0
    assert abs(float(cftc_loss(T, T + 1.0, W, W)) - 3.0) < 1e-5


def test_cftc_threshold_zeroes_texels_and_changes_divisor():
    T0 = torch.zeros(1, 3, 4, 4)
    T1 = torch.ones(1, 3, 4, 4)
    W = torch.ones(1, 4, 4)
    W[0, :2] = 0.2  # half the texels have low confidence
    # no threshold: num = 3 * (8 * 0.04^... ) -> (0.2*0.2)^2*3*8 + 1*3*8, divisor 16
    l0 = float(cftc_loss(T0, T1, W, W))
    expect0 = (3 * 8 * 0.04**2 + 3 * 8) / 16
    assert abs(l0 - expect0) < 1e-6
    # threshold 0.5 removes them from numerator and divisor: 3 * 8 / 8 = 3
    l1 = float(cftc_loss(T0, T1, W, W, threshold=0.5))
    assert abs(l1 - 3.0) < 1e-6


def test_motc_literal_eq8():
    T_obs = torch.zeros(1, 3, 4, 4)
    T_cor = torch.full((1, 3, 4, 4), 0.5)
    W = torch.zeros(1, 4, 4)
    W[0, 0, 0] = 0.5
    W[0, 1, 1] = 1.0
    # ||W (T~ - C(T))||^2 = 3 * (0.25^2 + 0.5^2), nnz = 2
    expect = 3 * (0.25**2 + 0.5**2) / 2
    assert abs(float(motc_loss(T_obs, T_cor, W)) - expect) < 1e-6
    assert float(motc_loss(T_obs, T_cor, torch.zeros(1, 4, 4))) == 0.0


def test_flrc_zero_at_truth_and_valid_mask():
    K3 = torch.randn(2, 68, 3)
    H = torch.tensor([[30.0, 0.1, 0.2, 0.0, 64.0, 60.0]] * 2)
    K2 = project(K3, H)
    assert float(flrc_loss(K2, K3, H)) < 1e-8
    K2b = K2.clone()
    K2b[1] += 2.0  # second frame off by (2, 2) -> 8 px^2
    assert abs(float(flrc_loss(K2b, K3, H)) - 4.0) < 1e-4
    assert abs(float(flrc_loss(K2b, K3, H, valid=torch.tensor([False, True]))) - 8.0) < 1e-4


def test_supervised_losses():
    z = torch.zeros(3, 4)
    assert float(z_loss(z + 1, z)) == 4.0
    assert float(view_loss(z, z + 2)) == 16.0
    K3 = torch.randn(1, 5, 3)
    H = torch.tensor([[10.0, 0, 0, 0, 1, 2]])
    assert float(pose_loss(H, K3, project(K3, H) + torch.tensor([3.0, 4.0]))) == pytest.approx(25.0, rel=1e-5)


def test_da_loss_paper_weights():
    w = DAWeights()
    assert (w.cftc, w.motc, w.flrc) == (100.0, 100.0, 1.0)
    assert float(da_loss(torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0))) == 303.0


def test_kl_zero_for_standard_normal():
    assert float(kl_loss(torch.zeros(2, 5), torch.zeros(2, 5))) == 0.0
    assert float(kl_loss(torch.ones(2, 5), torch.zeros(2, 5))) > 0


def test_losses_gradcheck():
    d = dict(dtype=torch.float64)
    T0 = torch.rand(1, 3, 3, 3, **d, requires_grad=True)
    T1 = torch.rand(1, 3, 3, 3, **d, requires_grad=True)
    W0 = torch.rand(1, 3, 3, **d) + 0.1
    W1 = torch.rand(1, 3, 3, **d) + 0.1
    assert torch.autograd.gradcheck(lambda a, b: cftc_loss(a, b, W0, W1, 0.05), (T0, T1))
    assert torch.autograd.gradcheck(lambda a, b: motc_loss(a, b, W0, 0.05), (T0, T1))
    K2 = torch.rand(1, 5, 2, **d, requires_grad=True)
    K3 = torch.rand(1, 5, 3, **d, requires_grad=True)
    H = torch.tensor([[3.0, 0.1, 0.2, 0.3, 1.0, 1.0]], **d, requires_grad=True)
    assert torch.autograd.gradcheck(flrc_loss, (K2, K3, H))
    assert torch.autograd.gradcheck(pose_loss, (H, K3, K2))
    z0 = torch.rand(2, 4, **d, requires_grad=True)
    z1 = torch.rand(2, 4, **d, requires_grad=True)
    assert torch.autograd.gradcheck(z_loss, (z0, z1))
    assert torch.autograd.gradcheck(view_loss, (z0, z1))


def test_temporal_loss_zero_for_steady_motion_robust_for_large_steps():
    from models.losses import temporal_loss

    t = torch.arange(5.0)[None, :, None, None]  # (1, 5, 1, 1)
    G = torch.ones(1, 5, 4, 3) * 0.5 + 0.1 * t  # steady drift
    assert float(temporal_loss(G)) == pytest.approx(0.0, abs=1e-6)

    def jump(size: float) -> torch.Tensor:  # frame 2 jumps by `size` in x: accelerations size, 2 size, size
        J = G.clone()
        J[:, 2, :, 0] += size
        return J

    eps = 0.3
    charb = lambda a: 2 * eps * (math.sqrt(a * a + eps * eps) - eps)
    for size in (0.01, 2.0):
        want = (charb(size) + charb(2 * size) + charb(size)) / 3
        assert float(temporal_loss(jump(size), eps)) == pytest.approx(want, rel=1e-4)
    small, large = 0.01, 2.0
    assert float(temporal_loss(jump(small))) == pytest.approx(6 * small**2 / 3, rel=1e-2)  # ~ squared
    assert float(temporal_loss(jump(large))) < 0.5 * 6 * large**2 / 3  # far below squared: robust
    with pytest.raises(ValueError):
        temporal_loss(G[:, :2])
