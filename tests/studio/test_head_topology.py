"""The template head asset: counts, UV atlas, landmarks, moles, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.camera import project
from models.topology import ASSET_DIR, canonical_landmarks_2d, load_topology

H = torch.tensor([100.0, 0.0, 0.0, 0.0, 128.0, 128.0])


def _px(G: np.ndarray) -> np.ndarray:
    return project(torch.as_tensor(np.asarray(G, np.float32)), H).numpy()


def test_asset_loads_with_sane_counts(head):
    topo = load_topology("head_v1")
    assert topo.name == "head_v1"
    assert 5000 <= topo.n_vertices <= 8000
    assert topo.faces.min() >= 0 and topo.faces.max() < topo.n_vertices
    assert len(np.unique(topo.faces)) == topo.n_vertices  # every vertex is used
    assert (ASSET_DIR / "head_v1.npz").stat().st_size < 3_000_000
    names = [str(n) for n in topo.extras["blendshape_names"]]
    assert topo.extras["blendshapes"].shape == (len(names), topo.n_vertices, 3) and len(names) >= 12
    for n in ("jaw_open", "smile_L", "smile_R", "pucker", "funnel", "brow_raise", "brow_frown", "blink_L",
              "blink_R", "cheek_puff", "sneer", "lip_press"):
        assert n in names
    K = topo.extras["identity_basis"]
    assert K.shape[1:] == (topo.n_vertices, 3) and 6 <= K.shape[0] <= 12
    assert np.isfinite(topo.vertices).all() and np.isfinite(topo.extras["blendshapes"]).all()


def test_uv_atlas_is_one_chart_without_overlaps(head):
    tri = head.uvs[head.faces].astype(np.float64)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    signed = 0.5 * (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    assert (signed < 0).all() or (signed > 0).all(), "flipped triangles in the UV atlas"
    assert head.uvs.min() >= 0.0 and head.uvs.max() <= 1.0
    # every texel is covered, and the areas add up to exactly the covered square: no overlap
    face, _ = head.texel_map(256)
    assert (face >= 0).all()
    assert abs(np.abs(signed).sum() - 1.0) < 1e-5
    # per-triangle texel counts follow the areas (a doubly claimed texel would steal from one)
    counts = np.bincount(face.ravel(), minlength=head.n_faces)
    big = np.abs(signed) * 256**2 > 30
    ratio = counts[big] / (np.abs(signed[big]) * 256**2)
    assert 0.6 < np.median(ratio) < 1.4 and ratio.min() > 0.3


def test_faces_point_out_of_the_head(head):
    tri = head.vertices[head.faces].astype(np.float64)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = np.linalg.norm(n, axis=1)
    region = head.extras["region"][head.faces]
    skin = (region == 0).all(1) & (area > 1e-8)
    out = ((tri.mean(1) - [0.0, -0.3, 0.3]) * n).sum(1) > 0
    assert out[skin].mean() > 0.995
    front = skin & (tri[:, :, 2].mean(1) < -0.7)
    assert (n[front, 2] < 0).mean() > 0.97  # the face looks towards -z


def test_landmarks_unique_and_anatomical(head):
    lm = head.landmark_ids
    assert len(set(lm.tolist())) == 68
    p = _px(head.vertices[lm])
    x, y = p[:, 0], p[:, 1]
    assert x[36:42].mean() < x[42:48].mean()  # image-left eye is 36-41
    assert x[0] < x[8] < x[16] and x[17] < x[26] and x[48] < x[54] and x[31] < x[35]
    assert y[48:68].mean() > y[33] > y[30] > y[27]  # mouth below the nose, tip below the bridge
    assert y[17:27].max() < y[36:48].min()  # brows above the eyes
    assert y[36:48].max() < y[30]  # eyes above the nose tip
    assert y[8] == y.max()  # chin lowest
    assert head.vertices[lm[30], 2] < head.vertices[lm[[36, 45, 48, 54]], 2].min() - 0.2  # the nose sticks out
    # close to the canonical layout (inner lips are closed at rest)
    can = canonical_landmarks_2d()
    err = np.linalg.norm(head.vertices[lm, :2] - can, axis=1)
    assert err[:60].max() < 0.03
    np.testing.assert_allclose(head.vertices[lm[61:64]], head.vertices[lm[[67, 66, 65]]], atol=1e-5)


def test_moles_are_on_frontal_skin_far_from_landmarks(head):
    from studio.head import Person

    assert len(head.salient_uv) >= 5
    fid, _ = head.locate_uv(head.salient_uv)
    assert (head.extras["region"][head.faces[fid]] == 0).all()
    for person in [None] + [Person(s) for s in range(4)]:
        G = head.vertices if person is None else person.neutral
        pts = head.salient_points(G) if person is None else person.salient_points(G)
        assert (pts[:, 2] < -0.5).all()  # on the front of the head
        d = np.linalg.norm(_px(pts)[:, None] - _px(G[head.landmark_ids])[None], axis=-1)
        assert d.min() >= 12.0, f"a mole is {d.min():.1f} px from a landmark"
        m = np.linalg.norm(_px(pts)[:, None] - _px(pts)[None], axis=-1) + 1e3 * np.eye(len(pts))
        assert m.min() > 15.0


@pytest.mark.slow
def test_generation_is_deterministic_and_matches_the_asset(tmp_path):
    from studio.head import save_template

    save_template(tmp_path / "a.npz")
    assert (tmp_path / "a.npz").read_bytes() == (ASSET_DIR / "head_v1.npz").read_bytes(), (
        "models/assets/head_v1.npz is stale or generation is not deterministic; "
        "regenerate with `python -m studio head`")
