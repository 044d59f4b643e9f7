"""UV shading pass: reference agreement, lighting/view behaviour, shadows, golden."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.camera import view_direction
from models.topology import Topology, make_test_mesh
from render.reference import vertex_normals_np, weld_ids
from render.uv_shading import Light, Lighting, UVShader, shade_texels_np
from tests.render.helpers import check_golden, make_texture

pytestmark = pytest.mark.gl

T = 64
FRONT = (0.0, 0.0, -1.0)
GREY = np.full((T, T, 3), 0.6, np.float32)


@pytest.fixture(scope="module")
def topo():
    return make_test_mesh()


@pytest.fixture()
def shader(ctx, topo):
    s = UVShader(topo, ctx, shadow_map_size=512)
    yield s
    s.release()


def _normals_at_texels(topo: Topology) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals at texel centres (reference), mask. -> (T, T, 3), (T, T)."""
    white = Lighting((), ambient=(0, 0, 0), specular_strength=0.0)
    n = np.zeros((T, T, 3))
    mask = None
    for k in range(3):  # ambient-free lights along the axes recover max(n_k, 0)
        for sign in (1, -1):
            d = np.zeros(3)
            d[k] = sign
            li = Lighting((Light(tuple(d)),), ambient=(0, 0, 0), specular_strength=0.0)
            out, mask = shade_texels_np(topo, topo.vertices, np.ones((T, T, 3)), FRONT, li)
            n[..., k] += sign * out[..., 0]
    assert white.lights == ()
    return n, mask


@pytest.mark.parametrize("shadows", [False, True])
def test_matches_numpy_reference(shader, topo, shadows):
    light = Lighting((Light((0.3, -0.4, -1.0), (1.0, 0.9, 0.8), 0.8), Light((-1, 0, -0.2), (0.2, 0.3, 1.0), 0.5)),
                     ambient=(0.1, 0.1, 0.15), specular_strength=0.4, shininess=16, shadows=shadows)
    alb = make_texture(T)
    out, mask = shader.shade_with_mask(topo.vertices, alb, (0.2, 0.0, -0.98), light)
    ref, rmask = shade_texels_np(topo, topo.vertices, alb, (0.2, 0.0, -0.98), light)
    assert out.shape == (T, T, 3) and out.dtype == np.float32
    assert (mask == rmask).mean() > 0.995
    d = np.abs(out - ref)[mask & rmask].max(-1)
    if shadows:  # the nose shadows a few texels; everything else must stay the same
        assert (d < 1e-3).mean() > 0.9
    else:
        assert d.max() < 1e-3


def test_frontal_light_brighter_where_normals_face_it(shader, topo):
    out, mask = shader.shade_with_mask(topo.vertices, GREY, FRONT,
                                       Lighting((Light(FRONT),), ambient=(0.05,) * 3, specular_strength=0.0))
    n, _ = _normals_at_texels(topo)
    facing = -n[..., 2]  # n . (0, 0, -1)
    lum = out.mean(-1)
    assert lum[mask & (facing > 0.95)].mean() > lum[mask & (facing < 0.6)].mean() + 0.2
    assert np.corrcoef(facing[mask], lum[mask])[0, 1] > 0.99


def test_specular_follows_view_direction(shader, topo):
    spec_only = Lighting((Light(FRONT),), ambient=(0, 0, 0), specular_strength=1.0, shininess=40, shadows=False)
    black = np.zeros((T, T, 3), np.float32)
    Hs = [torch.tensor([1.0, 0.0, ry, 0.0, 0.0, 0.0]) for ry in (0.0, 0.6)]
    a, b = (shader.shade(topo.vertices, black, view_direction(H), spec_only).mean(-1) for H in Hs)
    assert np.abs(a - b).max() > 0.2
    u = (np.arange(T) + 0.5) / T
    ua, ub = (float((s.sum(0) * u).sum() / s.sum()) for s in (a, b))
    vd = view_direction(Hs[1]).numpy()  # the highlight moves towards the side the camera went
    assert np.sign(ub - ua) == np.sign(vd[0]) and abs(ub - ua) > 0.05


def test_shadow_from_side_light_and_no_acne_from_front(shader, topo):
    side = Light((1.0, 0.0, -0.3))
    on = shader.shade(topo.vertices, GREY, FRONT, Lighting((side,), ambient=(0.1,) * 3))
    off = shader.shade(topo.vertices, GREY, FRONT, Lighting((side,), ambient=(0.1,) * 3, shadows=False))
    dark = (off - on).mean(-1) > 0.1
    assert dark.sum() > 20
    cols = np.nonzero(dark)[1]
    assert np.median(cols) < T / 2  # the nose (u = .5) shadows the side away from the light (+x)
    front_on = shader.shade(topo.vertices, GREY, FRONT, Lighting((Light(FRONT),)))
    front_off = shader.shade(topo.vertices, GREY, FRONT, Lighting((Light(FRONT),), shadows=False))
    assert (np.abs(front_on - front_off).max(-1) < 0.02).mean() > 0.99


def test_padding_outside_the_atlas(ctx):
    m = make_test_mesh(21)
    small = Topology("inset", m.vertices, m.faces, m.uvs * 0.5 + 0.25, m.landmark_ids, m.salient_uv)
    s = UVShader(small, ctx, shadow_map_size=256, pad=2)
    out, mask = s.shade_with_mask(small.vertices, GREY, FRONT, Lighting((Light(FRONT),)))
    rows = np.nonzero(mask.any(1))[0]
    lo, hi = rows.min(), rows.max()
    assert out[lo - 2, T // 2].max() > 0 and out[lo - 3, T // 2].max() == 0
    assert out[hi + 2, T // 2].max() > 0 and out[hi + 3, T // 2].max() == 0
    assert (out[~mask].max(-1) > 0).sum() > 0
    s.release()


def test_torch_inputs_and_sizes(shader, topo):
    light = Lighting((Light(FRONT),))
    ref = shader.shade(topo.vertices, GREY, FRONT, light)
    t = shader.shade(torch.as_tensor(topo.vertices), torch.as_tensor(GREY).permute(2, 0, 1),
                     torch.tensor(FRONT), light)
    np.testing.assert_allclose(t, ref, atol=1e-6)
    assert shader.shade(topo.vertices, GREY, FRONT, light, size=128).shape == (128, 128, 3)


def test_seam_duplicates_share_normals():
    m = make_test_mesh(11)
    n = 11
    col = np.arange(n) * n + n // 2  # middle column of the grid
    dup = np.arange(len(m.vertices), len(m.vertices) + n)
    G = np.concatenate([m.vertices, m.vertices[col]])
    right = m.vertices[m.faces][:, :, 0].mean(1) > m.vertices[col[0], 0]
    faces = m.faces.copy()
    remap = dict(zip(col.tolist(), dup.tolist()))
    faces[right] = np.vectorize(lambda v: remap.get(v, v))(faces[right])
    ref = vertex_normals_np(m.vertices, m.faces)
    split = vertex_normals_np(G, faces)
    welded = vertex_normals_np(G, faces, weld_ids(G))
    assert np.abs(split[col] - ref[col]).max() > 1e-3  # one-sided without welding
    np.testing.assert_allclose(welded[col], ref[col], atol=1e-6)
    np.testing.assert_allclose(welded[dup], ref[col], atol=1e-6)


def test_lighting_validation():
    with pytest.raises(ValueError, match="zero"):
        Light((0, 0, 0))
    with pytest.raises(ValueError, match="at most"):
        Lighting(tuple(Light(FRONT) for _ in range(5)))
    with pytest.raises(ValueError, match="shininess"):
        Lighting((), shininess=0)
    li = Light([0, 0, -2], color=np.array([1, 0.5, 0]), intensity=2)
    assert li.direction == (0.0, 0.0, -2.0) and li.color == (1.0, 0.5, 0.0)
    np.testing.assert_allclose(li.unit_direction(), [0, 0, -1])
    hash(li)


def test_golden_uv_shading(shader, topo):
    light = Lighting((Light((0.8, -0.5, -0.6), (1.0, 0.85, 0.7), 0.9), Light((-0.5, 0.2, -1), (0.3, 0.4, 0.8), 0.4)),
                     ambient=(0.12, 0.1, 0.1), specular_strength=0.35, shininess=24)
    out = shader.shade(topo.vertices, make_texture(T), (0.1, 0.0, -0.99), light)
    check_golden("uv_shading_64", (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8))
