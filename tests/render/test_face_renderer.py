"""FaceRenderer: agreement with models.camera, depth order, texture mapping, goldens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.camera import project, transform
from models.topology import Topology, make_test_mesh
from render.face_renderer import FaceRenderer
from tests.render.helpers import bilinear_np, check_golden, make_texture, zbuffer_np

pytestmark = pytest.mark.gl

H_TILT = np.array([100.0, 0.15, -0.25, 0.1, 128.0, 126.0])


@pytest.fixture(scope="module")
def topo() -> Topology:
    return make_test_mesh()


@pytest.fixture()
def renderer(ctx, topo):
    r = FaceRenderer(topo, ctx)
    yield r
    r.release()


def _torch_transform(G: np.ndarray, H: np.ndarray) -> np.ndarray:
    return transform(torch.as_tensor(G, dtype=torch.float64), torch.as_tensor(H, dtype=torch.float64)).numpy()


def test_result_contract(renderer, topo):
    res = renderer.render(topo.vertices, [20, 0, 0, 0, 32, 32], make_texture(), (64, 48))
    assert res.rgb.shape == (48, 64, 3) and res.rgb.dtype == np.uint8
    assert res.depth.shape == (48, 64) and res.depth.dtype == np.float32
    assert res.tri_id.shape == (48, 64) and res.tri_id.dtype == np.int32
    assert res.bary.shape == (48, 64, 3) and res.bary.dtype == np.float32
    bg = ~res.mask
    assert bg.any() and res.mask.any()
    assert (res.tri_id[bg] == -1).all() and np.isposinf(res.depth[bg]).all() and (res.bary[bg] == 0).all()
    assert np.isfinite(res.depth[res.mask]).all()
    assert res.tri_id.max() < topo.n_faces
    np.testing.assert_allclose(res.bary[res.mask].sum(-1), 1.0, atol=1e-5)
    assert (res.bary[res.mask] >= -1e-5).all()


def test_rasterised_vertices_agree_with_camera_project(renderer, topo):
    """Fit each triangle's affine pixel <- barycentric map from its pixels: the fitted corner
    positions are where GL put the vertices; they must be within 0.5 px of project()."""
    res = renderer.render(topo.vertices, H_TILT, make_texture(), (256, 256))
    proj = project(torch.as_tensor(topo.vertices, dtype=torch.float64), torch.as_tensor(H_TILT)).numpy()
    rows, cols = np.nonzero(res.mask)
    tri = res.tri_id[rows, cols]
    order = np.argsort(tri, kind="stable")
    tri, rows, cols = tri[order], rows[order], cols[order]
    starts = np.flatnonzero(np.r_[True, tri[1:] != tri[:-1]])
    ends = np.r_[starts[1:], len(tri)]
    err = {}
    for s, e in zip(starts, ends):
        if e - s < 6:
            continue
        B = res.bary[rows[s:e], cols[s:e]].astype(np.float64)
        P = np.stack([cols[s:e], rows[s:e]], -1).astype(np.float64)
        Q, _, rank, _ = np.linalg.lstsq(B, P, rcond=None)
        if rank < 3:
            continue
        for k, v in enumerate(topo.faces[tri[s]]):
            err[v] = max(err.get(v, 0.0), float(np.linalg.norm(Q[k] - proj[v])))
    assert len(err) > 0.8 * topo.n_vertices, f"only {len(err)} vertices checked"
    worst = max(err.values())
    assert worst < 0.5, f"rasterised vertex up to {worst:.3f} px from models.camera.project"
    assert np.mean(list(err.values())) < 0.05


def test_bary_reprojects_to_pixel_centre(renderer, topo):
    res = renderer.render(topo.vertices, H_TILT, make_texture(), (256, 256))
    P = _torch_transform(topo.vertices, H_TILT)
    rows, cols = np.nonzero(res.mask)
    pick = np.random.default_rng(0).choice(len(rows), 2000, replace=False)
    r, c = rows[pick], cols[pick]
    corners = P[topo.faces[res.tri_id[r, c]]]  # (N, 3, 3)
    q = (res.bary[r, c, :, None] * corners).sum(1)  # (N, 3)
    d = np.linalg.norm(q[:, :2] - np.stack([c, r], -1), axis=1)
    assert d.max() < 0.5, f"interpolated position up to {d.max():.3f} px from its pixel"
    assert d.mean() < 0.02
    np.testing.assert_allclose(res.depth[r, c], q[:, 2], atol=1e-3 * np.abs(P[:, 2]).max() + 1e-3)


def test_depth_order_matches_cpu_zbuffer(renderer, topo):
    H = np.array([20.0, 0.1, 0.9, 0.0, 32.0, 32.0])  # strong yaw: the nose hides the cheek
    res = renderer.render(topo.vertices, H, make_texture(), (64, 64))
    tri_ref, z_ref = zbuffer_np(_torch_transform(topo.vertices, H), topo.faces, (64, 64))
    both = res.mask & (tri_ref >= 0)
    assert (res.mask == (tri_ref >= 0)).mean() > 0.99
    assert (res.tri_id[both] == tri_ref[both]).mean() > 0.97
    assert (np.abs(res.depth[both] - z_ref[both]) < 0.25).mean() > 0.995


def test_near_surface_wins_regardless_of_draw_order(ctx):
    pad = np.zeros((66, 3))
    pad[:, 2] = 5.0
    for near_first in (True, False):
        zs = (-1.0, 1.0) if near_first else (1.0, -1.0)
        verts = np.concatenate([[[-1, -1, zs[0]], [1, -1, zs[0]], [-1, 1, zs[0]]],
                                [[-1, -1, zs[1]], [1, -1, zs[1]], [1, 1, zs[1]]], pad])
        topo = Topology("two", verts, np.array([[0, 1, 2], [3, 4, 5]]), np.full((72, 2), 0.5),
                        np.arange(6, 74) % 72, np.zeros((0, 2)))
        r = FaceRenderer(topo, ctx)
        res = r.render(verts, [10, 0, 0, 0, 16, 16], make_texture(), (32, 32))
        near = 0 if near_first else 1
        overlap = (res.tri_id >= 0)
        assert (res.tri_id[overlap & (res.depth < 0)] == near).all()
        assert (res.depth[res.tri_id == near] == pytest.approx(-10.0))
        r.release()


def test_texture_lookup_is_bilinear_at_interpolated_uv(renderer, topo):
    tex = np.random.default_rng(1).integers(0, 256, (16, 16, 3)).astype(np.uint8)
    res = renderer.render(topo.vertices, [50, 0.1, 0.2, 0.0, 64, 64], tex, (128, 128))
    r, c = np.nonzero(res.mask)
    uv = (res.bary[r, c, :, None] * topo.uvs[topo.faces[res.tri_id[r, c]]]).sum(1)
    d = np.abs(res.rgb[r, c].astype(np.float64) - bilinear_np(tex, uv))
    assert d.max() <= 4 and d.mean() < 0.6, (d.max(), d.mean())


def test_texture_orientation_marked_corner(renderer, topo):
    tex = make_texture(32)  # white block at texel rows 0-3, columns 0-3 (uv near (0, 0))
    res = renderer.render(topo.vertices, [20, 0, 0, 0, 32, 32], tex, (64, 64))
    ys, xs = np.nonzero(res.mask)
    white = np.all(res.rgb > 240, -1) & res.mask
    wy, wx = np.nonzero(white)
    assert len(wx) >= 9
    assert wx.max() < xs.min() + 8 and wy.max() < ys.min() + 8  # top-left corner of the face
    # red grows with u (image right), green with v (image down)
    ys, xs = np.nonzero(res.mask & ~white)
    assert np.corrcoef(xs, res.rgb[ys, xs, 0])[0, 1] > 0.95
    assert np.corrcoef(ys, res.rgb[ys, xs, 1])[0, 1] > 0.95


def test_channel_first_float_texture_and_torch_inputs(renderer, topo):
    tex = make_texture(32)
    ref = renderer.render(topo.vertices, H_TILT, tex, (256, 256))
    t_chw = torch.as_tensor(tex).permute(2, 0, 1).float() / 255.0
    G = torch.as_tensor(topo.vertices).requires_grad_(True)
    res = renderer.render(G, torch.as_tensor(H_TILT), t_chw, (256, 256))
    assert np.abs(res.rgb.astype(int) - ref.rgb).max() <= 1
    np.testing.assert_array_equal(res.tri_id, ref.tri_id)


def test_background_and_rgb_only(renderer, topo):
    rng = np.random.default_rng(2)
    bg = rng.integers(0, 256, (40, 56, 3)).astype(np.uint8)
    H = [16, 0, 0.3, 0, 28, 20]
    res = renderer.render(topo.vertices, H, make_texture(), (56, 40), background=bg)
    np.testing.assert_array_equal(res.rgb[~res.mask], bg[~res.mask])
    assert (res.rgb[res.mask] != bg[res.mask]).any()
    fast = renderer.render_rgb_only(topo.vertices, H, None, (56, 40), background=bg)  # texture reused
    np.testing.assert_array_equal(fast, res.rgb)
    fbg = renderer.render_rgb_only(topo.vertices, H, None, (56, 40), background=bg / 255.0)
    assert np.abs(fbg.astype(int) - res.rgb).max() <= 1


def test_background_survives_an_overlay_renderer_on_the_same_context(ctx, renderer, topo):
    """Both renderers use the cached RGB-only background program with different texture units."""
    from render.overlay import OverlayRenderer

    bg = np.full((40, 56, 3), 200, np.uint8)
    H = [16, 0, 0.3, 0, 28, 20]
    before = renderer.render_rgb_only(topo.vertices, H, make_texture(), (56, 40), background=bg)
    overlay = OverlayRenderer(topo, ctx)
    try:
        img = overlay.render(np.zeros((40, 56, 3), np.uint8), wireframe=False)
        assert (img == 0).all()
        after = renderer.render_rgb_only(topo.vertices, H, None, (56, 40), background=bg)
        np.testing.assert_array_equal(after, before)
        assert (overlay.render(np.zeros((40, 56, 3), np.uint8), wireframe=False) == 0).all()
    finally:
        overlay.release()


def test_draw_to_screen_orientation(ctx, renderer, topo):
    fbo = ctx.simple_framebuffer((48, 64))
    renderer.draw_to(fbo, topo.vertices, [20, 0, 0, 0.2, 24, 32], make_texture(), flip_y=True)
    screen = np.frombuffer(fbo.read(components=3), np.uint8).reshape(64, 48, 3)
    ref = renderer.render_rgb_only(topo.vertices, [20, 0, 0, 0.2, 24, 32], None, (48, 64))
    # GL window rows go bottom-up; the two paths may round the last bit apart (NVIDIA: 1 level)
    assert np.abs(screen[::-1].astype(int) - ref).max() <= 1
    fbo.release()


def test_two_contexts_interleaved(renderer, topo):
    own = FaceRenderer(topo)  # creates and owns a second EGL context
    try:
        for H in ([20, 0, 0, 0, 32, 32], [18, 0.2, 0.1, 0, 30, 33]):
            a = own.render_rgb_only(topo.vertices, H, make_texture(), (64, 64))
            b = renderer.render_rgb_only(topo.vertices, H, make_texture(), (64, 64))
            np.testing.assert_array_equal(a, b)
    finally:
        own.release()


def test_input_validation(renderer, topo):
    with pytest.raises(ValueError, match="G must be"):
        renderer.render(topo.vertices[:-1], [20, 0, 0, 0, 32, 32], make_texture(), (64, 64))
    with pytest.raises(ValueError, match="H must be"):
        renderer.render(topo.vertices, [20, 0, 0, 0, 32], make_texture(), (64, 64))
    with pytest.raises(ValueError, match="background"):
        renderer.render(topo.vertices, [20, 0, 0, 0, 32, 32], make_texture(), (64, 64),
                        background=np.zeros((64, 63, 3), np.uint8))
    with pytest.raises(ValueError, match="texture"):
        renderer.render(topo.vertices, [20, 0, 0, 0, 32, 32], np.zeros((8, 8)), (64, 64))
    with pytest.raises(ValueError, match="size"):
        renderer.render(topo.vertices, [20, 0, 0, 0, 32, 32], make_texture(), (0, 64))
    fresh = FaceRenderer(topo, renderer.ctx)
    with pytest.raises(ValueError, match="no texture"):
        fresh.render_rgb_only(topo.vertices, [20, 0, 0, 0, 32, 32], None, (64, 64))
    fresh.release()


def test_golden_face(renderer, topo):
    i, j = np.mgrid[0:64, 0:64]
    bg = np.stack([j * 3, i * 3, np.full_like(i, 60)], -1).astype(np.uint8)
    res = renderer.render(topo.vertices, [20, 0.1, -0.2, 0.05, 32, 32], make_texture(32), (64, 64), bg)
    check_golden("face_64", res.rgb)
    depth = np.where(res.mask, res.depth, res.depth[res.mask].max())
    d8 = (255 * (depth - depth.min()) / np.ptp(depth)).astype(np.uint8)
    check_golden("face_depth_64", np.repeat(d8[..., None], 3, -1))
