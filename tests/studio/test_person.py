"""Persons: expressions move the right regions, identities and albedos differ by seed."""

from __future__ import annotations

import numpy as np
import pytest

from studio.head import Person


def _lm(person, expr=None):
    return person.landmarks(person.geometry(expr))


def test_same_seed_same_person_different_seed_different(person0):
    again = Person(0)
    np.testing.assert_array_equal(again.geometry({"smile_L": 0.5}), person0.geometry({"smile_L": 0.5}))
    assert again.albedo(128).tobytes() == person0.albedo(128).tobytes()
    np.testing.assert_array_equal(again.salient_uv, person0.salient_uv)
    other = Person(1)
    assert np.abs(other.neutral - person0.neutral).max() > 0.02
    assert np.abs(other.albedo(128) - person0.albedo(128)).mean() > 0.01
    assert not np.array_equal(other.identity, person0.identity)
    assert np.abs(other.salient_uv - person0.salient_uv).max() > 0  # moles shift a little by seed
    assert np.abs(other.salient_uv - person0.topology.salient_uv).max() <= 0.0051


def test_geometry_api(person0):
    V = person0.topology.n_vertices
    G = person0.geometry()
    assert G.shape == (V, 3) and G.dtype == np.float32
    w = np.zeros(person0.n_expressions, np.float32)
    w[person0.expression_names.index("jaw_open")] = 0.7
    np.testing.assert_allclose(person0.geometry(w), person0.geometry({"jaw_open": 0.7}), atol=1e-6)
    batch = person0.geometry_batch(np.stack([w, 0 * w]))
    np.testing.assert_allclose(batch[1], G, atol=1e-6)
    with pytest.raises(KeyError):
        person0.geometry({"no_such_shape": 1.0})


def test_jaw_open_opens_the_mouth_and_leaves_the_brows(person0):
    lm0, lm1 = _lm(person0), _lm(person0, {"jaw_open": 1.0})
    d = lm1 - lm0
    assert d[8, 1] > 0.2  # chin down (y is down)
    assert (d[[56, 57, 58, 65, 66, 67], 1] > 0.15).all()  # lower lip down
    assert np.abs(d[17:27]).max() < 0.005 and np.abs(d[36:48]).max() < 0.005
    assert np.abs(d[[50, 51, 52, 61, 62, 63]]).max() < 0.03  # the upper lip stays
    assert np.linalg.norm(lm0[62] - lm0[66]) < 1e-4  # closed at rest
    assert np.linalg.norm(lm1[62] - lm1[66]) > 0.2  # open


@pytest.mark.parametrize("side,up,lo,other", [("L", (37, 38), (41, 40), (43, 44, 47, 46)),
                                              ("R", (43, 44), (47, 46), (37, 38, 41, 40))])
def test_blink_closes_the_corresponding_eye(person0, side, up, lo, other):
    lm0, lm1 = _lm(person0), _lm(person0, {f"blink_{side}": 1.0})
    gap = lambda lm, a, b: sum(np.linalg.norm(lm[i] - lm[j]) for i, j in zip(a, b))
    assert gap(lm1, up, lo) < 0.35 * gap(lm0, up, lo)
    assert lm1[up[0], 1] > lm0[up[0], 1] + 0.05  # the upper lid comes down
    assert abs(gap(lm1, other[:2], other[2:]) - gap(lm0, other[:2], other[2:])) < 1e-3
    half = _lm(person0, {f"blink_{side}": 0.5})
    assert gap(lm1, up, lo) < gap(half, up, lo) < gap(lm0, up, lo)


def test_brows_smile_pucker_move_the_right_way(person0):
    lm0 = _lm(person0)
    d = _lm(person0, {"brow_raise": 1.0}) - lm0
    assert (d[17:27, 1] < -0.05).all() and np.abs(d[48:68]).max() < 0.005
    d = _lm(person0, {"brow_frown": 1.0}) - lm0
    assert d[21, 1] > 0.01 and d[22, 1] > 0.01 and d[21, 0] > 0 and d[22, 0] < 0
    d = _lm(person0, {"smile_L": 1.0}) - lm0
    assert d[48, 1] < -0.05 and d[48, 0] < -0.03 and abs(d[54, 1]) < 0.01  # image-left corner only
    d = _lm(person0, {"smile_R": 1.0}) - lm0
    assert d[54, 1] < -0.05 and d[54, 0] > 0.03
    d = _lm(person0, {"pucker": 1.0}) - lm0
    assert d[48, 0] > 0.05 and d[54, 0] < -0.05 and d[51, 2] < -0.05  # corners in, lips forward
    d = _lm(person0, {"funnel": 1.0}) - lm0
    assert d[62, 1] < -0.02 and d[66, 1] > 0.02


def test_expressions_are_local(person0):
    B = person0.topology.extras["blendshapes"]
    back = person0.topology.vertices[:, 2] > 0.6
    assert np.abs(B[:, back]).max() < 1e-4
    assert (np.abs(B).reshape(len(B), -1).max(1) > 0.02).all()  # every shape does something


def test_albedo_has_features_and_dark_moles(person0):
    T = 512
    A = person0.albedo(T)
    assert A.shape == (T, T, 3) and A.dtype == np.float32 and A.min() >= 0.0 and A.max() <= 1.0
    assert A is person0.albedo(T)  # cached
    lum = A.mean(-1)
    ii, jj = np.mgrid[0:T, 0:T]
    for u, v in person0.salient_uv:
        c, r = u * T - 0.5, v * T - 0.5
        dist = np.hypot(jj - c, ii - r)
        spot, ring = lum[dist <= 1.0].mean(), lum[(dist >= 5) & (dist <= 9)].mean()
        assert spot < 0.7 * ring, f"mole at {(u, v)} is not dark: {spot:.3f} vs {ring:.3f}"
    topo = person0.topology

    def at(xy):
        from studio.shape import HeadChart  # noqa: F401 (imported for the docs of the chart)

        fid, bary = topo.locate_uv(topo.uvs[[np.argmin(np.linalg.norm(topo.vertices[:, :2] - xy, axis=1)
                                                       + 10 * (topo.vertices[:, 2] > -0.5))]])
        u, v = topo.uvs[topo.faces[fid[0]]].T @ bary[0]
        return A[int(v * T), int(u * T)]

    cheek, lip = at([0.45, 0.3]), at([0.0, 0.56])
    assert lip[0] / lip[1] > cheek[0] / cheek[1] * 1.05  # lips redder than cheeks
