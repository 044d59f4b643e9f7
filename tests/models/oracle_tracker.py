"""A Tracker on a tiny untrained avatar whose detector reports a slightly jittering face."""

from __future__ import annotations

import numpy as np
import torch

from models import bundle as B
from models.config import profile
from models.landmark_tracking import TrackingLandmarks
from models.landmarks import OracleDetector
from models.topology import canonical_landmarks_2d
from models.tracker import Tracker


def oracle_tracker(lost=(), texture_every: int = 2) -> Tracker:
    """The face near (80, 60) px, 60 px wide, with 0.5 px jitter that depends only on the frame index
    (two such trackers see the same points); no face on the frame indices in ``lost``."""
    torch.manual_seed(0)
    b = B.build(profile("tiny"))
    base = canonical_landmarks_2d() * 60 + np.array([80.0, 60.0])

    def points(i):
        if i in lost:
            return None
        return base + np.random.default_rng(i).normal(0, 0.5, base.shape)

    return Tracker(b, "cpu", detector=TrackingLandmarks(OracleDetector(points)), texture_every=texture_every)
