"""Overlay pass: items land where models.camera.project puts them; golden image."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.camera import project
from models.topology import make_test_mesh
from render.face_renderer import FaceRenderer
from render.overlay import OverlayRenderer, OverlayStyle
from tests.render.helpers import check_golden, make_texture

pytestmark = pytest.mark.gl

H = np.array([40.0, 0.1, 0.3, 0.05, 64.0, 62.0])


@pytest.fixture(scope="module")
def topo():
    return make_test_mesh(21)


@pytest.fixture()
def overlay(ctx, topo):
    o = OverlayRenderer(topo, ctx)
    yield o
    o.release()


def test_landmarks_at_projected_positions(overlay, topo):
    black = np.zeros((128, 128, 3), np.uint8)
    out = overlay.render(black, topo.vertices, H, wireframe=False, salient=False)
    p = project(torch.as_tensor(topo.vertices[topo.landmark_ids], dtype=torch.float64),
                torch.as_tensor(H)).numpy()
    c = np.rint(p).astype(int)
    inside = (c >= 0).all(1) & (c < 128).all(1)
    hit = out[c[inside, 1], c[inside, 0]]
    np.testing.assert_array_equal(hit, np.tile(overlay.style.landmark_color, (inside.sum(), 1)))
    assert ((out.max(-1) > 0).sum()) < 68 * 16  # small anti-aliased dots, nothing else


def test_detected_landmarks_box_and_salient(overlay, topo):
    black = np.zeros((96, 96, 3), np.uint8)
    pts = np.array([[10.0, 10.0], [80.0, 20.0]])
    out = overlay.render(black, landmarks_2d=pts, box=(5, 40, 50))
    s = overlay.style
    for x, y in pts.astype(int):
        assert tuple(out[y, x]) == s.detected_color
    assert tuple(out[40, 30]) == s.box_color and tuple(out[90, 30]) == s.box_color  # top, bottom
    assert tuple(out[60, 5]) == s.box_color and tuple(out[60, 55]) == s.box_color  # left, right
    assert out[60, 30].max() == 0  # inside the box
    moles = overlay.render(black, topo.vertices, H, wireframe=False, landmarks=False)
    q = project(torch.as_tensor(topo.salient_points(topo.vertices), dtype=torch.float64),
                torch.as_tensor(H)).numpy()
    for x, y in np.rint(q).astype(int):
        assert tuple(moles[y, x]) == s.salient_color


def test_wireframe_follows_visible_triangle_edges(ctx, overlay, topo):
    """Wire pixels lie on edges of the triangles the face renderer shows (hidden lines removed)."""
    Hy = np.array([40.0, 0.0, 0.9, 0.0, 64.0, 64.0])  # strong yaw: the nose hides part of the cheek
    black = np.zeros((128, 128, 3), np.uint8)
    kw = dict(landmarks=False, salient=False)
    hidden = overlay.render(black, topo.vertices, Hy, **kw).max(-1)
    allw = overlay.render(black, topo.vertices, Hy, hidden_lines=False, **kw).max(-1)
    face = FaceRenderer(topo, ctx)
    res = face.render(topo.vertices, Hy, make_texture(), (128, 128))
    face.release()
    strong = hidden > 0.6 * 255 * overlay.style.wire_alpha
    assert strong.sum() > 500
    assert not (strong & ~res.mask).any()
    # near an edge of the visible triangle: the smallest barycentric is small there
    assert np.quantile(res.bary[strong].min(-1), 0.95) < 0.3
    assert (allw > hidden + 20).sum() > 20  # edges behind the nose appear without hiding
    assert (hidden > allw).sum() == 0


def test_image_is_untouched_without_items(overlay):
    img = np.random.default_rng(0).integers(0, 256, (30, 50, 3)).astype(np.uint8)
    np.testing.assert_array_equal(overlay.render(img), img)
    with pytest.raises(ValueError, match="uint8"):
        overlay.render(img.astype(np.float32))


def test_golden_overlay(ctx, topo):
    style = OverlayStyle(wire_alpha=0.5)
    face = FaceRenderer(topo, ctx)
    ov = OverlayRenderer(topo, ctx, style)
    Hs = np.array([20.0, 0.1, -0.2, 0.05, 32.0, 32.0])
    img = face.render_rgb_only(topo.vertices, Hs, make_texture(32) // 2, (64, 64))
    out = ov.render(img, topo.vertices, Hs, landmarks_2d=np.array([[8.0, 8.0], [56.0, 8.0]]), box=(6, 6, 52))
    check_golden("overlay_64", out)
    face.release()
    ov.release()
