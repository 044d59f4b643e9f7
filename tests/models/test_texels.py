import math

import numpy as np
import torch

from models.camera import project
from models.texels import TexelMap, confidence, observed_texture, texel_positions, vertex_normals
from models.topology import Topology, make_test_mesh


def _plane(n, x0, x1, y0, y1, z, u0, u1):
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys)
    V = np.stack([X, Y, np.full_like(X, z)], -1).reshape(-1, 3)
    uv = np.stack([u0 + (u1 - u0) * (X - x0) / (x1 - x0), (Y - y0) / (y1 - y0)], -1).reshape(-1, 2)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    F = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return V, F, uv


def two_planes():
    """A small near plane (z=-1) in front of a large far plane (z=0); UV halves side by side."""
    Vf, Ff, uvf = _plane(9, -0.3, 0.3, -0.3, 0.3, -1.0, 0.0, 0.49)
    Vb, Fb, uvb = _plane(9, -1.0, 1.0, -1.0, 1.0, 0.0, 0.51, 1.0)
    V = np.concatenate([Vf, Vb])
    F = np.concatenate([Ff, Fb + len(Vf)])
    uv = np.concatenate([uvf, uvb])
    return Topology("planes", V, F, uv, np.arange(68), np.zeros((0, 2)))


def test_texel_positions_interpolate_vertices(test_topology):
    tm = TexelMap(test_topology, 32)
    G = torch.from_numpy(test_topology.vertices)[None]
    X = texel_positions(G, tm)
    # planar UVs: x, y of each texel are linear in its uv
    i, j = np.divmod(tm.index.numpy(), 32)
    u, v = (j + 0.5) / 32, (i + 0.5) / 32
    assert np.allclose(X[0, :, 0].numpy(), -1.1 + 2.2 * u, atol=1e-5)
    assert np.allclose(X[0, :, 1].numpy(), -1.1 + 2.3 * v, atol=1e-5)


def test_sparse_interpolation_matches_corner_gather_and_its_gradient(test_topology):
    """TexelMap.interpolate (one sparse matrix product) equals sum_k bary_k * G[tri_k]."""
    tm = TexelMap(test_topology, 16)
    G = torch.randn(2, test_topology.vertices.shape[0], 3, dtype=torch.float64, requires_grad=True)
    ref = (G[:, tm.tri] * tm.bary[None, :, :, None].to(G)).sum(2)
    out = tm.interpolate(G)
    assert out.shape == ref.shape == (2, tm.index.numel(), 3)
    assert torch.allclose(out, ref)
    w = torch.randn_like(ref)
    (g_out,) = torch.autograd.grad((out * w).sum(), G)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), G)
    assert torch.allclose(g_out, g_ref)


def test_observed_texture_samples_the_right_pixels(test_topology):
    S = 64
    tm = TexelMap(test_topology, 32)
    G = torch.from_numpy(test_topology.vertices)[None]
    H = torch.tensor([[20.0, 0.1, -0.2, 0.05, 31.0, 33.0]])
    yy, xx = torch.meshgrid(torch.arange(S, dtype=torch.float32), torch.arange(S, dtype=torch.float32), indexing="ij")
    image = torch.stack([xx / S, yy / S, torch.zeros_like(xx)])[None]  # colour encodes pixel position
    T_obs, inside = observed_texture(image, G, H, tm)
    p = project(texel_positions(G, tm), H)[0]  # (N, 2)
    got = T_obs[0, :2].flatten(1)[:, tm.index].T * S  # (N, 2)
    ok = inside.flatten()[tm.index]
    assert ok.float().mean() > 0.9
    assert torch.allclose(got[ok], p[ok], atol=1e-3)


def test_confidence_is_cosine_of_incidence():
    topo = two_planes()
    tm = TexelMap(topo, 32)
    G = torch.from_numpy(topo.vertices)[None]
    H = torch.tensor([[10.0, 0.0, math.radians(60), 0.0, 32.0, 32.0]])
    W = confidence(G, H, tm, occlusion=False)
    vals = W[tm.mask[None]]
    assert torch.allclose(vals, torch.full_like(vals, 0.5), atol=1e-5)
    # threshold above 0.5 zeroes everything
    assert float(confidence(G, H, tm, threshold=0.6, occlusion=False).sum()) == 0.0


def test_visibility_hides_texels_behind_nearer_geometry():
    topo = two_planes()
    T = 64
    tm = TexelMap(topo, T)
    G = torch.from_numpy(topo.vertices)[None]
    H = torch.tensor([[30.0, 0.0, 0.0, 0.0, 32.0, 32.0]])
    W = confidence(G, H, tm, occlusion=True)[0]
    X = texel_positions(G, tm)[0]
    Wv = W.flatten()[tm.index]
    front = X[:, 2] < -0.5
    behind = (~front) & (X[:, 0].abs() < 0.25) & (X[:, 1].abs() < 0.25)
    clear = (~front) & ((X[:, 0].abs() > 0.4) | (X[:, 1].abs() > 0.4))
    assert bool((Wv[front] > 0.99).all())
    assert bool((Wv[behind] == 0).all())
    assert bool((Wv[clear] > 0.99).all())
    # without the occlusion test the hidden texels would count
    W_no = confidence(G, H, tm, occlusion=False)[0].flatten()[tm.index]
    assert bool((W_no[behind] > 0.99).all())


def test_normals_face_the_camera(test_topology):
    G = torch.from_numpy(test_topology.vertices)[None]
    n = vertex_normals(G, torch.from_numpy(test_topology.faces))
    centre = np.argmin((test_topology.vertices[:, :2] ** 2).sum(1))
    assert n[0, centre, 2] < -0.9


def test_observed_texture_gradcheck():
    topo = make_test_mesh(n=9)
    tm = TexelMap(topo, 6)
    tm.bary = tm.bary.double()
    G = torch.from_numpy(topo.vertices).double()[None].requires_grad_(True)
    H = torch.tensor([[5.0, 0.1, 0.1, 0.0, 7.3, 7.6]], dtype=torch.float64, requires_grad=True)
    img = torch.rand(1, 3, 16, 16, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda i, g, h: observed_texture(i, g, h, tm)[0], (img, G, H), atol=1e-5)
