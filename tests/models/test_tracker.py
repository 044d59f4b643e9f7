"""Tracker facade on a tiny untrained avatar: texture reuse between decodes and weight swaps."""

import numpy as np
import pytest
import torch

from models import bundle as B
from models.config import profile
from models.landmarks import OracleDetector, TrackingLandmarks
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
