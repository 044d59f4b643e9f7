"""The 34 ARKit-named studio shapes: each moves its region and only its region, sides are the subject's."""

from __future__ import annotations

import numpy as np
import pytest

from studio.arkit_basis import ARKIT_BASIS_NAMES, FROM_LAB, NEW_FIELDS, side_weight

# iBUG landmark groups; the subject's left eye / brow / mouth corner are image-right (x > 0)
EYE_L, EYE_R = range(42, 48), range(36, 42)
BROW_L, BROW_R = range(22, 27), range(17, 22)
MOUTH, JAW, NOSE = range(48, 68), range(0, 17), range(27, 36)
# name -> (landmarks that must move, landmarks that must stay)
REGIONS = {
    "eyeWideLeft": (EYE_L, [*EYE_R, *MOUTH, *BROW_R]), "eyeWideRight": (EYE_R, [*EYE_L, *MOUTH, *BROW_L]),
    "browOuterUpLeft": ([24, 25, 26], [*BROW_R, *EYE_R, *MOUTH]),
    "browOuterUpRight": ([17, 18, 19], [*BROW_L, *EYE_L, *MOUTH]),
    "browDownLeft": ([22], [17, 18, *MOUTH]), "browDownRight": ([21], [25, 26, *MOUTH]),
    "jawLeft": ([7, 8, 9, 57], [*BROW_L, *BROW_R, *EYE_L, *EYE_R]),
    "jawRight": ([7, 8, 9, 57], [*BROW_L, *BROW_R, *EYE_L, *EYE_R]),
    "mouthStretchLeft": ([54], [48, *EYE_L, *EYE_R]), "mouthStretchRight": ([48], [54, *EYE_L, *EYE_R]),
    "mouthRollLower": ([57], [*EYE_L, *EYE_R, *BROW_L]), "mouthRollUpper": ([51], [*EYE_L, *EYE_R, *BROW_L]),
    "noseSneerLeft": ([35], [31, *MOUTH[:1]]), "noseSneerRight": ([31], [35]),
}


@pytest.fixture(scope="module")
def basis(person0):
    ex = person0.topology.extras
    return dict(zip([str(n) for n in ex["arkit_names"]], ex["arkit_blendshapes"]))


def test_the_asset_holds_34_arkit_names_including_the_issues_list(basis):
    assert tuple(basis) == ARKIT_BASIS_NAMES and len(basis) == 34 == len(set(basis))
    required = ("eyeBlinkLeft eyeBlinkRight eyeWideLeft eyeWideRight eyeSquintLeft eyeSquintRight browInnerUp "
                "browDownLeft browDownRight browOuterUpLeft browOuterUpRight jawOpen jawLeft jawRight mouthClose "
                "mouthSmileLeft mouthSmileRight mouthFrownLeft mouthFrownRight mouthPucker mouthFunnel mouthPressLeft "
                "mouthPressRight mouthStretchLeft mouthStretchRight mouthRollLower mouthRollUpper cheekPuff "
                "cheekSquintLeft cheekSquintRight noseSneerLeft noseSneerRight").split()
    assert set(required) <= set(basis)
    for name, B in basis.items():
        assert np.abs(B).max() > 0.02, name  # every shape does something


def test_split_sides_sum_to_the_lab_field(person0, basis):
    lab = dict(zip(person0.expression_names, person0.topology.extras["blendshapes"]))
    pairs = (("browDownLeft", "browDownRight", "brow_frown"), ("noseSneerLeft", "noseSneerRight", "sneer"),
             ("mouthPressLeft", "mouthPressRight", "lip_press"), ("mouthFrownLeft", "mouthFrownRight", "frown"))
    for left, right, studio in pairs:
        np.testing.assert_allclose(basis[left] + basis[right], lab[studio], atol=1e-5)
    for name, (studio, side) in FROM_LAB.items():
        if side == "":
            np.testing.assert_array_equal(basis[name], lab[studio])
    x = np.linspace(-1, 1, 101)
    np.testing.assert_allclose(side_weight(x, "L") + side_weight(x, "R"), 1.0)
    assert (side_weight(x[x > 0.1], "L") > 0.99).all() and (side_weight(x[x < -0.1], "L") < 0.01).all()


def test_every_sided_shape_moves_the_subjects_side(person0, basis):
    """ARKit's ...Left is the subject's left, image-right (x > 0): the landmark motion of every sided
    shape is centred on its side; mouthLeft / jawLeft move the mouth / chin towards +x."""
    lm0 = person0.landmarks(person0.arkit_geometry())
    for name in basis:
        d = person0.landmarks(person0.arkit_geometry({name: 1.0})) - lm0
        w = np.linalg.norm(d, axis=-1)
        if name in ("mouthLeft", "mouthRight", "jawLeft", "jawRight"):
            sign = 1 if name.endswith("Left") else -1
            assert sign * d[48:68, 0].mean() > 0.01, (name, d[48:68, 0].mean())
        elif name.endswith(("Left", "Right")):
            side_x = (w * lm0[:, 0]).sum() / w.sum()  # where the shape moves the landmarks
            assert (side_x > 0.1) if name.endswith("Left") else (side_x < -0.1), (name, side_x)


@pytest.mark.parametrize("name", sorted(REGIONS))
def test_each_shape_moves_its_region_and_only_its_region(person0, name):
    move, stay = REGIONS[name]
    lm0 = person0.landmarks(person0.arkit_geometry())
    d = np.linalg.norm(person0.landmarks(person0.arkit_geometry({name: 1.0})) - lm0, axis=-1)
    assert d[list(move)].max() > 0.01, (name, d[list(move)])
    assert d[list(stay)].max() < 0.35 * d[list(move)].max(), (name, d[list(stay)].max())


def test_eye_wide_opens_the_subjects_left_eye_and_a_wink_closes_one_eye(person0):
    lm = lambda w: person0.landmarks(person0.arkit_geometry(w))
    gap = lambda L, a, b: sum(np.linalg.norm(L[i] - L[j]) for i, j in zip(a, b))
    lm0 = lm(None)
    wide = lm({"eyeWideLeft": 1.0})
    assert gap(wide, (43, 44), (47, 46)) > 1.2 * gap(lm0, (43, 44), (47, 46))  # the subject's left = image-right
    assert wide[43, 1] < lm0[43, 1] - 0.01  # the upper lid goes up (y is down)
    wink = lm({"eyeBlinkLeft": 1.0})
    assert gap(wink, (43, 44), (47, 46)) < 0.35 * gap(lm0, (43, 44), (47, 46))
    assert abs(gap(wink, (37, 38), (41, 40)) - gap(lm0, (37, 38), (41, 40))) < 1e-3


def test_jaw_slides_to_the_subjects_side_and_mouth_close_closes_an_open_jaw(person0):
    lm0 = person0.landmarks(person0.arkit_geometry())
    assert person0.landmarks(person0.arkit_geometry({"jawLeft": 1.0}))[8, 0] > lm0[8, 0] + 0.03  # image-right
    assert person0.landmarks(person0.arkit_geometry({"jawRight": 1.0}))[8, 0] < lm0[8, 0] - 0.03
    open_ = person0.landmarks(person0.arkit_geometry(None, {"jaw_open": 1.0}))
    closed = person0.landmarks(person0.arkit_geometry({"mouthClose": 1.0}, {"jaw_open": 1.0}))
    assert np.linalg.norm(open_[62] - open_[66]) > 0.2
    assert np.linalg.norm(closed[62] - closed[66]) < 0.25 * np.linalg.norm(open_[62] - open_[66])
    assert closed[8, 1] > lm0[8, 1] + 0.2  # the jaw itself stays open


def test_new_shapes_are_local_and_unknown_names_are_refused(person0, basis):
    back = person0.topology.vertices[:, 2] > 0.6
    for n in NEW_FIELDS:
        assert np.abs(basis[n][back]).max() < 1e-4, n
    with pytest.raises(KeyError, match="unknown ARKit shape"):
        person0.arkit_geometry({"tongueOut": 1.0})
