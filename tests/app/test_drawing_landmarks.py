"""The camera overlay draws the tracker's reported landmarks (with the per-person corrective)."""

import numpy as np
import pytest

from app.pipeline.drawing import STYLE, FrameDrawer
from app.pipeline.packets import ViewOptions
from models import bundle as B
from models.config import profile


@pytest.mark.parametrize("use_gl", [False, True])
def test_landmark_dots_sit_on_the_reported_points_not_on_the_projection(use_gl):
    b = B.build(profile("tiny"))
    drawer = FrameDrawer(b.topology, use_gl=use_gl)
    if use_gl and not drawer.gl:
        pytest.skip(f"no OpenGL here: {drawer.notice}")
    try:
        G = b.topology.vertices.astype(np.float32)
        H = np.array([40.0, 0.0, 0.0, 0.0, 60.0, 60.0], np.float32)  # the projected face near (60, 60)
        frame = np.zeros((240, 320, 3), np.uint8)
        lm = np.stack([np.linspace(200, 300, 68), np.full(68, 200.0)], 1).astype(np.float32)  # far from the face
        opts = ViewOptions(box=False)
        col = np.array(STYLE.landmark_color)
        own = drawer.camera(frame, G, H, None, None, opts)
        reported = drawer.camera(frame, G, H, None, None, opts, lm)
        assert not (reported[200, 250] == 0).all() and np.abs(reported[200, 250].astype(int) - col).max() < 40
        assert (own[200, 250] == 0).all()  # the model's own landmarks are elsewhere
        face = (slice(0, 150), slice(0, 150))  # where the projection puts the model's landmarks
        assert own[face].any(-1).sum() > 68  # the model's dots are there
        assert not reported[face].any()  # and none are drawn there when the reported points are given
        wire = drawer.camera(frame, G, H, None, None, ViewOptions(box=False, wireframe=True), lm)
        assert np.abs(wire[200, 250].astype(int) - col).max() < 40
        # the detector's points are drawn over the reported ones (they sit close together)
        both = drawer.camera(frame, G, H, lm, None, ViewOptions(box=False, wireframe=use_gl, detected=True), lm)
        assert np.abs(both[200, 250].astype(int) - np.array(STYLE.detected_color)).max() < 40
    finally:
        drawer.release()
