import torch

from models.color import ColorCorrection


def test_identity_at_start():
    C = ColorCorrection()
    T = torch.rand(2, 3, 8, 8)
    assert torch.equal(C(T), T) or torch.allclose(C(T), T, atol=1e-7)
    assert torch.allclose(C.matrix, torch.eye(3))


def test_fits_known_white_balance_matrix():
    torch.manual_seed(0)
    M = torch.tensor([[1.2, 0.05, 0.0], [0.02, 0.9, 0.03], [0.0, 0.1, 0.7]])
    b = torch.tensor([0.02, -0.01, 0.05])
    T = torch.rand(4, 3, 16, 16)
    target = torch.einsum("ij,bjhw->bihw", M, T) + b[:, None, None]
    C = ColorCorrection()
    opt = torch.optim.Adam(C.parameters(), lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        loss = ((C(T) - target) ** 2).mean()
        loss.backward()
        opt.step()
    assert torch.allclose(C.matrix, M, atol=0.02)
    assert torch.allclose(C.conv.bias, b, atol=0.02)
