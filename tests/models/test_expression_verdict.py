"""Calibration keeps expression fidelity (issue 15, item 6): agreement of the model's eye, mouth
and brow signals with the detector's, and the verdict that rejects an adaptation losing it."""

import math

import numpy as np

from models.adapt import AdaptConfig, verdict
from models.face_signals import expression_agreement


def _face(n: int, blink: np.ndarray, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    """(n, 68, 2) points of a fixed face whose upper eyelids (37, 38, 43, 44) close with ``blink``."""
    base = rng.uniform(0, 100, (68, 2))
    base[36], base[45] = (20, 50), (80, 50)
    for up, low in ((37, 41), (38, 40), (43, 47), (44, 46)):
        base[low] = base[up] + (0, 8)
    L = np.repeat(base[None], n, 0)
    for up in (37, 38, 43, 44):
        L[:, up, 1] += 7 * blink
    return L + rng.normal(0, noise, L.shape)


def test_agreement_reads_blinks_and_ignores_groups_that_do_not_move():
    rng = np.random.default_rng(0)
    blink = np.zeros(60)
    blink[[10, 11, 12, 30, 31, 45, 46, 47]] = 1.0
    det = _face(60, blink, rng)
    follows = _face(60, blink, rng)
    dead = _face(60, np.zeros(60), rng)  # a model whose eyes never close
    good, bad = expression_agreement(follows, det), expression_agreement(dead, det)
    assert good["eyes"] > 0.9 and abs(bad["eyes"]) < 0.4
    assert math.isnan(good["mouth"])  # the detector's mouth only jitters (brows: the eye centroid moves)


def test_the_verdict_rejects_an_adaptation_that_kills_blinks():
    rng = np.random.default_rng(1)
    blink = np.zeros(60)
    blink[[8, 9, 10, 40, 41]] = 1.0
    det = _face(60, blink, rng)
    before = {"da": 1.0, "landmark_error": 2.0, **{f"r_{k}": v for k, v in
                                                  expression_agreement(_face(60, blink, rng), det).items()}}
    killed = {"da": 0.5, "landmark_error": 1.9, **{f"r_{k}": v for k, v in
                                                  expression_agreement(_face(60, 0 * blink, rng), det).items()}}
    ok, why = verdict(before, killed, AdaptConfig())
    assert not ok and "eyes" in why
    kept = dict(killed, r_eyes=before["r_eyes"] - 0.05)  # a small loss within the bound is accepted
    assert verdict(before, kept, AdaptConfig())[0]
    assert not verdict(before, kept, AdaptConfig(max_expression_drop=0.01))[0]
