"""Keypoint-guided expression codes (models.code_guide): the algebra, and on the shipped avatar the
decoded face closing its eyes when the detector's points blink."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models.code_guide import BASIS, CHANNELS, CodeGuide, parse_guide
from models.face_signals import face_signals
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker


def _codes(Z=24, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.normal(size=(len(BASIS), Z))
    return {"z0": rng.normal(size=Z).tolist(), "directions": {b: D[i].tolist() for i, b in enumerate(BASIS)}}


def test_parse_guide_groups_channels_and_errors():
    assert parse_guide("none") == () and parse_guide(None) == () and parse_guide("") == ()
    assert parse_guide("eyes,brows") == ("blink", "brow_up", "brow_down")
    assert parse_guide("all") == tuple(CHANNELS)
    assert parse_guide("blink,eyes") == ("blink",)  # no repeats
    with pytest.raises(ValueError, match="unknown guide 'nose'"):
        parse_guide("eyes,nose")


def test_guided_channels_take_the_detector_weight_and_the_rest_of_z_is_kept():
    codes = _codes()
    g = CodeGuide(codes, parse_guide("eyes,brows"))
    z0, D = g.z0.double(), g.D.double()
    a_true = torch.linspace(0.05, 0.8, len(BASIS), dtype=torch.float64)
    other = torch.randn(24, dtype=torch.float64)
    other = other - D.T @ torch.linalg.lstsq(D.T, other[:, None]).solution[:, 0]  # orthogonal to every direction
    z = (z0 + a_true @ D + other)[None].float()
    names = ("eyeBlinkLeft", "eyeBlinkRight", "browInnerUp", "browDownLeft", "browDownRight", "jawOpen")
    w = np.array([0.9, 0.7, 0.25, 0.5, 0.3, 1.0], np.float32)
    z2 = g(z, w, names)
    a2 = g.coefficients(z2)[0].double()
    idx = {c: i for i, c in enumerate(g.all)}
    assert a2[idx["blink"]] == pytest.approx(0.8, abs=1e-4)  # the mean of the two eyes
    assert a2[idx["brow_raise"]] == pytest.approx(0.25, abs=1e-4)
    assert a2[idx["brow_frown"]] == pytest.approx(0.4, abs=1e-4)
    for b in set(BASIS) - {"blink", "brow_raise", "brow_frown"}:  # not guided: what the encoder read stays
        assert a2[idx[b]] == pytest.approx(float(a_true[idx[b]]), abs=1e-4)
    both = CodeGuide(codes, ("smile",))(z, np.array([0.6, 0.2], np.float32), ("mouthSmileLeft", "mouthSmileRight"))
    a3 = CodeGuide(codes, ()).coefficients(both)[0]
    assert a3[idx["smile_L"]] == pytest.approx(0.4, abs=1e-4) and a3[idx["smile_R"]] == pytest.approx(0.4, abs=1e-4)
    resid = z2[0].double() - z0 - a2 @ D
    assert torch.allclose(resid, other, atol=1e-4)  # the part of z outside the channels is untouched
    assert torch.equal(CodeGuide(codes, parse_guide("eyes"), gain=0.0)(z, w, names), z)
    assert torch.equal(CodeGuide(codes, ())(z, w, names), z)


def test_a_guide_for_a_channel_the_bundle_lacks_is_refused():
    codes = _codes()
    del codes["directions"]["smile_L"]
    with pytest.raises(ValueError, match="smile"):
        CodeGuide(codes, parse_guide("mouth"))


@pytest.fixture(scope="module")
def default_bundle():
    return B.load(B.DEFAULT_BUNDLE)


def test_the_shipped_avatar_has_directions_and_its_blink_direction_closes_the_eyes(default_bundle):
    codes = default_bundle.manifest["guide_codes"]
    assert set(codes["directions"]) == set(BASIS)
    g = CodeGuide(codes, ())
    ids = torch.from_numpy(default_bundle.topology.landmark_ids)

    def eyes(z):
        with torch.no_grad():
            G = default_bundle.dam.decode_geometry(z[None])[0]
        s = face_signals(G[ids][:, :2].double().numpy())
        return np.array([s["eye_open_l"], s["eye_open_r"]])

    open_, closed = eyes(g.z0), eyes(g.z0 + g.D[g.all.index("blink")])
    assert (closed < 0.3 * open_).all(), (open_, closed)
    half = eyes(g.z0 + 0.5 * g.D[g.all.index("blink")])
    assert (closed < half).all() and (half < open_).all()


def _eye_open(L):
    s = face_signals(np.asarray(L, np.float64))
    return 0.5 * (s["eye_open_l"] + s["eye_open_r"])


def test_the_tracker_closes_the_avatars_eyes_when_the_detector_blinks(default_bundle):
    """Frames 0-59 open eyes, 60-63 the lids of the detector's points meet. With guidance the
    avatar's projected eyes are open (as its neutral face) on the open frames and closed on the
    blink frames, whatever the encoder reads from the (blank) image; without, they differ."""
    pts = canonical_landmarks_2d() * 70 + np.array([80.0, 70.0])
    closed = pts.copy()
    for up, lo in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = 0.5 * (pts[up] + pts[lo])
        closed[up] = mid + 0.1 * (pts[up] - mid)
        closed[lo] = mid + 0.1 * (pts[lo] - mid)
    frames = [pts] * 60 + [closed] * 4
    frame = np.full((160, 160, 3), 128, np.uint8)
    out = {}
    for guide in ("none", "eyes"):  # the guide alone: eye matching (models.eye_match) would close both
        tr = Tracker(default_bundle, "cpu", detector=TrackingLandmarks(OracleDetector(lambda i: frames[i])),
                     smoothing=0.0, guide=guide, eye_match=False)
        r = [tr.track(frame, timestamp=i / 30) for i in range(len(frames))]
        out[guide] = np.array([_eye_open(x.landmarks) for x in r])
        assert r[-1].expressions[list(r[-1].expression_names).index("eyeBlinkLeft")] > 0.9
    ids = torch.from_numpy(default_bundle.topology.landmark_ids)
    with torch.no_grad():
        G0 = default_bundle.dam.decode_geometry(CodeGuide(default_bundle.manifest["guide_codes"]).z0[None])[0]
    neutral = _eye_open(G0[ids][:, :2].numpy())  # the avatar's own open eyes, about 0.09
    assert out["eyes"][50] > 0.7 * neutral
    assert out["eyes"][-1] < 0.3 * neutral
    assert np.abs(out["eyes"] - out["none"]).max() > 0.2 * neutral  # guidance changed what the avatar shows
