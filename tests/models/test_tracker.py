"""Tracker facade on a tiny untrained avatar: texture reuse between decodes and weight swaps."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models.config import profile
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker


@pytest.fixture()
def tracker():
    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    rng = np.random.default_rng(0)
    pts = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])

    def points(i):
        return pts + rng.normal(0, 0.5, pts.shape)  # a slightly moving face

    return Tracker(b, "cpu", detector=TrackingLandmarks(OracleDetector(points)), texture_every=2)


def test_texture_is_decoded_every_second_frame_and_geometry_every_frame(tracker):
    frame = np.full((120, 160, 3), 120, np.uint8)
    r = [tracker.track(frame) for _ in range(4)]
    assert all(x.found for x in r)
    assert r[1].texture is r[0].texture and r[3].texture is r[2].texture
    assert r[2].texture is not r[1].texture
    assert not r[0].texture.flags.writeable  # shared between frames: read-only
    # the encoder (z, H) and the projected landmarks follow every frame
    assert not np.array_equal(r[0].z, r[1].z) and not np.array_equal(r[0].H_frame, r[1].H_frame)
    assert not np.array_equal(r[0].landmarks, r[1].landmarks)


def test_new_weights_force_a_fresh_texture(tracker):
    frame = np.full((120, 160, 3), 120, np.uint8)
    a = tracker.track(frame)
    w = tracker.weights()
    w["color"] = {k: v * 0.5 if v.ndim else v for k, v in w["color"].items()}
    tracker.load_adapted(w)
    b = tracker.track(frame)  # would reuse a's texture without the swap
    assert b.texture is not a.texture
    assert not np.allclose(b.texture, a.texture)


def _z_jitter(tracker, n=12):
    frame = np.full((120, 160, 3), 120, np.uint8)
    r = [tracker.track(frame, timestamp=i / 30) for i in range(n)]
    z = np.stack([x.z for x in r])
    lm = np.stack([x.model_landmarks for x in r])  # the projection itself (no per-person corrective)
    return np.abs(np.diff(z, axis=0)).mean(), np.linalg.norm(np.diff(lm, axis=0), axis=-1).mean(), r


def test_output_filter_steadies_z_and_landmarks_and_zero_turns_it_off(tracker):
    """A jittering detector moves the crop a little every frame; the output filter (default
    strength 0.5) must cut the frame-to-frame change of z and of the projected landmarks."""
    tracker.set_smoothing(0.0)
    assert tracker.smoother.strength == 0.0 and not tracker.output_filter.enabled
    tracker.set_smoothing(0.5)
    tracker.output_filter.set_strength(0.0)  # the same box smoothing, no output filter
    raw_z, raw_lm, r = _z_jitter(tracker)
    # smoothing 0: the tracker reports the encoder's own answer, and G is decoded from it
    G = tracker.bundle.dam.decode_geometry(torch.from_numpy(r[-1].z)[None])[0].detach().numpy()
    assert np.allclose(G, r[-1].G, atol=1e-5)
    tracker.reset()
    tracker.output_filter.set_strength(0.5)
    f_z, f_lm, r = _z_jitter(tracker)
    assert f_z < 0.6 * raw_z and f_lm < 0.8 * raw_lm
    G = tracker.bundle.dam.decode_geometry(torch.from_numpy(r[-1].z)[None])[0].detach().numpy()
    assert np.allclose(G, r[-1].G, atol=1e-5)  # G comes from the filtered z


def test_new_weights_restart_the_output_filter(tracker):
    frame = np.full((120, 160, 3), 120, np.uint8)
    tracker.track(frame, timestamp=0.0)
    assert tracker.output_filter.fz.x is not None
    tracker.load_adapted(tracker.weights())
    assert tracker.output_filter.fz.x is None  # the new encoder's first answer is not blended


def test_warm_up_runs_both_decodes_and_leaves_the_track_alone(monkeypatch):
    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    pts = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])

    def make():
        det = TrackingLandmarks(OracleDetector(lambda i: pts + np.sin(i) * 0.7))
        return Tracker(b, "cpu", detector=det, texture_every=2)

    warm, cold = make(), make()
    calls = []
    real = warm.infer
    monkeypatch.setattr(warm, "infer", lambda *a, **k: calls.append(k.get("texture")) or real(*a, **k))
    assert warm.warm_up() > 0
    assert calls == [True, False]  # the full decode and the geometry-only one of texture-reusing frames
    frame = np.full((120, 160, 3), 120, np.uint8)
    for t in range(4):  # no filter state, texture cache or frame index came from the blank crop
        a, c = warm.track(frame, t / 30), cold.track(frame, t / 30)
        assert a.index == c.index and a.found
        np.testing.assert_array_equal(a.z, c.z)
        np.testing.assert_array_equal(a.texture, c.texture)
